"""Exponentially weighted mean squares of regression residuals and differences.

Each standardised variable ``z_j`` is regressed on all the others (ridge), which is
what the precision matrix ``Θ = (C + ridge I)⁻¹`` of the training correlation ``C``
gives at once: the residual is ``e_j = (Θ z)_j / Θ_jj``.  A residual breaks when the
usual relation between variable ``j`` and the rest does, the cue behind faults that
T² and Q of a PCA model dilute among many variables.  Each residual is divided by its
*out-of-sample* standard deviation (blocked cross-validation on the training data:
in-sample residuals of 50 variables fitted on a few hundred samples look too good).
The first difference ``z_t - z_{t-1}`` of each variable, divided by its held-out
root mean square, sees a signal that moves faster than usual, or stops moving (a
sticking valve).  ``levels=True`` adds the standardised variables themselves, for
shifts along the usual correlations; it is off by default because slowly wandering
variables (an hours-long cycle in a few hundred training samples) then dominate the
false alarms.

Every feature ``f`` is smoothed into an exponentially weighted mean square
``v_t = lam f_t² + (1 - lam) v_{t-1}``, started at its normal value 1, and the
statistic is ``Σ (log v)²``: it rises for a shift of the mean (``f²`` grows), for more
variance, and for *less* variance (``log v`` goes negative), while ``log`` keeps a
single feature from drowning the others.  ``lam = 0.1`` is the usual EWMA weight (an
effective memory of about 19 samples).

The control limit is the ``1 - alpha`` quantile of the statistic on held-out normal
data: each contiguous block of the training data is scored by a monitor fitted,
cross-validated scales included, on the other blocks; the first ``1 / lam`` samples of
each block (the smoother still warming up) are left out of the quantile.  The
statistic adds up over variables, so ``contributions`` tell which variables drive an
alarm, and the ``*_ewms`` arrays whether their variance went up (> 1) or down (< 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from shopfloor.errors import ModelError
from shopfloor.estimators import Estimator
from shopfloor.quality.monitoring._common import (
    BoolArray,
    Chart,
    FloatArray,
    as_matrix,
    blocked_folds,
    check_alpha,
    check_folds,
    empirical_limit,
    ewma,
    standardise,
)


@dataclass(frozen=True)
class EwmsScores:
    """The monitored statistic and what each variable adds to it."""

    statistic: Chart
    residual_contributions: FloatArray  # samples x variables: (log v)² of the residual
    difference_contributions: FloatArray  # samples x variables: (log v)² of the difference
    level_contributions: FloatArray  # samples x variables (zeros with levels=False)
    residual_ewms: FloatArray  # samples x variables, normal about 1
    difference_ewms: FloatArray  # samples x variables, normal about 1
    level_ewms: FloatArray  # samples x variables, normal about 1 (ones with levels=False)

    @property
    def alarms(self) -> BoolArray:
        return self.statistic.alarms

    @property
    def contributions(self) -> FloatArray:
        """Per variable, all its features together; rows sum to the statistic."""
        return (
            self.residual_contributions + self.difference_contributions + self.level_contributions
        )

    def top_variables(self, sample: int, k: int = 5) -> tuple[int, ...]:
        """The ``k`` variables that contribute most at ``sample``."""
        return tuple(int(j) for j in np.argsort(-self.contributions[sample])[:k])


@dataclass(frozen=True)
class _Regression:
    """Standardisation, precision matrix and out-of-sample scales of one training set."""

    mean: FloatArray
    scale: FloatArray
    precision: FloatArray
    residual_scale: FloatArray
    difference_scale: FloatArray
    level_scale: FloatArray


def _precision(X: FloatArray, ridge: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    mean, scale = standardise(X)
    Z = (X - mean) / scale
    C = Z.T @ Z / (len(Z) - 1)
    precision = np.asarray(np.linalg.inv(C + ridge * np.eye(C.shape[0])), dtype=np.float64)
    return mean, scale, precision


def _residuals(
    mean: FloatArray, scale: FloatArray, precision: FloatArray, X: FloatArray
) -> tuple[FloatArray, FloatArray]:
    Z = (X - mean) / scale
    return (Z @ precision) / np.diag(precision), Z


def _regression(X: FloatArray, ridge: float, folds: int) -> _Regression:
    """The model on all of ``X``, with residual and level scales from held-out blocks."""
    n, p = X.shape
    squares = np.zeros((3, p))
    counts = np.array([[n], [n - len(blocked_folds(n, folds))], [n]], dtype=np.float64)
    for start, stop in blocked_folds(n, folds):
        keep = np.r_[0:start, stop:n]
        E, Z = _residuals(*_precision(X[keep], ridge), X[start:stop])
        squares += [
            np.sum(E**2, axis=0),
            np.sum(np.diff(Z, axis=0) ** 2, axis=0),
            np.sum(Z**2, axis=0),
        ]
    residual, difference, level = np.maximum(np.sqrt(squares / counts), 1e-12)
    return _Regression(*_precision(X, ridge), residual, difference, level)


class EwmsMonitor(Estimator):
    """Log-EWMS of cross-validated regression residuals and differences (module docstring)."""

    def __init__(
        self,
        *,
        lam: float = 0.1,
        alpha: float = 0.05,
        folds: int = 5,
        ridge: float = 0.01,
        levels: bool = False,
    ) -> None:
        self.lam = lam
        self.alpha = alpha
        self.folds = folds
        self.ridge = ridge
        self.levels = levels

    def _check_params(self) -> None:
        if not 0.0 < float(self.lam) <= 1.0:
            raise ModelError(f"lam must be in (0, 1], not {self.lam}")
        if float(self.ridge) < 0.0:
            raise ModelError(f"ridge must be >= 0, not {self.ridge}")

    def _log_ewms(self, model: _Regression, X: FloatArray) -> FloatArray:
        """``log v`` of the residuals, differences and levels: 3 x samples x variables.

        Levels are all zero (``v`` = 1) with ``levels=False``; the difference of the
        first sample, which has no predecessor here, counts as normal.
        """
        E, Z = _residuals(model.mean, model.scale, model.precision, X)
        lam = float(self.lam)
        steps = np.ones_like(Z)
        steps[1:] = (np.diff(Z, axis=0) / model.difference_scale) ** 2
        out = np.zeros((3, *Z.shape))
        out[0] = np.log(ewma((E / model.residual_scale) ** 2, lam, 1.0))
        out[1] = np.log(ewma(steps, lam, 1.0))
        if self.levels:
            out[2] = np.log(ewma((Z / model.level_scale) ** 2, lam, 1.0))
        return out

    def _statistic(self, model: _Regression, X: FloatArray) -> FloatArray:
        return np.asarray(np.sum(self._log_ewms(model, X) ** 2, axis=(0, 2)))

    def fit(self, X: Any) -> Self:
        """Learn normal operation from ``X`` (samples x variables, normal data only)."""
        alpha = check_alpha(self.alpha)
        self._check_params()
        data = as_matrix(X)
        n, p = data.shape
        folds = check_folds(self.folds, n)
        burn = math.ceil(1.0 / float(self.lam))
        held: list[FloatArray] = []
        for start, stop in blocked_folds(n, folds):
            keep = np.r_[0:start, stop:n]
            model = _regression(data[keep], float(self.ridge), folds)
            held.append(self._statistic(model, data[start:stop])[burn:])
        self.burn_in_ = burn
        self.limit_ = empirical_limit(np.concatenate(held), alpha)
        model = _regression(data, float(self.ridge), folds)
        self.mean_ = model.mean
        self.scale_ = model.scale
        self.precision_ = model.precision
        self.residual_scale_ = model.residual_scale
        self.difference_scale_ = model.difference_scale
        self.level_scale_ = model.level_scale
        self.n_features_in_ = p
        return self

    def _model(self) -> _Regression:
        return _Regression(
            self.mean_,
            self.scale_,
            self.precision_,
            self.residual_scale_,
            self.difference_scale_,
            self.level_scale_,
        )

    def score(self, X: Any) -> EwmsScores:
        """The statistic of each sample of ``X``, a contiguous run started in normal state."""
        self._check_fitted()
        data = as_matrix(X, n_features=self.n_features_in_)
        logs = self._log_ewms(self._model(), data)
        parts = logs**2
        return EwmsScores(
            statistic=Chart.of("EWMS", np.sum(parts, axis=(0, 2)), self.limit_),
            residual_contributions=parts[0],
            difference_contributions=parts[1],
            level_contributions=parts[2],
            residual_ewms=np.exp(logs[0]),
            difference_ewms=np.exp(logs[1]),
            level_ewms=np.exp(logs[2]),
        )
