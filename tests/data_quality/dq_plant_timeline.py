"""A hand-built, realistic state timeline and health for the demo plant (test helper).

Stands in for ``demo_plant.operations`` so the data-quality tests do not depend on it:
machines run most of the time, stop for a half-hour break in each shift, get starved,
blocked and changed over now and then, break down a few times, and wear out along
health ramps that end in a failure and a repair.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from shopfloor.demo_plant.layout import PlantLayout


def _frame(rows: list[tuple[str, pd.Timestamp, pd.Timestamp, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["asset", "start", "end", "kind", "code", "detail"])
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    return frame


def plant_timeline(
    layout: PlantLayout, start: pd.Timestamp, end: pd.Timestamp, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(events, health) following the operations contract."""
    rng = np.random.default_rng(seed)
    state_rows: list[tuple[str, pd.Timestamp, pd.Timestamp, str, str, str]] = []
    health_rows = []
    health_ts = pd.date_range(start, end, freq="10min", inclusive="left")
    span_h = (end - start) / pd.Timedelta(hours=1)
    for machine in layout.machines:
        # Per-minute state grid, then run-length encoded into events.
        minutes = pd.date_range(start, end, freq="1min", inclusive="left")
        state = np.full(minutes.size, "running", dtype=object)
        hour = minutes.hour.to_numpy() + minutes.minute.to_numpy() / 60
        for shift_start in (6.0, 14.0, 22.0):
            brk = shift_start + 3.5
            state[(hour >= brk) & (hour < brk + 0.5)] = "planned_stop"
        for code, per_day, lo, hi in (
            ("starved", 4, 2, 25),
            ("blocked", 3, 2, 20),
            ("changeover", 1.5, 15, 45),
            ("down", 0.5, 20, 180),
        ):
            count = rng.poisson(per_day * span_h / 24)
            for _ in range(count):
                at = rng.integers(0, minutes.size)
                length = int(rng.integers(lo, hi + 1))
                state[at : at + length] = code
        # Health ramps: wear builds over 1.5-4 days (the first one already under way),
        # ends in a failure, a repair of 1-4 hours, and a machine as good as new.
        wear = np.zeros(health_ts.size)
        steps_per_day = 24 * 6
        position = -int(rng.uniform(0.0, 1.5) * steps_per_day)
        while position < health_ts.size:
            ramp = int(rng.uniform(1.5, 4.0) * steps_per_day)
            lo, hi = max(position, 0), min(position + ramp, health_ts.size)
            wear[lo:hi] = np.linspace(0.0, 1.0, ramp)[lo - position : hi - position] ** 1.5
            failure = (position + ramp) * 10  # in minutes
            repair = int(rng.integers(60, 240))
            state[max(failure, 0) : max(failure + repair, 0)] = "down"
            position += ramp + repair // 10
        health_rows.append(pd.DataFrame({"asset": machine.asset, "ts": health_ts, "health": wear}))
        change = np.flatnonzero(state[1:] != state[:-1]) + 1
        bounds = np.r_[0, change, minutes.size]
        for a, b in pairwise(bounds):
            stop_ts = minutes[b] if b < minutes.size else end
            state_rows.append((machine.asset, minutes[a], stop_ts, "state", str(state[a]), ""))
    health = pd.concat(health_rows, ignore_index=True)
    health["ts"] = health["ts"].astype("datetime64[us, UTC]")
    return _frame(state_rows), health
