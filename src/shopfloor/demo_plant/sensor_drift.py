"""A slow sensor drift, planted on purpose (opt-in) to test the closed learning loop.

Real transmitters lose their calibration slowly: a pressure sensor reads a little higher
every day.  :class:`SensorDrift` names one signal of one machine, when its drift starts
and how fast it grows (signal units per day); :func:`apply_sensor_drift` adds
``per_day * days since start`` to that signal's clean readings from ``start`` on.  The
machine itself is unchanged (its states, wear and failures are the same): only what the
sensor reports moves, which is the situation where a condition model's learned normal
goes stale.  Nothing else in the demo changes, so the same seed gives the same plant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopfloor.errors import InputError

_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class SensorDrift:
    asset: str
    signal: str
    start: pd.Timestamp  # UTC: readings from here on drift
    per_day: float  # added per day since start, in the signal's unit

    def __post_init__(self) -> None:
        stamp = pd.Timestamp(self.start)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        object.__setattr__(self, "start", stamp)
        if not np.isfinite(self.per_day):
            raise InputError("drift per day must be a finite number", field="per_day")

    def offset(self, ts: pd.Series | pd.DatetimeIndex) -> np.ndarray:
        """The drift added at each of ``ts`` (0 before ``start``)."""
        stamps = pd.DatetimeIndex(pd.to_datetime(ts, utc=True)).as_unit("us").asi8
        since = stamps - int(self.start.value // 1000)
        return np.where(since > 0, since / _US_PER_DAY * self.per_day, 0.0)

    def as_row(self) -> dict[str, object]:
        """The ground truth as one row (written beside the demo's other truths)."""
        return {
            "asset": self.asset,
            "signal": self.signal,
            "start": self.start,
            "per_day": float(self.per_day),
        }


def apply_sensor_drift(frame: pd.DataFrame, drift: SensorDrift) -> pd.DataFrame:
    """A copy of a long readings frame (asset, signal, ts, value) with ``drift`` added.

    Values may leave the signal's plausible range if the drift is large enough: a
    drifting sensor does not know its limits, and the data-quality checks will say so.
    """
    mine = (frame["asset"] == drift.asset) & (frame["signal"] == drift.signal)
    if not bool(mine.any()):
        raise InputError(
            f"no readings of {drift.asset} / {drift.signal} to drift", field="sensor_drift"
        )
    out = frame.copy()
    rows = mine.to_numpy()
    values = out["value"].to_numpy(dtype=np.float64, copy=True)
    values[rows] += drift.offset(out.loc[rows, "ts"])
    out["value"] = values
    return out
