"""From scores to alert episodes, and alerts measured against what really failed.

Hysteresis turns a noisy score into episodes an operator can handle: an alert opens
after ``on`` consecutive periods above the threshold and closes after ``off``
consecutive periods below ``release`` × threshold, so one noisy hour neither raises nor
clears it.  The work is done run by run (a few dozen runs per asset-month), not row by
row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError

_DAY, _WEEK = pd.Timedelta(days=1), pd.Timedelta(days=7)


def _first_run_end(flags: npt.NDArray[np.bool_], begin: int, length: int) -> int:
    """Index at which the first run of ``length`` True values from ``begin`` is complete."""
    part = flags[begin:].astype(np.int64)
    if part.size < length:
        return -1
    sums = np.cumsum(np.concatenate(([0], part)))
    full = np.flatnonzero(sums[length:] - sums[:-length] == length)
    return begin + int(full[0]) + length - 1 if full.size else -1


def alert_episodes(
    index: pd.Index,
    score: npt.NDArray[np.float64],
    threshold: float,
    *,
    on: int = 3,
    off: int = 6,
    release: float = 0.7,
) -> pd.DataFrame:
    """Episodes (start, end, peak, peak_at) of one asset's score, periods in time order.

    ``start`` is the period at which the alert is raised (after ``on`` exceedances);
    ``end`` is the period at which it clears (NaT while still open at the last period).
    """
    if len(index) != len(score):
        raise InputError("index and score differ in length", field="score")
    columns = {
        "start": pd.Series([], dtype="datetime64[us, UTC]"),
        "end": pd.Series([], dtype="datetime64[us, UTC]"),
        "peak": pd.Series([], dtype=float),
        "peak_at": pd.Series([], dtype="datetime64[us, UTC]"),
    }
    if len(score) == 0:
        return pd.DataFrame(columns)
    values = np.nan_to_num(np.asarray(score, dtype=np.float64), nan=0.0)
    high = values > threshold
    low = values <= release * threshold
    starts, ends = [], []
    i, n = 0, len(values)
    while i < n:
        raised = _first_run_end(high, i, on)
        if raised < 0:
            break
        cleared = _first_run_end(low, raised + 1, off)
        starts.append(raised)
        ends.append(cleared)
        if cleared < 0:
            break
        i = cleared + 1
    stamps = pd.DatetimeIndex(index)
    rows = []
    for s, e in zip(starts, ends, strict=True):
        stop = e if e >= 0 else n - 1
        first = s - on + 1
        peak_pos = first + int(np.argmax(values[first : stop + 1]))
        rows.append(
            {
                "start": stamps[s],
                "end": stamps[e] if e >= 0 else pd.NaT,
                "peak": float(values[peak_pos]),
                "peak_at": stamps[peak_pos],
            }
        )
    if not rows:
        return pd.DataFrame(columns)
    return pd.DataFrame(rows)


def _pairs(frame: pd.DataFrame, column: str) -> list[tuple[str, pd.Timestamp]]:
    stamps = pd.DatetimeIndex(pd.to_datetime(frame[column], utc=True))
    return list(zip(frame["asset"].astype(str).tolist(), stamps, strict=True))


@dataclass(frozen=True)
class AlertEvaluation:
    """Alerts against known failures (a simulator's ground truth or a plant's history)."""

    failures: int  # failures that could have been alerted (enough history before them)
    detected: int  # of those, alerted at least `lead` ahead
    episodes: int
    false_alarms: int  # episodes with no failure within `horizon` nor a developing fault
    false_asset_days: int  # asset-days with at least one false alarm raised
    asset_days: float

    @property
    def recall(self) -> float:
        return self.detected / self.failures if self.failures else float("nan")

    @property
    def false_alarm_rate(self) -> float:
        """False alarms per asset-day, as a share (0.025 = 2.5 %)."""
        return self.false_asset_days / self.asset_days if self.asset_days else float("nan")


def evaluate_alerts(
    episodes: pd.DataFrame,
    failures: pd.DataFrame,
    *,
    observed_from: pd.Timestamp,
    observed_to: pd.Timestamp,
    assets: int,
    lead: pd.Timedelta = _DAY,
    horizon: pd.Timedelta = _WEEK,
    developing: pd.DataFrame | None = None,
    developing_level: float = 0.5,
    warmup: pd.Timedelta = _DAY,
) -> AlertEvaluation:
    """Score ``episodes`` (asset, start) against ``failures`` (asset, ts).

    A failure counts as detected when an alert on its asset was raised between
    ``horizon`` and ``lead`` before it; only failures at least ``lead + warmup`` after
    ``observed_from`` are counted (earlier ones left no time to be seen ``lead`` ahead).
    An episode is a false alarm when its asset does not fail within ``horizon`` after it
    was raised and, where ``developing`` (asset, ts, health) is given, the true health at
    that time was below ``developing_level`` (an alert on a fault that preventive
    maintenance then removed is not false).
    """
    eligible = failures[
        (failures["ts"] >= observed_from + lead + warmup) & (failures["ts"] <= observed_to)
    ].reset_index(drop=True)
    detected = 0
    for asset, failed in _pairs(eligible, "ts"):
        mine = episodes[episodes["asset"] == asset]
        window = (mine["start"] <= failed - lead) & (mine["start"] >= failed - horizon)
        detected += bool(window.any())
    false_alarms, false_days = 0, set()
    health = None
    if developing is not None and not developing.empty:
        health = developing.sort_values("ts")
    for asset, start in _pairs(episodes, "start"):
        follows = failures[
            (failures["asset"] == asset)
            & (failures["ts"] >= start)
            & (failures["ts"] <= start + horizon)
        ]
        if not follows.empty:
            continue
        if health is not None:
            mine = health[health["asset"] == asset]
            at = int(mine["ts"].searchsorted(start, side="right")) - 1
            if at >= 0 and float(mine["health"].iloc[at]) >= developing_level:
                continue
        false_alarms += 1
        false_days.add((asset, start.date()))
    days = (observed_to - observed_from).total_seconds() / 86400.0 * assets
    return AlertEvaluation(
        failures=len(eligible),
        detected=detected,
        episodes=len(episodes),
        false_alarms=false_alarms,
        false_asset_days=len(false_days),
        asset_days=days,
    )
