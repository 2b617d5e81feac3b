"""Downtime Pareto, reliability and throughput on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.production import downtime_pareto, reliability, throughput

DAY = pd.Timestamp("2024-01-01", tz="UTC")


def at(hours: float) -> pd.Timestamp:
    return DAY + pd.Timedelta(hours=hours)


def frame(rows: list[tuple[object, ...]], columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=columns)
    for c in ("start", "end"):
        out[c] = pd.to_datetime([at(h) if pd.notna(h) else None for h in out[c]], utc=True)
    return out


EV = ["asset", "start", "end", "kind", "code", "detail"]
EVENTS = frame(
    [
        ("M1", 0, 2, "state", "running", None),
        ("M1", 2, 4, "state", "down", "bearing"),
        ("M1", 2, 2, "failure", "bearing", None),
        ("M1", 4, 5, "state", "changeover", "A->B"),
        ("M1", 5, 6, "state", "starved", None),
        ("M1", 6, 7, "state", "down", "motor"),
        ("M1", 6, 6, "failure", "motor", None),
        ("M1", 7, 10, "state", "running", None),
        ("M1", 10, 11, "state", "maintenance", "preventive"),
        ("M1", 11, 12, "state", "planned_stop", None),
        ("M2", 0, 9, "state", "running", None),
        ("M2", 9, 10, "state", "down", None),
        ("M2", 10, 12, "state", "blocked", None),
    ],
    EV,
)


def test_pareto_sorted_with_shares_and_loss_classes() -> None:
    p = downtime_pareto(EVENTS)
    assert list(p.columns) == ["reason", "kind", "duration_s", "count", "share", "cumulative_share"]
    assert p["reason"].tolist() == ["down: bearing", "changeover", "down", "down: motor"]
    assert p["kind"].tolist() == ["breakdown", "setup", "breakdown", "breakdown"]
    assert p["duration_s"].tolist() == [7200.0, 3600.0, 3600.0, 3600.0]
    assert p["count"].tolist() == [1, 1, 1, 1]
    assert p["share"].tolist() == pytest.approx([0.4, 0.2, 0.2, 0.2])
    assert p["cumulative_share"].iloc[-1] == pytest.approx(1.0)


def test_pareto_options_idle_planned_assets_and_window() -> None:
    full = downtime_pareto(EVENTS, include_idle=True, include_planned=True)
    assert set(full["kind"]) == {"breakdown", "setup", "idle", "planned"}
    assert full.loc[full["reason"] == "blocked", "duration_s"].item() == 7200.0
    assert full.loc[full["reason"] == "maintenance: preventive", "kind"].item() == "planned"
    m2 = downtime_pareto(EVENTS, assets=["M2"])
    assert m2["reason"].tolist() == ["down"]
    window = downtime_pareto(EVENTS, start=at(3), end=at(6.5))
    assert dict(zip(window["reason"], window["duration_s"], strict=True)) == {
        "down: bearing": 3600.0,
        "changeover": 3600.0,
        "down: motor": 1800.0,
    }
    assert downtime_pareto(EVENTS.iloc[:0]).empty


def test_reliability_mtbf_mttr() -> None:
    r = reliability(EVENTS).set_index("asset")
    # M1: up = running 5 h + starved 1 h; two failures; 3 h of repair.
    assert r.loc["M1", "failures"] == 2
    assert r.loc["M1", "mtbf_h"] == pytest.approx(3.0)
    assert r.loc["M1", "mttr_h"] == pytest.approx(1.5)
    assert r.loc["M1", "availability"] == pytest.approx(3.0 / 4.5)
    # M2 has no failure events (but the data has some): no failures, MTBF undefined.
    assert r.loc["M2", "failures"] == 0 and np.isnan(r.loc["M2", "mtbf_h"])
    # Without any failure events, down episodes count.
    no_fail = reliability(EVENTS[EVENTS["kind"] != "failure"]).set_index("asset")
    assert no_fail["failures"].to_dict() == {"M1": 2, "M2": 1}
    assert no_fail.loc["M2", "mtbf_h"] == pytest.approx(11.0)
    windowed = reliability(EVENTS, start=at(5)).set_index("asset")
    assert windowed.loc["M1", "failures"] == 1


PROD = frame(
    [
        ("L1-M01", 0, 1, 100, 2),
        ("L1-M02", 0, 1, 98, 1),
        ("L1-M01", 23, 25, 200, 0),  # spans midnight: shared 100 / 100
        ("L1-M02", 23, 25, 190, 4),
    ],
    ["asset", "start", "end", "good", "scrap"],
)
ASSETS = pd.DataFrame(
    {"asset": ["L1", "L1-M01", "L1-M02"], "line": ["L1", "L1", "L1"], "site": ["S", "S", "S"]}
)


def test_throughput_per_asset_and_per_line_output() -> None:
    t = throughput(PROD, "day")
    m1 = t[t["group"] == "L1-M01"]
    assert m1["good"].tolist() == pytest.approx([200.0, 100.0])
    assert m1["hours"].tolist() == pytest.approx([24.0, 1.0])  # day 2 is clipped to the data
    assert m1["good_per_hour"].tolist() == pytest.approx([200 / 24, 100.0])
    line = throughput(PROD, "day", by="line", assets=ASSETS)
    assert line["group"].unique().tolist() == ["L1"]
    assert line["good"].tolist() == pytest.approx([98 + 95, 95])  # counted at the last machine
    with_pos = ASSETS.assign(position=[0, 1, 0])  # now M01 is last in flow
    assert throughput(PROD, "day", by="line", assets=with_pos)["good"].tolist() == pytest.approx(
        [200.0, 100.0]
    )
    with pytest.raises(InputError, match="asset registry"):
        throughput(PROD, "day", by="line")
    assert throughput(PROD.iloc[:0], "week").empty


def test_minor_stops_do_not_count_as_repair_time() -> None:
    rows = [
        ("M1", 0, 1, "state", "running", None),
        ("M1", 1, 3, "state", "down", "spindle"),
        ("M1", 1, 3, "failure", "spindle", None),  # repaired at 3
        ("M1", 3, 4, "state", "running", None),
        ("M1", 4, 4.5, "state", "down", "minor stop"),
        ("M1", 4.5, 6, "state", "running", None),
        ("M1", 6, 7, "state", "down", "motor"),
        ("M1", 6, None, "failure", "motor", None),  # open: lasts its breakdown episode
        ("M1", 7, 8, "state", "running", None),
    ]
    r = reliability(frame(rows, EV)).iloc[0]
    assert r["failures"] == 2
    assert r["repair_h"] == pytest.approx(3.0)  # not 3.5: the minor stop is left out
    assert r["mttr_h"] == pytest.approx(1.5)
    assert r["mtbf_h"] == pytest.approx(4.5 / 2)
