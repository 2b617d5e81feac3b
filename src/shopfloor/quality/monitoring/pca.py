"""PCA and dynamic PCA monitors: Hotelling's T² and the squared prediction error Q.

Variables are standardised on normal operation; the principal subspace keeps
``n_components`` or the fewest components explaining ``variance`` of it.  T² is the
Mahalanobis distance of the scores inside the subspace, Q (SPE) the squared distance
off it.  Limits at false-alarm rate ``alpha``:

- ``limits="theory"``: T² from the F distribution for a new observation,
  ``a (n² - 1) / (n (n - a)) F(a, n - a)``; Q from Jackson and Mudholkar (1979), the
  normal approximation on the residual eigenvalues (MacGregor and Kourti 1995);
- ``limits="empirical"``: the ``1 - alpha`` quantile of T² and Q of held-out normal
  data, from blocked cross-validation (each contiguous period scored by a model fitted
  without it), which includes what over-fitting the training data adds.

The combined chart alarms when T² or Q exceeds its *joint* limit, set so that the two
together alarm at rate ``alpha``: Šidák levels ``1 - (1 - alpha)^(1/2)`` for the theory
(T² and Q are independent for Gaussian data), a common empirical level otherwise
(:func:`~shopfloor.quality.monitoring._common.joint_limits`).

Dynamic PCA (Ku, Storer and Georgakakis 1995) runs the same model on each sample
stacked with its ``lags`` predecessors; the first ``lags`` samples of a scored block
have no statistic (NaN, never an alarm).

Contributions per variable add up to the statistic: for Q the squared residual of
each variable, for T² the squares of ``P Λ^(-1/2) Pᵀ z`` (Alcala and Qin 2011 call it
the diagonal decomposition); dynamic PCA sums them over the lags of each variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from shopfloor.errors import InputError, ModelError
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
    joint_limits,
    standardise,
)

LIMIT_METHODS = ("theory", "empirical")


@dataclass(frozen=True)
class PcaScores:
    """T², Q and their combination for every sample, with per-variable contributions."""

    t2: Chart
    q: Chart
    combined: Chart  # max(T² / joint T² limit, Q / joint Q limit), limit 1
    t2_contributions: FloatArray  # samples x variables, rows sum to T²
    q_contributions: FloatArray  # samples x variables, rows sum to Q

    @property
    def alarms(self) -> BoolArray:
        return self.combined.alarms

    def top_variables(self, sample: int, k: int = 5) -> tuple[int, ...]:
        """The ``k`` variables that contribute most to T² + Q (each scaled by its limit)."""
        share = self.t2_contributions[sample] / self.t2.limit
        if self.q.limit > 0:
            share = share + self.q_contributions[sample] / self.q.limit
        return tuple(int(j) for j in np.argsort(-np.nan_to_num(share))[:k])


class PcaMonitor(Estimator):
    """Hotelling T² and Q of a PCA model of normal operation (see the module docstring)."""

    def __init__(
        self,
        *,
        n_components: int | None = None,
        variance: float = 0.9,
        alpha: float = 0.05,
        limits: str = "theory",
        folds: int = 5,
    ) -> None:
        self.n_components = n_components
        self.variance = variance
        self.alpha = alpha
        self.limits = limits
        self.folds = folds

    # --- the design matrix: one row per sample (PCA) or per lagged window (DPCA) ---
    def _lags(self) -> int:
        return 0

    def _design(self, X: FloatArray) -> FloatArray:
        return X

    # --- the model ---
    def _fit_design(self, D: FloatArray) -> None:
        n, p = D.shape
        self.mean_, self.scale_ = standardise(D)
        Z = (D - self.mean_) / self.scale_
        # eigen-decomposition of the p x p correlation: cheaper than an SVD of the data
        values, vectors = np.linalg.eigh(Z.T @ Z / (n - 1))
        order = np.argsort(values)[::-1]
        eigen = np.maximum(values[order], 0.0)
        vt = vectors[:, order].T
        if self.n_components is not None:
            a = int(self.n_components)
        else:
            explained = np.cumsum(eigen) / max(float(eigen.sum()), 1e-300)
            a = int(np.searchsorted(explained, float(self.variance) - 1e-12) + 1)
        a = min(max(a, 1), p, n - 2)
        self.n_components_ = a
        self.components_ = vt[:a].T  # design variables x components
        self.eigenvalues_ = np.maximum(eigen[:a], 1e-12)
        self.residual_eigenvalues_ = eigen[a:]
        self.n_samples_ = n

    def _statistics(self, D: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """T², Q and the standardised design rows."""
        Z = (D - self.mean_) / self.scale_
        scores = Z @ self.components_
        t2 = np.sum(scores**2 / self.eigenvalues_, axis=1)
        q = np.sum((Z - scores @ self.components_.T) ** 2, axis=1)
        return t2, q, Z

    def _theory_limits(self, alpha: float) -> tuple[float, float]:
        from scipy.stats import f, norm

        n, a = self.n_samples_, self.n_components_
        t2 = a * (n - 1) * (n + 1) / (n * (n - a)) * float(f.ppf(1.0 - alpha, a, n - a))
        theta = [float(np.sum(self.residual_eigenvalues_**k)) for k in (1, 2, 3)]
        if theta[1] <= 1e-300:
            return t2, 0.0  # the subspace holds everything: Q is zero
        h0 = 1.0 - 2.0 * theta[0] * theta[2] / (3.0 * theta[1] ** 2)
        c = float(norm.ppf(1.0 - alpha))
        base = (
            c * np.sqrt(2.0 * theta[1] * h0**2) / theta[0]
            + 1.0
            + theta[1] * h0 * (h0 - 1.0) / theta[0] ** 2
        )
        return t2, float(theta[0] * max(base, 0.0) ** (1.0 / h0))

    def _held_out_statistics(self, X: FloatArray) -> FloatArray:
        """T² and Q of each contiguous fold, from a model fitted on the other folds."""
        held: list[FloatArray] = []
        lags = self._lags()
        for start, stop in blocked_folds(len(X), int(self.folds)):
            parts = [X[:start], X[stop:]]
            train = [self._design(s) for s in parts if len(s) > lags]
            if len(X[start:stop]) <= lags or not train:
                continue
            model = self.clone()
            model._fit_design(np.vstack(train))
            t2, q, _ = model._statistics(self._design(X[start:stop]))
            held.append(np.column_stack([t2, q]))
        if not held:
            raise InputError("too few samples per fold for cross-validated limits", field="X")
        return np.vstack(held)

    def fit(self, X: Any) -> Self:
        """Learn normal operation from ``X`` (samples x variables, normal data only)."""
        alpha = check_alpha(self.alpha)
        if self.limits not in LIMIT_METHODS:
            raise ModelError(f"limits must be one of {LIMIT_METHODS}, not {self.limits!r}")
        if not 0.0 < float(self.variance) <= 1.0:
            raise ModelError(f"variance must be in (0, 1], not {self.variance}")
        if self.n_components is not None and int(self.n_components) < 1:
            raise ModelError(f"n_components must be >= 1, not {self.n_components}")
        data = as_matrix(X)
        lags = self._lags()
        if len(data) - lags < 4:
            raise InputError(f"needs at least {lags + 4} samples, got {len(data)}", field="X")
        self._fit_design(self._design(data))
        if self.limits == "theory":
            self.t2_limit_, self.q_limit_ = self._theory_limits(alpha)
            each = 1.0 - (1.0 - alpha) ** 0.5
            self.t2_joint_limit_, self.q_joint_limit_ = self._theory_limits(each)
        else:
            check_folds(self.folds, len(data))
            held = self._held_out_statistics(data)
            self.t2_limit_ = empirical_limit(held[:, 0], alpha)
            self.q_limit_ = empirical_limit(held[:, 1], alpha)
            joint = joint_limits(held, alpha)
            self.t2_joint_limit_, self.q_joint_limit_ = float(joint[0]), float(joint[1])
        self.n_features_in_ = data.shape[1]
        return self

    def score(self, X: Any) -> PcaScores:
        """T², Q, the combined chart and contributions of each sample of ``X``."""
        self._check_fitted()
        data = as_matrix(X, n_features=self.n_features_in_)
        lags = self._lags()
        n, p = data.shape
        t2 = np.full(n, np.nan)
        q = np.full(n, np.nan)
        t2_parts = np.full((n, p), np.nan)
        q_parts = np.full((n, p), np.nan)
        if n > lags:
            t2[lags:], q[lags:], Z = self._statistics(self._design(data))
            P = self.components_
            root = (P / np.sqrt(self.eigenvalues_)) @ P.T
            t2_lagged = (Z @ root) ** 2
            q_lagged = (Z - (Z @ P) @ P.T) ** 2
            # lagged columns are [x_t, x_{t-1}, ...]: add the lags of each variable up
            t2_parts[lags:] = t2_lagged.reshape(len(Z), lags + 1, p).sum(axis=1)
            q_parts[lags:] = q_lagged.reshape(len(Z), lags + 1, p).sum(axis=1)
        q_joint = self.q_joint_limit_
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio_q = q / q_joint if q_joint > 0 else np.where(q > 1e-12, np.inf, 0.0)
            combined = np.maximum(t2 / self.t2_joint_limit_, ratio_q)
        return PcaScores(
            t2=Chart.of("T2", t2, self.t2_limit_),
            q=Chart.of("Q", q, self.q_limit_),
            combined=Chart.of("T2+Q", combined, 1.0),
            t2_contributions=t2_parts,
            q_contributions=q_parts,
        )


class DynamicPcaMonitor(PcaMonitor):
    """PCA T² and Q on each sample stacked with its ``lags`` predecessors (DPCA)."""

    def __init__(
        self,
        *,
        lags: int = 2,
        n_components: int | None = None,
        variance: float = 0.9,
        alpha: float = 0.05,
        limits: str = "theory",
        folds: int = 5,
    ) -> None:
        super().__init__(
            n_components=n_components,
            variance=variance,
            alpha=alpha,
            limits=limits,
            folds=folds,
        )
        self.lags = lags

    def _lags(self) -> int:
        if int(self.lags) < 0:
            raise ModelError(f"lags must be >= 0, not {self.lags}")
        return int(self.lags)

    def _design(self, X: FloatArray) -> FloatArray:
        lags = self._lags()
        n = len(X)
        return np.hstack([X[lags - k : n - k] for k in range(lags + 1)])
