"""PCA T² + Q (squared prediction error): the classical multivariate process monitor.

Signals are standardised on the training data; the principal subspace keeps enough
components to explain ``variance`` of it.  Hotelling's T² measures an unusual position
inside the subspace (all signals moving together too far), Q the distance off it (the
usual correlation between signals broken).  Each statistic is divided by its own
training quantile at the target rate, so the row score ``max(T²/t, Q/q)`` exceeds 1
when either does, as the two-chart monitor alarms.  The explanation is per signal:
the expected value is the nearest state the model calls normal (the row projected on
the subspace, pulled back towards the mean until its T² is within the limit), and the
deviation is ``observed - expected`` in training standard deviations of that signal.
Projection alone would explain a T² alarm by nothing: a signal that moves along its
own component is reconstructed perfectly, however far it went.
"""

from __future__ import annotations

import numpy as np

from shopfloor.maintenance.anomaly._base import AnomalyDetector, Evaluation
from shopfloor.maintenance.results import FloatArray


class PcaT2Q(AnomalyDetector):
    """Hotelling T² and Q of a PCA model of normal operation."""

    def __init__(
        self,
        *,
        variance: float = 0.85,
        window: int = 1,
        false_alarm_rate: float = 0.01,
        margin: float = 1.0,
        calibration_folds: int = 0,
    ) -> None:
        self.variance = variance
        self.window = window
        self.false_alarm_rate = false_alarm_rate
        self.margin = margin
        self.calibration_folds = calibration_folds

    def _min_rows(self) -> int:
        return 4

    def _statistics(self, Z: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """T², Q and the subspace scores of every row."""
        standard = (np.nan_to_num(Z - self.mean_, nan=0.0)) / self.scale_
        # einsum, not a BLAS matmul: a row's result must not depend on how many rows are
        # multiplied with it (streaming == batch, bit for bit).
        scores = np.einsum("nc,kc->nk", standard, self.components_)
        t2 = np.sum(scores**2 / self.eigenvalues_, axis=1)
        back = np.einsum("nk,kc->nc", scores, self.components_)
        q = np.sum((standard - back) ** 2, axis=1)
        return t2, q, scores

    def _fit_model(self, Z: FloatArray, C: FloatArray | None) -> None:
        self.mean_ = np.nanmean(Z, axis=0)
        std = np.nanstd(Z, axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        standard = np.nan_to_num((Z - self.mean_) / self.scale_, nan=0.0)
        # SVD of the standardised training rows: right singular vectors are the axes.
        _, singular, vt = np.linalg.svd(standard, full_matrices=False)
        eigen = singular**2 / max(standard.shape[0] - 1, 1)
        explained = np.cumsum(eigen) / max(float(eigen.sum()), 1e-12)
        k = int(np.searchsorted(explained, float(self.variance)) + 1)
        k = min(max(k, 1), vt.shape[0])
        self.components_ = vt[:k]
        self.eigenvalues_ = np.maximum(eigen[:k], 1e-12)
        t2, q, _ = self._statistics(Z)
        level = 1.0 - float(self.false_alarm_rate)
        self.t2_limit_ = max(float(np.quantile(t2, level)), 1e-12)
        self.q_limit_ = max(float(np.quantile(q, level)), 1e-12)

    def _evaluate(self, Z: FloatArray, C: FloatArray | None) -> Evaluation:
        t2, q, scores = self._statistics(Z)
        score = np.maximum(t2 / self.t2_limit_, q / self.q_limit_)
        score = np.where(np.isfinite(Z).all(axis=1), score, np.nan)
        shrink = np.sqrt(np.minimum(1.0, self.t2_limit_ / np.maximum(t2, 1e-300)))
        pulled = np.einsum("nk,kc->nc", shrink[:, None] * scores, self.components_)
        expected = pulled * self.scale_ + self.mean_
        return score, expected, (Z - expected) / self.scale_
