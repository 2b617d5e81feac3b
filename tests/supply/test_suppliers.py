"""Supplier scorecards and lead-time pmfs from a small hand-made deliveries table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.supply.suppliers import lead_time_days, scorecards


def _deliveries() -> pd.DataFrame:
    t = pd.Timestamp("2026-01-01", tz="UTC")
    day = pd.Timedelta(days=1)
    rows = [
        # po, supplier, ordered qty, received qty, ordered, promised, received
        ("P1", "acme", 10, 10, t, t + 5 * day, t + 4 * day),  # on time, in full
        ("P2", "acme", 10, 8, t, t + 5 * day, t + 7 * day),  # late, short
        ("P3", "acme", 10, 10, t, None, t + 3 * day),  # no promise: timeliness unscored
        ("P4", "acme", 10, None, t, t + 5 * day, None),  # open
        ("P5", "bolt", 20, 20, t, t + 2 * day, t + 2 * day),  # on time, in full
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "po", "supplier", "quantity_ordered", "quantity_received", "ordered", "promised",
            "received",
        ],
    )  # fmt: skip
    for column in ("ordered", "promised", "received"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["item"] = "X"
    return frame


def test_scorecards_by_hand() -> None:
    table = scorecards(_deliveries()).table
    acme, bolt = table.loc["acme"], table.loc["bolt"]
    assert (acme["lines"], acme["open_lines"]) == (3, 1)
    assert acme["on_time"] == pytest.approx(0.5)  # P1 yes, P2 no; P3 unscored
    assert acme["in_full"] == pytest.approx(2 / 3)
    assert acme["otif"] == pytest.approx(0.5)
    assert acme["lead_time_mean_d"] == pytest.approx((4 + 7 + 3) / 3)
    assert acme["quantity_accuracy"] == pytest.approx((1 + 0.8 + 1) / 3)
    assert (bolt["otif"], bolt["open_lines"]) == (1.0, 0)
    assert np.isnan(bolt["lead_time_sd_d"])  # one line: no spread
    loose = scorecards(_deliveries(), tolerance=0.25).table
    assert loose.loc["acme", "in_full"] == pytest.approx(1.0)


def test_lead_time_pmf_in_periods() -> None:
    pmf = lead_time_days(_deliveries(), "acme").pmf
    np.testing.assert_allclose(pmf[[3, 4, 7]], [1 / 3, 1 / 3, 1 / 3])
    weeks = lead_time_days(_deliveries(), "acme", period_days=7).pmf
    np.testing.assert_allclose(weeks, [0.0, 1.0])  # 3, 4 and 7 days: one week each
    with pytest.raises(InputError, match="no received delivery"):
        lead_time_days(_deliveries(), "nobody")


def test_bad_deliveries() -> None:
    frame = _deliveries()
    frame.loc[0, "received"] = frame.loc[0, "ordered"] - pd.Timedelta(days=1)
    with pytest.raises(InputError, match="received before ordered"):
        scorecards(frame)
    with pytest.raises(InputError, match="missing column"):
        scorecards(frame.drop(columns="promised"))
