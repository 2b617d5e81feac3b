"""Active-period bottleneck detection on hand-made timelines."""

from __future__ import annotations

import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.production import BottleneckResult, active_periods, find_bottlenecks
from shopfloor.production.oee import state_intervals

DAY = pd.Timestamp("2024-01-01", tz="UTC")


def events(rows: list[tuple[str, float, float, str]]) -> pd.DataFrame:
    """(asset, start h, end h, state code) rows."""
    return pd.DataFrame(
        {
            "asset": [r[0] for r in rows],
            "start": pd.to_datetime([DAY + pd.Timedelta(hours=r[1]) for r in rows], utc=True),
            "end": pd.to_datetime([DAY + pd.Timedelta(hours=r[2]) for r in rows], utc=True),
            "kind": "state",
            "code": [r[3] for r in rows],
        }
    )


ASSETS = pd.DataFrame({"asset": ["A", "B", "C", "X"], "line": ["L", "L", "L", "K"]})

# Line L over 10 h: A waits often, B is active 0-6 (running, then down: still active),
# waits 6-7, active 7-10; C is active 0-4 and 5-10 (a long period that overlaps B's).
ROWS = [
    ("A", 0, 1, "running"),
    ("A", 1, 2, "blocked"),
    ("A", 2, 3, "running"),
    ("A", 3, 4, "blocked"),
    ("A", 4, 10, "blocked"),
    ("B", 0, 5, "running"),
    ("B", 5, 6, "down"),
    ("B", 6, 7, "starved"),
    ("B", 7, 10, "running"),
    ("C", 0, 4, "running"),
    ("C", 4, 5, "planned_stop"),
    ("C", 5, 10, "changeover"),
    ("X", 0, 10, "running"),
]


def test_active_periods_merge_consecutive_active_states() -> None:
    p = active_periods(state_intervals(events(ROWS)))
    b = p[p["asset"] == "B"]
    hours = ((b["end_us"] - b["start_us"]) / 3.6e9).tolist()
    assert hours == [6.0, 3.0]  # running + down merge; starved breaks the period


def test_average_bottleneck_is_the_longest_mean_active_period() -> None:
    result = find_bottlenecks(events(ROWS), ASSETS)
    assert isinstance(result, BottleneckResult)
    m = result.machines.set_index("asset")
    assert m.loc["A", "mean_active_s"] == 3600.0 and m.loc["A", "active_periods"] == 2
    assert m.loc["B", "mean_active_s"] == 4.5 * 3600
    assert m.loc["C", "mean_active_s"] == 4.5 * 3600
    assert m.loc["B", "active_share"] == pytest.approx(0.9)
    lines = result.frame.set_index("line")
    assert lines.loc["L", "bottleneck"] == "B"  # tie with C: first in asset order
    assert lines.loc["L", "runner_up"] == "C" and lines.loc["L", "ratio"] == pytest.approx(1.0)
    assert result.bottleneck("K") == "X"
    with pytest.raises(InputError, match="line 'Z'"):
        result.bottleneck("Z")


def test_momentary_sole_and_shifting_shares() -> None:
    m = find_bottlenecks(events(ROWS), ASSETS).machines.set_index("asset")
    # 0-6 B's 6 h period is the longest; 6-7 only C (5 h period) is active; 7-10 C's 5 h
    # period beats B's 3 h one.  Hand-over 1 (B->C at 6): B's [0,6] and C's [5,10] overlap
    # 5-6.  Everything else is sole.
    assert m.loc["B", "momentary_share"] == pytest.approx(0.6)
    assert m.loc["C", "momentary_share"] == pytest.approx(0.4)
    assert m.loc["A", "momentary_share"] == 0.0
    assert m.loc["B", "shifting_share"] == pytest.approx(0.1)
    assert m.loc["C", "shifting_share"] == pytest.approx(0.1)
    assert m.loc["B", "sole_share"] == pytest.approx(0.5)  # its 5-6 was shifting
    assert m.loc["C", "sole_share"] == pytest.approx(0.4)  # the overlap lay in B's stint
    assert m.loc["X", "momentary_share"] == pytest.approx(1.0)


def test_unknown_assets_and_empty_events() -> None:
    with pytest.raises(InputError, match="asset 'Q' has no line"):
        find_bottlenecks(events([("Q", 0, 1, "running")]), ASSETS)
    empty = find_bottlenecks(events([]), ASSETS)
    assert empty.machines.empty and empty.frame.empty
    idle = find_bottlenecks(events([("A", 0, 1, "starved")]), ASSETS)
    assert idle.machines["momentary_share"].tolist() == [0.0]
