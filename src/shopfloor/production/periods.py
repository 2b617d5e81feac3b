"""Shift, day and week bucketing of intervals and instants.

Boundaries are wall-clock times in the plant's time zone, converted to UTC: shifts start
at the configured local times, days at local midnight and weeks at Monday 00:00 local
(ISO weeks).  Across a daylight-saving change a day or a shift is therefore 23 or 25 hours
long, which is what the plant's own reports show.  A local time that does not exist (the
spring-forward hour) moves forward to the first valid instant; an ambiguous one (the
fall-back hour) takes its first occurrence.

All arithmetic is on int64 microseconds since the epoch (the lake's timestamp unit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError

PeriodKind = Literal["shift", "day", "week"]
PERIODS: tuple[PeriodKind, ...] = ("shift", "day", "week")
DEFAULT_SHIFT_STARTS = ("06:00", "14:00", "22:00")
I64 = npt.NDArray[np.int64]


def parse_hhmm(text: str) -> pd.Timedelta:
    """'06:30' -> 6 h 30 min after midnight; a one-line error naming the bad value."""
    hours, sep, minutes = text.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit()):
        raise InputError(f"shift start '{text}' is not HH:MM", field="shift_starts")
    if int(hours) >= 24 or int(minutes) >= 60:
        raise InputError(f"shift start '{text}' is not a time of day", field="shift_starts")
    return pd.Timedelta(hours=int(hours), minutes=int(minutes))


def to_us(values: pd.Series | pd.DatetimeIndex | Sequence[pd.Timestamp]) -> I64:
    """Timestamps (tz-aware; naive ones are read as UTC) as int64 microseconds.

    Null timestamps become ``np.iinfo(np.int64).min``; callers decide what open means.
    """
    idx = pd.DatetimeIndex(pd.Series(values) if isinstance(values, Sequence) else values)
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    us = idx.tz_convert("UTC").as_unit("us").asi8.copy()
    return us


def from_us(us: npt.ArrayLike) -> pd.DatetimeIndex:
    """int64 microseconds since the epoch as a UTC ``DatetimeIndex`` (unit us)."""
    arr = np.atleast_1d(np.asarray(us, dtype=np.int64)).astype("datetime64[us]")
    return pd.DatetimeIndex(arr).tz_localize("UTC")


def period_boundaries(
    start: pd.Timestamp,
    end: pd.Timestamp,
    period: PeriodKind,
    *,
    shift_starts: Sequence[str] = DEFAULT_SHIFT_STARTS,
    timezone: str = "UTC",
) -> pd.DatetimeIndex:
    """Sorted UTC period boundaries with the first <= ``start`` and the last >= ``end``."""
    if period not in PERIODS:
        raise InputError(f"period '{period}' is not one of {', '.join(PERIODS)}", field="period")
    try:
        lo = pd.Timestamp(start).tz_convert(timezone)
        hi = pd.Timestamp(end).tz_convert(timezone)
    except (KeyError, ValueError) as exc:  # unknown zone names raise from zoneinfo
        raise InputError(f"unknown time zone '{timezone}'", field="timezone") from exc
    # A week of slack on both sides covers the week bucket and any DST shift.
    days = pd.date_range(
        lo.tz_localize(None).normalize() - pd.Timedelta(days=8),
        hi.tz_localize(None).normalize() + pd.Timedelta(days=8),
        freq="D",
    )
    if period == "week":
        local = days[days.dayofweek == 0]
    elif period == "day":
        local = days
    else:
        offsets = sorted({parse_hhmm(s) for s in shift_starts})
        if not offsets:
            raise InputError("at least one shift start is needed", field="shift_starts")
        local = pd.DatetimeIndex(np.sort(np.concatenate([(days + o).values for o in offsets])))
    aware = local.tz_localize(
        timezone, ambiguous=np.ones(local.size, dtype=bool), nonexistent="shift_forward"
    )
    utc = aware.tz_convert("UTC").as_unit("us").unique().sort_values()
    first = max(int(utc.searchsorted(pd.Timestamp(start), side="right")) - 1, 0)
    last = int(utc.searchsorted(pd.Timestamp(end), side="left"))
    return utc[first : last + 1]


def split_intervals(start_us: I64, end_us: I64, bounds_us: I64) -> tuple[I64, I64, I64, I64]:
    """Cut [start, end) intervals at sorted boundaries, without a Python loop.

    Returns ``(row, period, piece_start, piece_end)``: the source row of each piece, the
    index of the period ``[bounds[period], bounds[period + 1])`` it lies in, and its
    clipped extent.  Empty intervals (end <= start) produce no piece; the boundaries must
    cover every interval.
    """
    start_us, end_us = np.asarray(start_us, np.int64), np.asarray(end_us, np.int64)
    first = np.searchsorted(bounds_us, start_us, side="right") - 1
    last = np.searchsorted(bounds_us, end_us, side="left") - 1
    count = np.where(end_us > start_us, last - first + 1, 0)
    row = np.repeat(np.arange(start_us.size, dtype=np.int64), count)
    step = np.arange(row.size, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    period = first[row] + step
    piece_start = np.maximum(start_us[row], bounds_us[period])
    piece_end = np.minimum(end_us[row], bounds_us[period + 1])
    return row, period.astype(np.int64), piece_start, piece_end


def assign_period(ts_us: I64, bounds_us: I64) -> I64:
    """Index of the period ``[bounds[i], bounds[i + 1])`` containing each instant."""
    return (np.searchsorted(bounds_us, np.asarray(ts_us, np.int64), side="right") - 1).astype(
        np.int64
    )
