import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.twin.calendar import ShiftCalendar

MONDAY = pd.Timestamp("2026-01-05", tz="UTC")


def test_weekly_windows_skip_weekends() -> None:
    cal = ShiftCalendar.weekly(MONDAY, 7)
    assert cal.open_seconds(0, 7 * 86400) == 5 * 16 * 3600
    assert not cal.is_open(3 * 3600) and cal.is_open(7 * 3600)
    assert cal.next_open(23 * 3600) == 86400 + 6 * 3600


def test_advance_pauses_over_the_night_and_weekend() -> None:
    cal = ShiftCalendar.weekly(MONDAY, 14)
    friday_2130 = 4 * 86400 + 21.5 * 3600
    # one working hour from Friday 21:30 ends Monday 06:30
    assert cal.advance(friday_2130, 3600) == 7 * 86400 + 6.5 * 3600


def test_gaps_are_nights_and_weekends() -> None:
    cal = ShiftCalendar.weekly(MONDAY, 7)
    gaps = cal.gaps(0, 7 * 86400)
    assert gaps[0] == (22 * 3600, 86400 + 6 * 3600)
    assert any(g1 - g0 > 48 * 3600 for g0, g1 in gaps)  # the weekend


def test_overnight_window_merges_into_one_shift() -> None:
    cal = ShiftCalendar.weekly(MONDAY, 3, working_hours=["06:00-22:00", "22:00-06:00"])
    assert cal.is_open(23 * 3600) and cal.is_open(86400 + 3 * 3600)


def test_bad_length_is_an_input_error() -> None:
    with pytest.raises(InputError):
        ShiftCalendar.weekly(MONDAY, 0)
