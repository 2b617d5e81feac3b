"""The twin's shift calendar: working windows as seconds since the simulation origin.

The plant works only inside its windows (``planning.working_days`` x
``planning.working_hours``); outside them machines stand still and waiting there is
neither starving nor blocking.  Repairs follow the same clock (the crew works shifts),
so a repair that starts at 21:30 resumes at 06:00, as in the lake's history.  Only a
maintenance placed *off shift* on purpose (the joint plan's night and weekend windows)
runs outside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.config import WEEKDAYS, parse_window
from shopfloor.errors import InputError

IntArr = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ShiftCalendar:
    """Sorted, disjoint working windows ``[starts[i], ends[i])`` in seconds since ``origin``."""

    origin: pd.Timestamp
    starts: IntArr
    ends: IntArr

    @classmethod
    def weekly(
        cls,
        origin: pd.Timestamp,
        days: float,
        working_days: Sequence[str] = WEEKDAYS[:5],
        working_hours: Sequence[str] = ("06:00-22:00",),
    ) -> ShiftCalendar:
        """Windows over ``days`` (plus a week of slack for work running past the end)."""
        if days <= 0:
            raise InputError(f"the calendar needs a positive length, not {days} days", field="days")
        t0 = pd.Timestamp(origin)
        t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
        first = t0.normalize()
        lead = int((t0 - first).total_seconds())
        wanted = {WEEKDAYS.index(d[:3].lower()) for d in working_days}
        spans = [parse_window(w) for w in working_hours]
        starts, ends = [], []
        for day in range(int(np.ceil(days)) + 8):
            if (first.dayofweek + day) % 7 not in wanted:
                continue
            for a, b in spans:
                s = day * 86400 + 60 * a - lead
                e = day * 86400 + 60 * (b if b > a else b + 1440) - lead
                if e > 0:
                    starts.append(max(s, 0))
                    ends.append(e)
        order = np.argsort(starts)
        s_arr, e_arr = np.array(starts, np.int64)[order], np.array(ends, np.int64)[order]
        if s_arr.size == 0:
            raise InputError("the working calendar has no working window", field="working_hours")
        # Overlapping windows (e.g. 22:00-06:00 after 06:00-22:00) merge into one.
        keep = np.concatenate([[True], s_arr[1:] > np.maximum.accumulate(e_arr)[:-1]])
        idx = np.flatnonzero(keep)
        merged_e = np.maximum.reduceat(e_arr, idx)
        return cls(t0, s_arr[idx], merged_e.astype(np.int64))

    def is_open(self, t: float) -> bool:
        k = int(np.searchsorted(self.starts, t, side="right")) - 1
        return k >= 0 and t < self.ends[k]

    def next_open(self, t: float) -> float:
        """``t`` if the plant works then, else the start of the next window (inf if none)."""
        k = int(np.searchsorted(self.starts, t, side="right")) - 1
        if k >= 0 and t < self.ends[k]:
            return t
        return float(self.starts[k + 1]) if k + 1 < self.starts.size else float("inf")

    def window_end(self, t: float) -> float:
        """End of the window ``t`` lies in (``t`` itself when the plant is closed)."""
        k = int(np.searchsorted(self.starts, t, side="right")) - 1
        return float(self.ends[k]) if k >= 0 and t < self.ends[k] else t

    def advance(self, t: float, work: float) -> float:
        """When ``work`` seconds of working time starting at ``t`` are done."""
        t = self.next_open(t)
        while work > 0 and np.isfinite(t):
            room = self.window_end(t) - t
            if work <= room:
                return t + work
            work -= room
            t = self.next_open(self.window_end(t))
        return t

    def open_seconds(self, a: float, b: float) -> float:
        """Working seconds inside ``[a, b)``."""
        if b <= a:
            return 0.0
        s = np.clip(self.starts, a, b)
        e = np.clip(self.ends, a, b)
        return float(np.sum(e - s))

    def gaps(self, a: float, b: float) -> list[tuple[float, float]]:
        """Non-working intervals that start inside ``[a, b)`` (nights, weekends)."""
        out = []
        for k in range(self.ends.size - 1):
            if a <= self.ends[k] < b:
                out.append((float(self.ends[k]), float(self.starts[k + 1])))
        return out
