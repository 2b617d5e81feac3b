"""Prediction intervals for RUL by binned ("Mondrian") split conformal prediction.

Errors grow with the predicted RUL: near failure the signals are loud and a model is
sure to a few cycles, early in life it can be off by tens.  One residual quantile for
all predictions would be too wide near failure and too narrow far from it.  So the
out-of-fold predictions are cut into ``n_bins`` bins of predicted RUL (equal counts)
and each bin gets its own lower and upper residual quantile, with the usual
finite-sample correction.  Signed quantiles (not ``|residual|``) keep the interval
honest where the error is lopsided, e.g. at the cap, where truth cannot be higher.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError
from shopfloor.estimators import Estimator

FloatArray = npt.NDArray[np.float64]


def _conformal_quantile(values: FloatArray, q: float) -> float:
    """The ``ceil((n + 1) q) / n`` empirical quantile (split-conformal correction)."""
    n = len(values)
    level = min(1.0, np.ceil((n + 1) * q) / n) if q > 0.5 else max(0.0, np.floor((n + 1) * q) / n)
    return float(np.quantile(values, level, method="higher" if q > 0.5 else "lower"))


class BinnedConformal(Estimator):
    """Per-bin residual quantiles learned from out-of-sample predictions."""

    def __init__(self, *, level: float = 0.9, n_bins: int = 4, min_per_bin: int = 30) -> None:
        self.level = level
        self.n_bins = n_bins
        self.min_per_bin = min_per_bin

    def fit(self, predicted: npt.ArrayLike, actual: npt.ArrayLike) -> Self:
        pred = np.asarray(predicted, dtype=np.float64)
        truth = np.asarray(actual, dtype=np.float64)
        if pred.shape != truth.shape or pred.ndim != 1 or len(pred) == 0:
            raise InputError("conformal calibration needs matching, non-empty 1-D arrays")
        if not 0.0 < self.level < 1.0:
            raise InputError(f"interval level must be in (0, 1), got {self.level}", field="level")
        bins = max(1, min(self.n_bins, len(pred) // max(self.min_per_bin, 1)))
        edges = np.quantile(pred, np.linspace(0, 1, bins + 1)[1:-1]) if bins > 1 else np.zeros(0)
        # Tied predictions can make equal edges: keep distinct ones (fewer bins).
        edges = np.unique(edges)
        bins = len(edges) + 1
        which = np.searchsorted(edges, pred, side="right")
        alpha = 1.0 - self.level
        low = np.empty(bins)
        high = np.empty(bins)
        for b in range(bins):
            in_bin = which == b
            # A (nearly) empty bin borrows every residual rather than invent a width.
            if in_bin.sum() < max(2, self.min_per_bin // 3):
                in_bin = np.ones_like(in_bin)
            residual = truth[in_bin] - pred[in_bin]
            low[b] = _conformal_quantile(residual, alpha / 2)
            high[b] = _conformal_quantile(residual, 1 - alpha / 2)
        self.edges_ = edges
        self.low_ = low
        self.high_ = high
        return self

    def interval(self, predicted: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Lower and upper bounds around ``predicted`` (lower never below 0)."""
        self._check_fitted()
        pred = np.asarray(predicted, dtype=np.float64)
        which = np.searchsorted(self.edges_, pred, side="right")
        lower = np.maximum(pred + self.low_[which], 0.0)
        upper = np.maximum(pred + self.high_[which], lower)
        return lower, upper
