"""Working-time calendars and absolute stops as machine downtimes, in minutes from an origin.

The scheduler knows only integer time and :class:`Downtime` spans.  The lake's planning
unit is the **minute** counted from a plan origin (a UTC timestamp); this module turns a
plant's working calendar (working weekdays, daily windows in local time, a time zone,
holidays) and absolute unavailable intervals (maintenance windows, work orders) into
those spans.

Rules:

- a working window belongs to the local day it **starts** on: on a working day that is
  not a holiday, each window ``"HH:MM-HH:MM"`` opens; an end at or before the start runs
  into the next day (a night shift ``"22:00-06:00"``), ``"24:00"`` is the next midnight.
  A night shift that starts the evening before a holiday therefore still runs into the
  holiday's morning.
- windows are local wall-clock times, converted to UTC per day with the zone's rules, so
  on a daylight-saving day a 06:00-22:00 window still opens at 06:00 local time (and the
  day's off time is an hour shorter or longer).  A start inside the spring-forward gap is
  read with the offset before the change (02:30 becomes 03:30 summer time); an ambiguous
  time in the autumn is its first occurrence.
- rounding is conservative: working time shrinks to whole minutes (a window starting at
  06:00:30 opens at minute 06:01), unavailable intervals grow to whole minutes.  A plan
  then never puts work where the plant is closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from shopfloor.config import WEEKDAYS, PlanningSettings, parse_window
from shopfloor.errors import InputError
from shopfloor.planning.problem import Downtime

MINUTE_NS = 60 * 1_000_000_000
OFF_SHIFT = "off shift"


@dataclass(frozen=True)
class WorkingCalendar:
    """When the plant works: weekdays (Monday = 0), daily windows, time zone, holidays.

    ``windows`` are ``(start, end)`` minutes of the local day; ``end <= start`` crosses
    midnight; ``end == 1440`` is the next midnight.
    """

    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    windows: tuple[tuple[int, int], ...] = ((6 * 60, 22 * 60),)
    timezone: str = "UTC"
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.windows:
            raise InputError("a calendar needs at least one working window", field="working_hours")
        for day in self.working_days:
            if not 0 <= day <= 6:
                raise InputError(f"weekday {day} is outside 0..6", field="working_days")
        for start, end in self.windows:
            if not (0 <= start < 1440 and 0 <= end <= 1440) or start == end:
                raise InputError(
                    f"window ({start}, {end}) is not a pair of distinct minutes of the day",
                    field="working_hours",
                )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(f"unknown time zone '{self.timezone}'", field="timezone") from None

    @classmethod
    def from_settings(
        cls, settings: PlanningSettings, default_timezone: str = "UTC"
    ) -> WorkingCalendar:
        """The calendar of ``planning`` settings; the zone falls back to ``default_timezone``."""
        try:
            windows = tuple(parse_window(w) for w in settings.working_hours)
        except ValueError as exc:
            raise InputError(str(exc), field="planning.working_hours") from None
        return cls(
            working_days=tuple(WEEKDAYS.index(d) for d in settings.working_days),
            windows=windows,
            timezone=settings.timezone or default_timezone,
            holidays=frozenset(settings.holidays),
        )

    def working_spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Working time within ``[start, end)`` as merged, sorted UTC spans."""
        zone = ZoneInfo(self.timezone)
        begin, stop = _aware(start, "start"), _aware(end, "end")
        first = begin.astimezone(zone).date() - timedelta(days=1)  # last night's shift
        last = stop.astimezone(zone).date()
        spans: list[tuple[datetime, datetime]] = []
        day = first
        while day <= last:
            if day.weekday() in self.working_days and day not in self.holidays:
                for lo, hi in self.windows:
                    opens = datetime.combine(day, _clock(lo), tzinfo=zone)
                    closes_on = day + timedelta(days=1) if hi <= lo or hi == 1440 else day
                    closes = datetime.combine(closes_on, _clock(hi % 1440), tzinfo=zone)
                    a = max(opens.astimezone(UTC), begin)
                    b = min(closes.astimezone(UTC), stop)
                    if a < b:
                        spans.append((a, b))
            day += timedelta(days=1)
        return _merge(spans)


def _clock(minute: int) -> time:
    return time(minute // 60, minute % 60)


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise InputError(f"{what} {value} has no time zone", field=what)
    return value


def _merge(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def minutes_from(origin: datetime, stamp: datetime, *, up: bool = False) -> int:
    """Whole minutes from ``origin`` to ``stamp``, rounded down (``up=True``: up)."""
    delta = pd.Timestamp(_aware(stamp, "time")).value - pd.Timestamp(_aware(origin, "origin")).value
    return -(-delta // MINUTE_NS) if up else delta // MINUTE_NS


def off_minutes(
    calendar: WorkingCalendar, origin: datetime, horizon: int
) -> tuple[tuple[int, int], ...]:
    """Non-working spans ``(start, end)`` in minutes within ``[0, horizon)`` of ``origin``."""
    if horizon <= 0:
        raise InputError(f"horizon must be positive, got {horizon} minutes", field="horizon")
    stop = pd.Timestamp(_aware(origin, "origin")) + pd.Timedelta(minutes=horizon)
    work = []
    for a, b in calendar.working_spans(origin, stop.to_pydatetime()):
        lo, hi = minutes_from(origin, a, up=True), minutes_from(origin, b)
        if lo < hi:
            work.append((lo, hi))
    off: list[tuple[int, int]] = []
    cursor = 0
    for lo, hi in work:
        if lo > cursor:
            off.append((cursor, lo))
        cursor = max(cursor, hi)
    if cursor < horizon:
        off.append((cursor, horizon))
    return tuple(off)


def calendar_downtimes(
    calendar: WorkingCalendar,
    origin: datetime,
    horizon: int,
    machines: int | Iterable[int],
    reason: str = OFF_SHIFT,
) -> tuple[Downtime, ...]:
    """The calendar's non-working time as one :class:`Downtime` per span and machine."""
    spans = off_minutes(calendar, origin, horizon)
    indices = range(machines) if isinstance(machines, int) else machines
    return tuple(Downtime(m, lo, hi, reason) for m in indices for lo, hi in spans)


def interval_minutes(
    start: datetime, end: datetime, origin: datetime, horizon: int
) -> tuple[int, int] | None:
    """An absolute interval as minutes from ``origin``, grown to whole minutes and clipped
    to ``[0, horizon)``; None when nothing of it lies in the horizon."""
    lo = max(0, minutes_from(origin, start))
    hi = min(horizon, minutes_from(origin, end, up=True))
    return (lo, hi) if lo < hi else None


def interval_downtimes(
    intervals: Iterable[tuple[int, datetime, datetime, str]], origin: datetime, horizon: int
) -> tuple[Downtime, ...]:
    """``(machine, start, end, reason)`` absolute intervals as clipped downtimes."""
    out = []
    for machine, start, end, reason in intervals:
        span = interval_minutes(start, end, origin, horizon)
        if span is not None:
            out.append(Downtime(machine, span[0], span[1], reason))
    return tuple(out)


def work_end(spans: tuple[tuple[int, int], ...], start: int, work: int) -> int:
    """When ``work`` units begun at ``start`` are done, pausing over the sorted, merged
    unavailable ``spans`` (``start`` itself when there is no work)."""
    t, left = start, work
    for lo, hi in spans:
        if left <= 0 or hi <= t:
            continue
        if lo > t:
            if t + left <= lo:
                break
            left -= lo - t
        t = max(t, hi)
    return t + left


def work_between(spans: tuple[tuple[int, int], ...], start: int, end: int) -> int:
    """Units of ``[start, end)`` outside the unavailable ``spans``."""
    return (end - start) - sum(max(0, min(end, hi) - max(start, lo)) for lo, hi in spans)
