"""OEE on hand-made timelines whose figures are known exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.production import OeeResult, compute_oee, state_intervals

DAY = pd.Timestamp("2024-01-01", tz="UTC")  # a Monday


def at(hours: float) -> pd.Timestamp:
    return DAY + pd.Timedelta(hours=hours)


def events(rows: list[tuple[str, float, float | None, str, str, str | None]]) -> pd.DataFrame:
    """(asset, start h, end h, kind, code, detail) rows as a canonical events frame."""
    return pd.DataFrame(
        {
            "asset": [r[0] for r in rows],
            "start": pd.to_datetime([at(r[1]) for r in rows], utc=True).as_unit("us"),
            "end": pd.to_datetime(
                [None if r[2] is None else at(r[2]) for r in rows], utc=True
            ).as_unit("us"),
            "kind": [r[3] for r in rows],
            "code": [r[4] for r in rows],
            "detail": [r[5] for r in rows],
        }
    )


def production(rows: list[tuple[str, float, float, int, int, float]]) -> pd.DataFrame:
    """(asset, start h, end h, good, scrap, ideal cycle s) rows."""
    return pd.DataFrame(
        {
            "asset": [r[0] for r in rows],
            "start": pd.to_datetime([at(r[1]) for r in rows], utc=True).as_unit("us"),
            "end": pd.to_datetime([at(r[2]) for r in rows], utc=True).as_unit("us"),
            "product": "P",
            "order": "O",
            "good": [r[3] for r in rows],
            "scrap": [r[4] for r in rows],
            "ideal_cycle_s": [r[5] for r in rows],
        }
    )


ASSETS = pd.DataFrame(
    {
        "asset": ["S", "L1", "M1", "M2"],
        "parent": [None, "S", "L1", "L1"],
        "level": ["site", "line", "machine", "machine"],
        "site": ["S"] * 4,
        "line": [None, "L1", "L1", "L1"],
    }
)

# One day of machine M1 (hours): planned stop 6, running 4, down 1, changeover 0.5,
# starved 0.5, preventive maintenance 1, running 9, planned stop 2.
M1_DAY = [
    ("M1", 0, 6, "state", "planned_stop", None),
    ("M1", 6, 10, "state", "running", None),
    ("M1", 10, 11, "state", "down", "bearing"),
    ("M1", 11, 11.5, "state", "changeover", "A->B"),
    ("M1", 11.5, 12, "state", "starved", None),
    ("M1", 12, 13, "state", "maintenance", "preventive"),
    ("M1", 13, 22, "state", "running", None),
    ("M1", 22, 24, "state", "planned_stop", None),
]


def test_exact_figures_on_a_hand_made_day() -> None:
    # 1458 parts of 30 s ideal cycle, 58 scrapped.
    result = compute_oee(events(M1_DAY), production([("M1", 6, 22, 1400, 58, 30.0)]), ASSETS)
    assert isinstance(result, OeeResult)
    row = result.frame.iloc[0]
    assert len(result.frame) == 1
    assert row["group"] == "M1"
    assert row["period_start"] == DAY and row["period_end"] == DAY + pd.Timedelta(days=1)
    assert row["planned_time_s"] == 15 * 3600  # 24 h - 6 - 2 - 1 (preventive)
    assert row["run_time_s"] == 13.5 * 3600  # starved counts as run time
    assert row["idle_time_s"] == 0.5 * 3600
    assert row["unplanned_stop_s"] == 3600 and row["changeover_s"] == 1800
    assert row["availability"] == pytest.approx(0.9, rel=1e-12)
    assert row["performance"] == pytest.approx(30 * 1458 / 48600, rel=1e-12)  # 0.9
    assert row["quality"] == pytest.approx(1400 / 1458, rel=1e-12)
    assert row["oee"] == pytest.approx(30 * 1400 / 54000, rel=1e-12)  # 7/9
    assert row["oee"] == pytest.approx(row["availability"] * row["performance"] * row["quality"])
    assert row["good"] == 1400 and row["scrap"] == 58 and row["ideal_time_s"] == 30 * 1458
    assert result.overall.oee == pytest.approx(7 / 9, rel=1e-12)
    assert result.overall.planned_time_s == 54000


def test_corrective_maintenance_is_unplanned_unless_an_event_says_planned() -> None:
    rows = [
        ("M1", 0, 1, "state", "running", None),
        ("M1", 1, 2, "state", "maintenance", None),  # no detail: corrective
        ("M1", 2, 3, "state", "maintenance", "corrective"),
        ("M1", 3, 4, "state", "maintenance", None),  # matched by a planned maintenance event
        ("M1", 3, 4, "maintenance", "planned", "lubrication"),
        ("M1", 4, 5, "state", "maintenance", "weekly planned check"),
    ]
    row = compute_oee(events(rows), production([]), ASSETS).frame.iloc[0]
    assert row["planned_time_s"] == 3 * 3600
    assert row["unplanned_stop_s"] == 2 * 3600
    assert row["availability"] == pytest.approx(1 / 3)


def test_line_and_site_add_machine_times_and_ideal_times() -> None:
    rows = [
        ("M1", 0, 10, "state", "running", None),
        ("M2", 0, 8, "state", "running", None),
        ("M2", 8, 10, "state", "down", None),
    ]
    counts = production([("M1", 0, 10, 1000, 0, 30.0), ("M2", 0, 10, 500, 100, 40.0)])
    for by in ("line", "site"):
        result = compute_oee(events(rows), counts, ASSETS, by=by)
        row = result.frame.iloc[0]
        assert row["group"] == ("L1" if by == "line" else "S")
        assert row["planned_time_s"] == 20 * 3600
        assert row["availability"] == pytest.approx(18 / 20)
        assert row["performance"] == pytest.approx((30 * 1000 + 40 * 600) / (18 * 3600))
        assert row["quality"] == pytest.approx((30 * 1000 + 40 * 500) / (30 * 1000 + 40 * 600))
        assert row["oee"] == pytest.approx((30 * 1000 + 40 * 500) / (20 * 3600))
        assert row["good"] == 1500 and row["scrap"] == 100
    # The line's OEE is the planned-time-weighted mean of its machines'.
    machines = compute_oee(events(rows), counts, ASSETS).frame
    assert row["oee"] == pytest.approx(
        np.average(machines["oee"], weights=machines["planned_time_s"])
    )


def test_an_interval_spanning_midnight_and_a_shift_change_is_split_exactly() -> None:
    rows = [("M1", 21, 31, "state", "running", None)]  # Mon 21:00 to Tue 07:00
    counts = production([("M1", 21, 31, 1000, 0, 30.0)])
    days = compute_oee(events(rows), counts, ASSETS, period="day").frame
    assert list(days["run_time_s"]) == [3 * 3600, 7 * 3600]
    assert list(days["good"]) == pytest.approx([300, 700])  # counts shared pro rata
    shifts = compute_oee(events(rows), counts, ASSETS, period="shift").frame
    assert list(shifts["period_start"]) == [at(14), at(22), at(30)]
    assert list(shifts["run_time_s"]) == [3600, 8 * 3600, 3600]
    assert list(shifts["good"]) == pytest.approx([100, 800, 100])
    assert shifts["performance"].tolist() == pytest.approx([30 * 100 / 3600] * 3)
    weeks = compute_oee(events(rows), counts, ASSETS, period="week").frame
    assert len(weeks) == 1 and weeks["period_start"].iloc[0] == DAY


def test_custom_shifts_and_a_local_time_zone() -> None:
    rows = [("M1", 0, 24, "state", "running", None)]
    # 07:00 and 19:00 in Berlin are 06:00 and 18:00 UTC in January.
    table = compute_oee(
        events(rows),
        production([]),
        ASSETS,
        period="shift",
        shift_starts=("07:00", "19:00"),
        timezone="Europe/Berlin",
    ).frame
    assert list(table["period_start"]) == [at(-6), at(6), at(18)]
    assert list(table["run_time_s"]) == [6 * 3600, 12 * 3600, 6 * 3600]
    days = compute_oee(events(rows), production([]), ASSETS, timezone="Europe/Berlin").frame
    assert list(days["period_start"]) == [at(-1), at(23)]


def test_periods_without_planned_time_or_output_are_left_out() -> None:
    rows = [("M1", 0, 24, "state", "planned_stop", None), ("M1", 24, 30, "state", "running", None)]
    table = compute_oee(events(rows), production([]), ASSETS).frame
    assert list(table["period_start"]) == [at(24)]
    assert table["performance"].iloc[0] == 0.0  # ran six hours and counted nothing
    assert table["quality"].isna().iloc[0]  # no parts: quality undefined


def test_open_state_closes_at_the_latest_timestamp_and_overlaps_are_cut() -> None:
    rows = [
        ("M1", 0, 5, "state", "running", None),
        ("M1", 4, None, "state", "down", None),  # overlaps the running state, still open
        ("M1", 8, 8, "alarm", "vibration_high", None),  # latest timestamp in the data
    ]
    states = state_intervals(events(rows))
    assert list(states["end_us"] - states["start_us"]) == [4 * 3600 * 10**6, 4 * 3600 * 10**6]
    row = compute_oee(events(rows), production([]), ASSETS).frame.iloc[0]
    assert row["run_time_s"] == 4 * 3600 and row["unplanned_stop_s"] == 4 * 3600


def test_empty_inputs_give_an_empty_table_and_nan_overall() -> None:
    empty = events([])
    result = compute_oee(empty, production([]), ASSETS)
    assert result.frame.empty
    assert {"group", "period_start", "availability", "oee"} <= set(result.frame.columns)
    assert np.isnan(result.overall.oee) and result.overall.planned_time_s == 0
    only_alarms = events([("M1", 1, 1, "alarm", "x", None)])
    assert compute_oee(only_alarms, production([]), ASSETS).frame.empty


def test_bad_input_is_refused_with_the_culprit_named() -> None:
    with pytest.raises(InputError, match="row 1, field 'code': state code 'idle'"):
        compute_oee(
            events([*M1_DAY[:1], ("M1", 6, 7, "state", "idle", None)]), production([]), ASSETS
        )
    with pytest.raises(InputError, match="asset 'M9' has no line"):
        compute_oee(
            events([("M9", 0, 1, "state", "running", None)]), production([]), ASSETS, by="line"
        )
    with pytest.raises(InputError, match="missing column"):
        compute_oee(events(M1_DAY).drop(columns="kind"), production([]), ASSETS)
    with pytest.raises(InputError, match="period"):
        compute_oee(events(M1_DAY), production([]), ASSETS, period="month")  # type: ignore[arg-type]
