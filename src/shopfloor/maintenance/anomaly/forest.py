"""Isolation forest (scikit-learn) on the robustly standardised signals.

A forest isolates rows with few random splits when they are unlike the training rows,
whatever the shape of normal.  It says *that* a row is odd, not *which* signal: the
explanation (expected value, deviation in sigmas) comes from the per-signal robust
normal, the same as :class:`RobustBaseline` without context.
"""

from __future__ import annotations

import numpy as np

from shopfloor.maintenance.anomaly._base import AnomalyDetector, Evaluation, robust_scale
from shopfloor.maintenance.results import FloatArray


class IsolationForestDetector(AnomalyDetector):
    """``sklearn.ensemble.IsolationForest``; score = minus its ``score_samples``."""

    def __init__(
        self,
        *,
        n_estimators: int = 200,
        max_samples: int | float | str = "auto",
        window: int = 1,
        false_alarm_rate: float = 0.01,
        margin: float = 1.0,
        calibration_folds: int = 0,
        seed: int | None = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.window = window
        self.false_alarm_rate = false_alarm_rate
        self.margin = margin
        self.calibration_folds = calibration_folds
        self.seed = seed

    def _min_rows(self) -> int:
        return 8

    def _fit_model(self, Z: FloatArray, C: FloatArray | None) -> None:
        from sklearn.ensemble import IsolationForest

        from shopfloor.estimators import local_rng

        self.median_, self.sigma_ = robust_scale(Z)
        # scikit-learn wants an int seed; draw it from the estimator's own generator.
        seed = int(local_rng(self.seed).integers(2**31 - 1))
        self.forest_ = IsolationForest(
            n_estimators=int(self.n_estimators),
            max_samples=self.max_samples,
            random_state=seed,
        ).fit(self._standard(Z))

    def _standard(self, Z: FloatArray) -> FloatArray:
        return np.asarray(np.nan_to_num((Z - self.median_) / self.sigma_, nan=0.0))

    def _evaluate(self, Z: FloatArray, C: FloatArray | None) -> Evaluation:
        standard = self._standard(Z)
        score = -np.asarray(self.forest_.score_samples(standard), dtype=np.float64)
        score = np.where(np.isfinite(Z).all(axis=1), score, np.nan)
        expected = np.broadcast_to(self.median_, Z.shape).copy()
        return score, expected, (Z - self.median_) / self.sigma_
