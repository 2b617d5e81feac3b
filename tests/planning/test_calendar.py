"""Working calendars as downtimes: weekdays, windows, time zones (DST), holidays, rounding."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from shopfloor.config import PlanningSettings, parse_window
from shopfloor.errors import InputError
from shopfloor.planning.calendar import (
    WorkingCalendar,
    calendar_downtimes,
    interval_downtimes,
    interval_minutes,
    minutes_from,
    off_minutes,
    work_between,
    work_end,
)
from shopfloor.planning.problem import Downtime

H = 60  # minutes per hour
DAY = 24 * H
EVERY_DAY = tuple(range(7))


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_default_calendar_is_weekdays_six_to_ten_utc() -> None:
    # 2026-11-01 is a Sunday: closed until Monday 06:00, then open until 22:00.
    off = off_minutes(WorkingCalendar(), utc("2026-11-01"), 2 * DAY)
    assert off == ((0, DAY + 6 * H), (DAY + 22 * H, 2 * DAY))


def test_weekend_and_working_days() -> None:
    # Friday 00:00 for four days: Fri open, Sat and Sun closed, Mon open.
    off = off_minutes(WorkingCalendar(), utc("2026-10-30"), 4 * DAY)
    assert off == ((0, 6 * H), (22 * H, 3 * DAY + 6 * H), (3 * DAY + 22 * H, 4 * DAY))
    saturday_too = WorkingCalendar(working_days=(0, 1, 2, 3, 4, 5))
    off = off_minutes(saturday_too, utc("2026-10-30"), 4 * DAY)
    assert (DAY + 6 * H, DAY + 22 * H) not in off and off[1] == (22 * H, DAY + 6 * H)


@pytest.mark.parametrize(
    ("start", "night_off_h", "first_open_utc"),
    [
        # Spring forward (Europe/Berlin, 2026-03-29 02:00 -> 03:00): the night is 7 h.
        ("2026-03-28", 7, 5),
        # Fall back (2026-10-25 03:00 -> 02:00): the night is 9 h.
        ("2026-10-24", 9, 4),
    ],
)
def test_windows_follow_local_time_across_daylight_saving(
    start: str, night_off_h: int, first_open_utc: int
) -> None:
    calendar = WorkingCalendar(working_days=EVERY_DAY, timezone="Europe/Berlin")
    off = off_minutes(calendar, utc(start), 2 * DAY)
    # Opens at 06:00 local both days; UTC moves by the offset change.
    assert off[0] == (0, first_open_utc * H)
    night = off[1]
    assert night[0] == first_open_utc * H + 16 * H  # 06:00-22:00 local is 16 h either way
    assert night[1] - night[0] == night_off_h * H


def test_overnight_window_over_the_spring_change() -> None:
    # A night shift 22:00-06:00 local that starts on Saturday 2026-03-28 (CET) ends on
    # Sunday at 06:00 CEST: 21:00 to 04:00 UTC, 7 hours of work.
    calendar = WorkingCalendar(
        working_days=(5,), windows=(parse_window("22:00-06:00"),), timezone="Europe/Berlin"
    )
    off = off_minutes(calendar, utc("2026-03-28"), 2 * DAY)
    assert off == ((0, 21 * H), (DAY + 4 * H, 2 * DAY))


def test_a_night_shift_from_the_day_before_the_origin_counts() -> None:
    calendar = WorkingCalendar(working_days=EVERY_DAY, windows=(parse_window("22:00-06:00"),))
    off = off_minutes(calendar, utc("2026-11-02"), DAY)
    assert off == ((6 * H, 22 * H),)


def test_whole_days_and_several_windows() -> None:
    always = WorkingCalendar(working_days=EVERY_DAY, windows=(parse_window("00:00-24:00"),))
    assert off_minutes(always, utc("2026-11-02"), 3 * DAY) == ()
    two = WorkingCalendar(windows=(parse_window("06:00-12:00"), parse_window("12:30-20:00")))
    off = off_minutes(two, utc("2026-11-02"), DAY)
    assert off == ((0, 6 * H), (12 * H, 12 * H + 30), (20 * H, DAY))


def test_holidays_close_the_whole_day() -> None:
    calendar = WorkingCalendar(holidays=frozenset({date(2026, 11, 3)}))
    off = off_minutes(calendar, utc("2026-11-02"), 3 * DAY)
    # Monday open, Tuesday (holiday) closed, Wednesday open.
    assert off == ((0, 6 * H), (22 * H, 2 * DAY + 6 * H), (2 * DAY + 22 * H, 3 * DAY))


def test_holidays_are_local_dates() -> None:
    # 2026-11-03 local in Auckland (UTC+13) is 2026-11-02 11:00 UTC onwards.
    calendar = WorkingCalendar(
        working_days=EVERY_DAY,
        windows=(parse_window("00:00-24:00"),),
        timezone="Pacific/Auckland",
        holidays=frozenset({date(2026, 11, 3)}),
    )
    assert off_minutes(calendar, utc("2026-11-02"), 2 * DAY) == ((11 * H, DAY + 11 * H),)


def test_rounding_never_adds_working_time() -> None:
    # Origin 30 s past midnight: 06:00 is minute 359.5, so work starts at minute 360.
    off = off_minutes(WorkingCalendar(), utc("2026-11-02 00:00:30"), DAY)
    assert off[0] == (0, 360)
    assert off[1][0] == 22 * H - 1  # 22:00 is minute 1319.5: work stops at 1319


def test_calendar_downtimes_are_per_machine() -> None:
    downtimes = calendar_downtimes(WorkingCalendar(), utc("2026-11-02"), DAY, 2)
    assert downtimes == (
        Downtime(0, 0, 6 * H, "off shift"),
        Downtime(0, 22 * H, DAY, "off shift"),
        Downtime(1, 0, 6 * H, "off shift"),
        Downtime(1, 22 * H, DAY, "off shift"),
    )
    assert calendar_downtimes(WorkingCalendar(), utc("2026-11-02"), DAY, [3])[0].machine == 3


def test_from_settings_falls_back_to_the_plant_time_zone() -> None:
    settings = PlanningSettings(
        working_days=["mon", "sat"], working_hours=["07:00-15:30"], holidays=["2026-12-25"]
    )
    calendar = WorkingCalendar.from_settings(settings, "Europe/Berlin")
    assert calendar.working_days == (0, 5)
    assert calendar.windows == ((7 * H, 15 * H + 30),)
    assert calendar.timezone == "Europe/Berlin"
    assert calendar.holidays == frozenset({date(2026, 12, 25)})
    own = PlanningSettings(timezone="America/Chicago")
    assert WorkingCalendar.from_settings(own, "Europe/Berlin").timezone == "America/Chicago"


def test_absolute_intervals_are_grown_to_minutes_and_clipped() -> None:
    origin = utc("2026-11-02")
    assert interval_minutes(
        utc("2026-11-02 01:00:30"), utc("2026-11-02 02:00:10"), origin, DAY
    ) == (
        60,
        121,
    )
    assert interval_minutes(utc("2026-11-01 20:00"), utc("2026-11-02 02:00"), origin, DAY) == (
        0,
        120,
    )
    assert interval_minutes(utc("2026-11-02 23:00"), utc("2026-11-03 05:00"), origin, DAY) == (
        23 * H,
        DAY,
    )
    assert interval_minutes(utc("2026-11-01"), utc("2026-11-01 05:00"), origin, DAY) is None
    assert interval_minutes(utc("2026-11-04"), utc("2026-11-05"), origin, DAY) is None
    found = interval_downtimes(
        [
            (1, utc("2026-11-02 08:00"), utc("2026-11-02 12:00"), "maintenance: M2"),
            (0, utc("2026-11-05"), utc("2026-11-06"), "outside"),
        ],
        origin,
        DAY,
    )
    assert found == (Downtime(1, 8 * H, 12 * H, "maintenance: M2"),)


def test_minutes_from_rounds_down_or_up() -> None:
    origin = utc("2026-11-02")
    assert minutes_from(origin, utc("2026-11-02 00:01:59")) == 1
    assert minutes_from(origin, utc("2026-11-02 00:01:59"), up=True) == 2
    assert minutes_from(origin, utc("2026-11-01 23:59")) == -1


def test_faults_are_input_errors() -> None:
    with pytest.raises(InputError, match="no time zone"):
        off_minutes(WorkingCalendar(), pd.Timestamp("2026-11-02"), DAY)
    with pytest.raises(InputError, match="horizon must be positive"):
        off_minutes(WorkingCalendar(), utc("2026-11-02"), 0)
    with pytest.raises(InputError, match="unknown time zone"):
        WorkingCalendar(timezone="Mars/Olympus")
    with pytest.raises(InputError, match="at least one working window"):
        WorkingCalendar(windows=())
    with pytest.raises(InputError, match="weekday 7"):
        WorkingCalendar(working_days=(7,))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("06:00-22:00", (360, 1320)),
        ("22:00-06:00", (1320, 360)),
        (" 0:00 - 24:00 ", (0, 1440)),
    ],
)
def test_parse_window(text: str, expected: tuple[int, int]) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize(
    "text", ["6-22", "06:00-06:00", "25:00-26:00", "06:00-24:30", "06:61-07:00"]
)
def test_parse_window_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="working window"):
        parse_window(text)


@pytest.mark.parametrize(
    ("start", "work", "end"),
    [
        (0, 5, 5),
        (5, 5, 10),  # done exactly when the break begins
        (5, 6, 21),  # one unit left after the break
        (8, 15, 43),  # over both breaks
        (15, 5, 25),  # begun inside a break: waits for its end
        (15, 0, 15),  # no work: no wait
        (45, 10, 55),
    ],
)
def test_work_pauses_over_breaks(start: int, work: int, end: int) -> None:
    spans = ((10, 20), (30, 40))
    assert work_end(spans, start, work) == end
    assert work_between(spans, start, end) == work
