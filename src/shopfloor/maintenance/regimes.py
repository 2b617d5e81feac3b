"""Operating regimes and per-regime normalisation.

A machine that runs at several operating points (altitude and throttle of an engine,
speed and product of a press) has sensor readings whose level is set by the operating
point far more than by wear.  :class:`OperatingRegimes` finds those points from the
settings columns, choosing their number itself; :class:`RegimeNormalizer` then
expresses every signal relative to its own regime's normal, which leaves the slow
drift that wear causes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.estimators import Estimator, local_rng

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _as_matrix(x: pd.DataFrame | npt.ArrayLike, what: str) -> FloatArray:
    values = x.to_numpy(dtype=np.float64) if isinstance(x, pd.DataFrame) else np.asarray(x, float)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise InputError(f"{what} must be a table (rows x columns)")
    if not np.all(np.isfinite(values)):
        raise InputError(f"{what} contain missing or infinite values")
    return values


def kmeans(
    x: FloatArray, k: int, rng: np.random.Generator, *, restarts: int = 2, iterations: int = 50
) -> tuple[FloatArray, IntArray, float]:
    """scikit-learn k-means (k-means++ starts): (centres, labels, inertia) of the best start."""
    from sklearn.cluster import KMeans

    model = KMeans(
        n_clusters=k,
        n_init=restarts,
        max_iter=iterations,
        random_state=int(rng.integers(2**31 - 1)),
    ).fit(x)
    centres = np.asarray(model.cluster_centers_, dtype=np.float64)
    return centres, np.asarray(model.labels_, dtype=np.int64), float(model.inertia_)


def silhouette(x: FloatArray, labels: IntArray) -> float:
    """Mean silhouette coefficient (Euclidean); 0 for a single cluster."""
    from sklearn.metrics import silhouette_score

    if len(np.unique(labels)) < 2:
        return 0.0
    return float(silhouette_score(x, labels))


class OperatingRegimes(Estimator):
    """Clusters of the settings columns; the number of clusters is chosen from the data.

    Settings are standardised (columns without spread are ignored), then k-means runs
    for ``k = 2 .. max_regimes`` on a sample of rows.  The ``k`` with the best
    silhouette is kept only if that silhouette reaches ``min_silhouette``: distinct
    operating points give tight, far-apart clusters (silhouette near 1), while noise
    around a single operating point stays near 0.5 (up to about 0.6 for uniform noise
    on one axis), so one regime wins.
    """

    def __init__(
        self,
        *,
        max_regimes: int = 10,
        min_silhouette: float = 0.8,
        sample_size: int = 1500,
        seed: int | None = 0,
    ) -> None:
        self.max_regimes = max_regimes
        self.min_silhouette = min_silhouette
        self.sample_size = sample_size
        self.seed = seed

    def fit(self, settings: pd.DataFrame | npt.ArrayLike) -> Self:
        x = _as_matrix(settings, "settings")
        if x.shape[0] == 0:
            raise InputError("no rows to find operating regimes in")
        self.n_features_in_ = x.shape[1]
        centre = x.mean(axis=0)
        scale = x.std(axis=0)
        # A column is "constant" when its spread is negligible next to its level.
        varying = scale > 1e-9 * np.maximum(np.abs(centre), 1.0)
        self.centre_ = centre
        self.scale_ = np.where(varying, scale, 1.0)
        self.varying_ = varying
        z = self._standardise(x)
        rng = local_rng(self.seed)
        sample = z if len(z) <= self.sample_size else z[rng.choice(len(z), self.sample_size, False)]
        distinct = len(np.unique(np.round(sample, 6), axis=0)) if varying.any() else 1
        best_k, best_score, best_centres = 1, -1.0, z.mean(axis=0, keepdims=True)
        self.silhouettes_: dict[int, float] = {}
        for k in range(2, min(self.max_regimes, distinct - 1, len(sample) - 1) + 1):
            centres, labels, _ = kmeans(sample, k, rng)
            if len(np.unique(labels)) < k:
                continue
            score = silhouette(sample, labels)
            self.silhouettes_[k] = score
            if score > best_score:
                best_k, best_score, best_centres = k, score, centres
        if best_score < self.min_silhouette:
            best_k, best_centres = 1, z.mean(axis=0, keepdims=True)
        # Order regimes by their centres so labels do not depend on k-means' start.
        order = np.lexsort(best_centres.T[::-1])
        self.centers_ = best_centres[order]
        self.n_regimes_ = int(best_k)
        return self

    def _standardise(self, x: FloatArray) -> FloatArray:
        z = (x - self.centre_) / self.scale_
        return np.where(self.varying_, z, 0.0)

    def predict(self, settings: pd.DataFrame | npt.ArrayLike) -> IntArray:
        """Regime label (0 .. n_regimes_-1) of every row: the nearest regime centre."""
        self._check_fitted()
        x = _as_matrix(settings, "settings")
        if x.shape[1] != self.n_features_in_:
            raise InputError(f"expected {self.n_features_in_} settings columns, got {x.shape[1]}")
        if self.n_regimes_ == 1:
            return np.zeros(len(x), dtype=np.int64)
        z = self._standardise(x)
        distance = ((z[:, None, :] - self.centers_[None, :, :]) ** 2).sum(axis=2)
        return np.asarray(distance.argmin(axis=1), dtype=np.int64)


class RegimeNormalizer(Estimator):
    """Per regime and column: ``(value - centre) / scale``.

    Centre and scale are the regime's mean and standard deviation; the variance is
    shrunk towards the pooled within-regime variance when the regime has few rows
    (weight ``n / (n + shrink_rows)``), so a regime seen a handful of times does not
    get a noisy scale.  A scale that is
    (nearly) zero falls back to the all-rows scale, then to 1.  Rows of a regime never
    seen in fit use the all-rows centre and scale.
    """

    def __init__(self, *, shrink_rows: int = 30) -> None:
        self.shrink_rows = shrink_rows

    def fit(self, x: pd.DataFrame | npt.ArrayLike, regimes: npt.ArrayLike) -> Self:
        values = _as_matrix(x, "signals")
        labels = np.asarray(regimes, dtype=np.int64)
        if labels.shape != (values.shape[0],):
            raise InputError("need one regime label per row")
        if values.shape[0] == 0:
            raise InputError("no rows to normalise")
        self.columns_ = list(x.columns) if isinstance(x, pd.DataFrame) else None
        overall_centre = values.mean(axis=0)
        overall_scale = values.std(axis=0)
        tiny = 1e-9 * np.maximum(np.abs(overall_centre), 1.0)
        overall_scale = np.where(overall_scale > tiny, overall_scale, 1.0)
        n_regimes = int(labels.max()) + 1 if labels.size else 1
        centre = np.tile(overall_centre, (n_regimes, 1))
        scale = np.tile(overall_scale, (n_regimes, 1))
        present = np.unique(labels)
        for regime in present:
            centre[regime] = values[labels == regime].mean(axis=0)
        # Pooled within-regime variance: the fallback spread of a regime seen rarely.
        # (The centre is never shrunk: regimes can sit far apart, and a mean of a few
        # rows is still unbiased; only the spread of a few rows is unreliable.)
        residual = values - centre[labels]
        pooled = residual.var(axis=0) * len(values) / max(len(values) - len(present), 1)
        pooled = np.where(pooled > tiny**2, pooled, overall_scale**2)
        for regime in present:
            rows = labels == regime
            n = int(rows.sum())
            weight = n / (n + self.shrink_rows)
            spread = np.sqrt(weight * residual[rows].var(axis=0) + (1 - weight) * pooled)
            scale[regime] = np.where(spread > tiny, spread, overall_scale)
        self.overall_centre_ = overall_centre
        self.overall_scale_ = overall_scale
        self.centre_ = centre
        self.scale_ = scale
        return self

    def transform(self, x: pd.DataFrame | npt.ArrayLike, regimes: npt.ArrayLike) -> FloatArray:
        self._check_fitted()
        values = _as_matrix(x, "signals")
        labels = np.asarray(regimes, dtype=np.int64)
        if values.shape[1] != self.centre_.shape[1]:
            raise InputError(
                f"expected {self.centre_.shape[1]} signal columns, got {values.shape[1]}"
            )
        known = (labels >= 0) & (labels < self.centre_.shape[0])
        safe = np.where(known, labels, 0)
        centre = np.where(known[:, None], self.centre_[safe], self.overall_centre_)
        scale = np.where(known[:, None], self.scale_[safe], self.overall_scale_)
        return np.asarray((values - centre) / scale, dtype=np.float64)


def informative_columns(
    normalised: FloatArray,
    names: Sequence[str],
    regimes: npt.ArrayLike | None = None,
    *,
    min_distinct: int = 3,
    min_spread: float = 1e-6,
) -> list[str]:
    """Columns worth feeding a model: some spread and more than a couple of levels.

    Judged inside each regime (on regime-normalised values), so a channel that only
    follows the operating point (constant inside every regime) is dropped, as is a
    flag-like channel with fewer than ``min_distinct`` distinct values in every regime.
    """
    values = np.asarray(normalised, dtype=np.float64)
    labels = (
        np.zeros(len(values), dtype=np.int64)
        if regimes is None
        else np.asarray(regimes, dtype=np.int64)
    )
    keep = []
    for j, name in enumerate(names):
        spread, distinct = 0.0, 0
        for regime in np.unique(labels):
            column = values[labels == regime, j]
            spread = max(spread, float(column.std()))
            distinct = max(distinct, len(np.unique(column)))
        if spread > min_spread and distinct >= min_distinct:
            keep.append(name)
    return keep
