"""OEE per asset as sums, rolled up afterwards: what a compute backend runs per asset."""

from __future__ import annotations

import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.production import (
    COUNT_SUMS,
    STATE_SUMS,
    compute_oee,
    count_sums,
    oee_from_sums,
    state_sums,
)
from shopfloor.production.periods import to_us
from tests.production.test_oee import ASSETS, M1_DAY, at, events, production

# Two machines of line L1 over two days: a count interval across midnight, an overlap, a
# planned and a corrective maintenance, and M2's last state still open.
TWO_MACHINES = [
    *M1_DAY,
    ("M1", 24, 30, "state", "running", None),
    ("M1", 30, 31, "state", "maintenance", "corrective"),
    ("M2", 5, 14, "state", "running", None),
    ("M2", 13, 15, "state", "blocked", None),  # overlaps the run: cuts it at 13
    ("M2", 15, 16, "state", "maintenance", None),
    ("M2", 15, None, "maintenance", "planned", None),  # makes the state above planned
    ("M2", 16, None, "state", "running", None),  # open: closes at the plant's last event
    ("M1", 33, None, "alarm", "E1", None),  # the plant's last event
]
COUNTS = [
    ("M1", 6, 10, 400, 10, 30.0),
    ("M1", 20, 28, 800, 40, 30.0),  # across midnight: shared pro rata
    ("M2", 5, 13, 600, 6, 45.0),
    ("M2", 17, 17, 5, 0, 45.0),  # an instant
]


def _per_asset(frame: pd.DataFrame, latest_us: int, period: str) -> pd.DataFrame:
    """State sums computed one asset at a time, as a backend's groups do."""
    parts = [
        state_sums(group, period=period, latest_us=latest_us)  # type: ignore[arg-type]
        for _, group in frame.groupby("asset")
    ]
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("by", ["asset", "line", "site"])
@pytest.mark.parametrize("period", ["shift", "day", "week"])
def test_sums_per_asset_roll_up_to_compute_oee(by: str, period: str) -> None:
    ev, counts = events(TWO_MACHINES), production(COUNTS)
    latest = int(to_us(ev["start"]).max())
    states = _per_asset(ev, latest, period)
    rolled = oee_from_sums(states, count_sums(counts, period=period), ASSETS, by=by, period=period)  # type: ignore[arg-type]
    direct = compute_oee(ev, counts, ASSETS, by=by, period=period)  # type: ignore[arg-type]
    assert len(direct.frame) > 0
    # Per asset the same additions in the same order; per line the assets' sums are
    # added up, so a last-digit difference is allowed there.
    pd.testing.assert_frame_equal(rolled.frame, direct.frame, check_exact=False, rtol=1e-12)
    if by == "asset":
        pd.testing.assert_frame_equal(rolled.frame, direct.frame, check_exact=True)
    assert rolled.overall.oee == pytest.approx(direct.overall.oee, rel=1e-12)


def test_state_sums_of_a_known_day() -> None:
    row = state_sums(events(M1_DAY)).iloc[0]
    assert row["asset"] == "M1" and row["period_start"] == at(0)
    hours = {c: row[c] / 3600 for c in STATE_SUMS}
    assert hours == {
        "planned_downtime_s": 9.0,  # planned stops 8 h + preventive maintenance 1 h
        "unplanned_stop_s": 1.0,
        "changeover_s": 0.5,
        "idle_time_s": 0.5,
        "running_s": 13.0,
    }


def test_open_states_close_where_the_caller_says() -> None:
    rows = [("M1", 6, None, "state", "running", None)]
    own = state_sums(events(rows))  # no later event: the open state has no length
    assert own.empty
    plant = state_sums(events(rows), latest_us=int(to_us(pd.Series([at(10)]))[0]))
    assert plant["running_s"].tolist() == [4 * 3600.0]


def test_count_sums_share_an_interval_across_periods_pro_rata() -> None:
    sums = count_sums(production([("M1", 20, 28, 800, 40, 30.0)]))
    assert sums["period_start"].tolist() == [at(0), at(24)]
    assert sums["good"].tolist() == [400.0, 400.0] and sums["scrap"].tolist() == [20.0, 20.0]
    assert sums["ideal_time_s"].tolist() == [420 * 30.0, 420 * 30.0]
    assert sums["ideal_good_s"].tolist() == [400 * 30.0, 400 * 30.0]


def test_cells_without_anything_are_left_out_and_nothing_gives_the_empty_table() -> None:
    idle = production([("M1", 6, 7, 0, 0, 30.0)])
    assert count_sums(idle).empty and list(count_sums(idle).columns)[3:] == list(COUNT_SUMS)
    alarms = events([("M1", 1, 2, "alarm", "E1", None)])
    assert state_sums(alarms).empty and list(state_sums(alarms).columns)[3:] == list(STATE_SUMS)
    empty = oee_from_sums(state_sums(alarms), count_sums(idle), ASSETS, by="line")
    direct = compute_oee(alarms, idle, ASSETS, by="line")
    pd.testing.assert_frame_equal(empty.frame, direct.frame)


def test_an_asset_outside_the_registry_is_refused_on_rollup() -> None:
    states = state_sums(events([("M9", 6, 8, "state", "running", None)]))
    with pytest.raises(InputError, match="asset 'M9' has no line"):
        oee_from_sums(states, count_sums(production([])), ASSETS, by="line")
    with pytest.raises(InputError, match="missing column"):
        oee_from_sums(states.drop(columns="running_s"), count_sums(production([])), ASSETS)
