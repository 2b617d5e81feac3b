"""Condition monitoring of one machine: its signals against their normal for the current speed.

A machine's vibration, current, noise and temperature depend first on what it is doing
(a spindle at full speed vibrates more than one idling) and only second on its health.
:class:`ConditionMonitor` learns, from data taken while the machine was known to be
healthy (typically the days after a repair), the normal level of every signal in bins of
the operating context (speed as a share of its nominal), and then reads each new
bucket as a deviation from that normal in sigmas.  Deviations are smoothed over a
period (an hour by default: wear develops over hours, a single bucket is noise), and the
health score is the median of the positive deviations over the signals, so one faulty
sensor (a stuck value, a unit change) cannot raise an alarm on its own while wear, which
shows on several signals at once, does.

The threshold is calibrated on the normal data to a target false-alarm rate (its
quantile of the smoothed score, times a margin for the optimism of in-sample data).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.estimators import Estimator
from shopfloor.maintenance.results import AnomalyScores

_EPS = 1e-9


class ConditionMonitor(Estimator):
    """Per-machine, speed-conditioned robust baseline with a smoothed health score.

    ``fit(X)`` takes normal data only: a frame indexed by timestamp with the context
    column and the signal columns (bucket medians, e.g. every 10 minutes).
    ``score(X)`` returns :class:`AnomalyScores` with one row per smoothing period.
    """

    def __init__(
        self,
        *,
        context: str = "speed",
        signals: tuple[str, ...] | None = None,
        bins: int = 10,
        min_context: float = 0.2,
        log_scale: bool = True,
        smoothing: str = "1h",
        false_alarm_rate: float = 0.005,
        margin: float = 1.5,
        min_threshold: float = 1.0,
        min_rows: int = 30,
    ) -> None:
        self.context = context
        self.signals = signals
        self.bins = bins
        self.min_context = min_context
        self.log_scale = log_scale
        self.smoothing = smoothing
        self.false_alarm_rate = false_alarm_rate
        self.margin = margin
        self.min_threshold = min_threshold
        self.min_rows = min_rows

    # -- helpers ------------------------------------------------------------------------
    def _transform(self, values: pd.DataFrame) -> pd.DataFrame:
        if not self.log_scale:
            return values
        # log makes multiplicative wear effects (vibration x1.5) additive and comparable
        return values.clip(lower=_EPS).apply(np.log)

    def _inverse(self, values: pd.DataFrame) -> pd.DataFrame:
        return values.apply(np.exp) if self.log_scale else values

    def _bin(self, context: pd.Series, nominal: float) -> pd.Series:
        share = context / max(nominal, _EPS)
        return (share * self.bins).round().clip(0, self.bins + 1).astype(int)

    def _check(self, X: pd.DataFrame) -> None:
        if not isinstance(X, pd.DataFrame) or not isinstance(X.index, pd.DatetimeIndex):
            raise InputError("condition data must be a frame indexed by timestamp", field="ts")
        missing = [c for c in [self.context, *(self.signals or ())] if c not in X.columns]
        if missing:
            raise InputError(f"condition data lacks column(s) {', '.join(missing)}", field="signal")

    def _usable(self, X: pd.DataFrame, nominal: float) -> pd.DataFrame:
        context = X[self.context].astype(float)
        keep = np.isfinite(context) & (context >= self.min_context * nominal)
        return X.loc[keep]

    # -- contract -----------------------------------------------------------------------
    def fit(self, X: pd.DataFrame) -> ConditionMonitor:
        self._check(X)
        signals = list(self.signals or (c for c in X.columns if c != self.context))
        context = X[self.context].astype(float)
        nominal = float(np.nanquantile(context, 0.99)) if context.notna().any() else 0.0
        usable = self._usable(X, nominal)
        if len(usable) < self.min_rows or nominal <= 0:
            raise InputError(
                f"only {len(usable)} rows of normal operation above {self.min_context:.0%} "
                f"of nominal {self.context}; need {self.min_rows}",
                field=self.context,
            )
        bins = self._bin(usable[self.context], nominal)
        values = self._transform(usable[signals].astype(float))
        centre = values.groupby(bins).median()
        # Bins never seen while healthy borrow the nearest seen bin's normal.
        centre = centre.reindex(range(self.bins + 2)).interpolate(limit_direction="both")
        residual = values - centre.loc[bins.to_numpy()].set_axis(values.index)
        scale = 1.4826 * residual.abs().median()
        # A signal that never moves (a constant channel) must not divide by ~zero.
        floor = np.maximum(1e-3 * values.abs().median(), 1e-6)
        self.signals_ = tuple(signals)
        self.nominal_ = nominal
        self.centre_ = centre
        self.scale_ = scale.where(scale > floor, floor).fillna(1.0)
        normal_score = self._score_frame(usable)[0]
        finite = normal_score[np.isfinite(normal_score)]
        quantile = float(np.quantile(finite, 1.0 - self.false_alarm_rate)) if finite.size else 1.0
        self.threshold_ = max(quantile * self.margin, self.min_threshold)
        return self

    def _score_frame(
        self, X: pd.DataFrame
    ) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame, pd.Index]:
        usable = self._usable(X, self.nominal_)
        signals = list(self.signals_)
        if usable.empty:
            empty = pd.DataFrame(columns=signals, dtype=float)
            return np.zeros(0), empty, empty, pd.DatetimeIndex([], tz="UTC")
        bins = self._bin(usable[self.context], self.nominal_).to_numpy()
        values = self._transform(usable[signals].astype(float))
        centre = self.centre_.loc[bins].set_axis(values.index)
        sigma = (values - centre) / self.scale_
        expected = self._inverse(centre)
        period = pd.DatetimeIndex(usable.index).floor(self.smoothing)
        sigma_s = sigma.groupby(period).median()
        expected_s = expected.groupby(period).median()
        score = sigma_s.clip(lower=0.0).median(axis=1, skipna=True).to_numpy(dtype=np.float64)
        return score, sigma_s, expected_s, sigma_s.index

    def score(self, X: pd.DataFrame) -> AnomalyScores:
        self._check_fitted()
        self._check(X)
        score, sigma, expected, index = self._score_frame(X)
        return AnomalyScores(
            index=index,
            score=score,
            threshold=self.threshold_,
            is_anomaly=np.asarray(score > self.threshold_, dtype=np.bool_),
            deviation_sigma=sigma,
            expected=expected,
        )

    def smoothed(self, X: pd.DataFrame) -> pd.DataFrame:
        """Observed values over the smoothing periods of :meth:`score` (for explanations)."""
        self._check_fitted()
        usable = self._usable(X, self.nominal_)
        period = pd.DatetimeIndex(usable.index).floor(self.smoothing)
        return usable[list(self.signals_)].groupby(period).median()


class FleetConditionMonitor(Estimator):
    """One :class:`ConditionMonitor` per asset, cloned from ``template``.

    ``fit(X)`` takes normal rows of many assets (an ``asset`` column names each row's
    machine); ``score(X)`` returns the scores of every asset it knows.
    """

    def __init__(self, *, template: ConditionMonitor | None = None, asset: str = "asset") -> None:
        self.template = template
        self.asset = asset

    def fit(self, X: pd.DataFrame) -> FleetConditionMonitor:
        if self.asset not in X.columns:
            raise InputError(f"condition data lacks the '{self.asset}' column", field=self.asset)
        template = self.template or ConditionMonitor()
        monitors: dict[str, ConditionMonitor] = {}
        for name, rows in X.groupby(self.asset, sort=True):
            monitors[str(name)] = template.clone().fit(rows.drop(columns=[self.asset]))
        if not monitors:
            raise InputError("no normal data to learn from", field=self.asset)
        self.monitors_ = monitors
        return self

    def score(self, X: pd.DataFrame) -> dict[str, AnomalyScores]:
        self._check_fitted()
        out: dict[str, AnomalyScores] = {}
        for name, rows in X.groupby(self.asset, sort=True):
            monitor = self.monitors_.get(str(name))
            if monitor is not None:
                out[str(name)] = monitor.score(rows.drop(columns=[self.asset]))
        return out
