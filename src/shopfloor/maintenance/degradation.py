"""Remaining useful life from a machine's health-score trend, with a calibrated interval.

Wear shows as a health score (:class:`~shopfloor.maintenance.condition.ConditionMonitor`)
that grows roughly exponentially as a fault develops (the convex end of a P-F curve).
:class:`DegradationRul` fits, per unit and over a trailing window, a straight line to
the log of the score and extrapolates it to the level at which this fleet's machines
failed; the interval comes from the spread of the same extrapolation's errors on past
lives that ran to failure (split-conformal on the log of the ratio, so the interval
widens with the horizon as it should).  It needs few failures to learn from, which is
what a plant has, and every number in it can be explained to a maintenance planner.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.estimators import Estimator
from shopfloor.maintenance.results import RulPrediction

_FLOOR = 0.05  # a score this small is "no measurable wear"; keeps log() finite


def _trend(
    frame: pd.DataFrame, unit: str, time: str, score: str, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: log-score level and slope over the trailing ``window`` rows of its unit."""
    y = np.log(np.maximum(frame[score].to_numpy(dtype=np.float64), _FLOOR))
    t = frame[time].to_numpy(dtype=np.float64)
    keys = frame[unit].to_numpy()
    work = pd.DataFrame({"k": keys, "t": t, "y": y, "ty": t * y, "tt": t * t})
    rolled = work.groupby("k", sort=False)[["t", "y", "ty", "tt"]].rolling(window, min_periods=3)
    sums = rolled.sum().reset_index(level=0, drop=True).sort_index()
    counts = (
        work.groupby("k", sort=False)["t"]
        .rolling(window, min_periods=1)
        .count()
        .reset_index(level=0, drop=True)
        .sort_index()
    )
    n = counts.to_numpy(dtype=np.float64)
    st, sy, sty, stt = (sums[c].to_numpy(dtype=np.float64) for c in ("t", "y", "ty", "tt"))
    denominator = n * stt - st * st
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(denominator > 0, (n * sty - st * sy) / denominator, 0.0)
        level = (sy - slope * st) / n + slope * t  # fitted value at the row's own time
    return np.nan_to_num(level, nan=y), np.nan_to_num(slope, nan=0.0), t


class DegradationRul(Estimator):
    """RUL by extrapolating the health-score trend to the fleet's failure level.

    ``fit(frame, rul)``: rows of units (machine lives) in time order with a ``score``
    column; ``rul`` is each row's time to failure (``nan`` for lives that did not end in
    a failure: they still teach the failure level nothing, but they are not errors).
    ``predict(frame)``: one :class:`RulPrediction` row per unit at its last time.
    """

    def __init__(
        self,
        *,
        unit: str = "unit",
        time: str = "time",
        score: str = "score",
        window: int = 24,
        horizon: float = 720.0,
        level: float = 0.9,
    ) -> None:
        self.unit = unit
        self.time = time
        self.score = score
        self.window = window
        self.horizon = horizon
        self.level = level

    def _check(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in (self.unit, self.time, self.score) if c not in frame.columns]
        if missing:
            raise InputError(f"RUL data lacks column(s) {', '.join(missing)}", field=missing[0])
        return frame.sort_values([self.unit, self.time], kind="stable").reset_index(drop=True)

    def _extrapolate(self, frame: pd.DataFrame) -> np.ndarray:
        level, slope, _ = _trend(frame, self.unit, self.time, self.score, self.window)
        gap = np.log(self.failure_level_) - level
        with np.errstate(divide="ignore", invalid="ignore"):
            # Rising trend: time until the fitted line crosses the failure level.
            hours = np.where(slope > 1e-6, gap / slope, self.horizon)
        hours = np.where(gap <= 0, 0.0, hours)
        return np.asarray(np.clip(np.nan_to_num(hours, nan=self.horizon), 0.0, self.horizon))

    def fit(self, frame: pd.DataFrame, rul: np.ndarray) -> DegradationRul:
        data = self._check(frame.assign(_rul=np.asarray(rul, dtype=np.float64)))
        target = data["_rul"].to_numpy()
        failed = np.isfinite(target)
        if not failed.any():
            raise InputError("no life in the training data ended in a failure", field="rul")
        # The failure level: the score the fleet showed in its last hours before failing.
        last = failed & (target <= max(self.window / 4, 1.0))
        base = data.loc[last, self.score] if last.any() else data.loc[failed, self.score]
        self.failure_level_ = float(max(np.nanmedian(base.to_numpy(dtype=np.float64)), 1.0))
        predicted = self._extrapolate(data)
        usable = failed & (target > 0) & (target < self.horizon)
        if usable.sum() < 5:
            raise InputError("fewer than 5 rows before a failure to calibrate on", field="rul")
        # Errors as log ratios: a 20 % miss matters the same at 10 h and at 200 h.
        ratio = np.log((target[usable] + 1.0) / (predicted[usable] + 1.0))
        alpha = 1.0 - self.level
        n = ratio.size
        rank = min(int(np.ceil((n + 1) * (1 - alpha / 2))), n) - 1
        low_rank = max(int(np.floor((n + 1) * (alpha / 2))) - 1, 0)
        ordered = np.sort(ratio)
        self.bias_ = float(np.median(ratio))
        self.lower_ratio_ = float(ordered[low_rank])
        self.upper_ratio_ = float(ordered[rank])
        self.calibration_rows_ = int(n)
        return self

    def predict(self, frame: pd.DataFrame) -> RulPrediction:
        self._check_fitted()
        data = self._check(frame)
        if data.empty:
            empty = np.zeros(0)
            return RulPrediction(np.array([], dtype=object), empty, empty, empty, self.level)
        hours = self._extrapolate(data)
        last = ~data[self.unit].duplicated(keep="last").to_numpy()
        base = hours[last] + 1.0

        def scaled(ratio: float) -> np.ndarray:
            return np.asarray(np.clip(base * np.exp(ratio) - 1.0, 0.0, self.horizon))

        return RulPrediction(
            unit=data.loc[last, self.unit].to_numpy(dtype=object),
            rul=scaled(self.bias_),
            lower=scaled(self.lower_ratio_),
            upper=scaled(self.upper_ratio_),
            level=self.level,
        )
