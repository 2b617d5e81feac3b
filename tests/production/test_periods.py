"""Shift/day/week boundaries and exact, loop-free interval splitting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopfloor.errors import InputError
from shopfloor.production.periods import (
    assign_period,
    from_us,
    parse_hhmm,
    period_boundaries,
    split_intervals,
    to_us,
)

H = 3600 * 10**6  # one hour in microseconds


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_shift_boundaries_cover_the_range() -> None:
    b = period_boundaries(ts("2024-01-01 23:00"), ts("2024-01-02 15:00"), "shift")
    assert list(b) == [
        ts("2024-01-01 22:00"),
        ts("2024-01-02 06:00"),
        ts("2024-01-02 14:00"),
        ts("2024-01-02 22:00"),
    ]
    assert str(b.dtype) == "datetime64[us, UTC]"


def test_day_and_week_boundaries() -> None:
    days = period_boundaries(ts("2024-01-03 10:00"), ts("2024-01-04 00:00"), "day")
    assert list(days) == [ts("2024-01-03"), ts("2024-01-04")]
    weeks = period_boundaries(ts("2024-01-03 10:00"), ts("2024-01-10 10:00"), "week")
    assert list(weeks) == [ts("2024-01-01"), ts("2024-01-08"), ts("2024-01-15")]  # Mondays


def test_daylight_saving_makes_shifts_and_days_longer_or_shorter() -> None:
    # Berlin springs forward on 2024-03-31 at 02:00: that day has 23 hours.
    days = period_boundaries(
        ts("2024-03-30 12:00"), ts("2024-04-01 12:00"), "day", timezone="Europe/Berlin"
    )
    assert np.diff(to_us(days)).tolist() == [24 * H, 23 * H, 24 * H]
    shifts = period_boundaries(
        ts("2024-03-30 21:00"), ts("2024-03-31 05:00"), "shift", timezone="Europe/Berlin"
    )
    assert np.diff(to_us(shifts)).tolist() == [7 * H, 8 * H]  # the night shift loses an hour
    # In autumn the night shift gains one.
    autumn = period_boundaries(
        ts("2024-10-26 21:00"), ts("2024-10-27 05:00"), "shift", timezone="Europe/Berlin"
    )
    assert np.diff(to_us(autumn)).tolist() == [9 * H]


def test_bad_settings_are_one_line_errors() -> None:
    with pytest.raises(InputError, match="'6h' is not HH:MM"):
        parse_hhmm("6h")
    with pytest.raises(InputError, match="not a time of day"):
        parse_hhmm("24:00")
    assert parse_hhmm("06:30") == pd.Timedelta(hours=6, minutes=30)
    with pytest.raises(InputError, match="time zone 'Mars/Base'"):
        period_boundaries(ts("2024-01-01"), ts("2024-01-02"), "day", timezone="Mars/Base")
    with pytest.raises(InputError, match="shift start"):
        period_boundaries(ts("2024-01-01"), ts("2024-01-02"), "shift", shift_starts=())
    with pytest.raises(InputError, match="period 'hour'"):
        period_boundaries(ts("2024-01-01"), ts("2024-01-02"), "hour")  # type: ignore[arg-type]


def test_split_at_boundaries_edge_cases() -> None:
    bounds = np.array([0, 10, 20, 30], dtype=np.int64)
    start = np.array([0, 5, 10, 12, 7, 25], dtype=np.int64)
    end = np.array([10, 25, 20, 12, 7, 30], dtype=np.int64)
    row, period, s, e = split_intervals(start, end, bounds)
    # exact fit; spans three; starts on a boundary; two empty intervals; last period.
    assert row.tolist() == [0, 1, 1, 1, 2, 5]
    assert period.tolist() == [0, 0, 1, 2, 1, 2]
    assert s.tolist() == [0, 5, 10, 20, 10, 25]
    assert e.tolist() == [10, 10, 20, 25, 20, 30]
    empty = np.zeros(0, dtype=np.int64)
    assert all(a.size == 0 for a in split_intervals(empty, empty, bounds))
    assert assign_period(np.array([0, 9, 10, 29]), bounds).tolist() == [0, 0, 1, 2]


@given(
    st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 300)), max_size=30),
    st.lists(st.integers(1, 1299), max_size=20),
)
def test_split_pieces_add_up_to_the_intervals(
    spans: list[tuple[int, int]], cuts: list[int]
) -> None:
    bounds = np.unique(np.array([0, 1300, *cuts], dtype=np.int64))
    start = np.array([a for a, _ in spans], dtype=np.int64)
    end = np.array([a + d for a, d in spans], dtype=np.int64)
    row, period, s, e = split_intervals(start, end, bounds)
    assert np.all(e > s)
    assert np.all((s >= bounds[period]) & (e <= bounds[period + 1]))
    lengths = np.bincount(row, weights=e - s, minlength=start.size)
    assert np.array_equal(lengths, (end - start).astype(float))


def test_microsecond_conversions_round_trip() -> None:
    idx = pd.DatetimeIndex([ts("2024-01-01 00:00:00.000001"), ts("2024-06-01")])
    assert list(from_us(to_us(idx))) == list(idx)
    naive = to_us(pd.Series([pd.Timestamp("2024-01-01")]))  # naive reads as UTC
    assert naive.tolist() == to_us([ts("2024-01-01")]).tolist()
