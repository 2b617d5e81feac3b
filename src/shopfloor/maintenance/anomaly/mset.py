"""MSET-style similarity model: what would a normal state closest to this one look like?

The Multivariate State Estimation Technique keeps a memory of normal states and
estimates every new row as a similarity-weighted mix of its nearest memory states.
The estimate is the *expected* value of every signal given all the others, so the
residual ``observed - expected`` isolates the signal that broke the usual relations
(a flow that dropped while current and pressure say it should not have).

Here: signals robustly standardised on the training data; memory = the training rows
(thinned evenly to ``memory_size``, plus each signal's extreme rows so the memory spans
the whole normal range); estimate = Gaussian-kernel weighted mean of the ``neighbors``
nearest memory states, bandwidth = the median squared distance between training rows
and their nearest other memory states.  Residual spreads come from blocked
out-of-fold estimates on the training data, since in-sample a row is its own nearest
neighbour and its residual would be zero.
"""

from __future__ import annotations

import numpy as np

from shopfloor.errors import ModelError
from shopfloor.maintenance.anomaly._base import (
    AnomalyDetector,
    Evaluation,
    aggregate,
    blocks,
    robust_scale,
)
from shopfloor.maintenance.results import FloatArray

_CHUNK = 256  # rows per distance block: bounds memory to CHUNK × memory × signals floats


class MsetDetector(AnomalyDetector):
    """Nearest-normal-state estimation; the score aggregates residuals in sigmas."""

    def __init__(
        self,
        *,
        neighbors: int = 5,
        memory_size: int = 1000,
        aggregate: str = "max",
        window: int = 1,
        false_alarm_rate: float = 0.01,
        margin: float = 1.0,
        calibration_folds: int = 5,
    ) -> None:
        self.neighbors = neighbors
        self.memory_size = memory_size
        self.aggregate = aggregate
        self.window = window
        self.false_alarm_rate = false_alarm_rate
        self.margin = margin
        self.calibration_folds = calibration_folds

    def _min_rows(self) -> int:
        return max(int(self.neighbors) + 2, 4)

    # -- memory ---------------------------------------------------------------------------
    def _select_memory(self, S: FloatArray) -> FloatArray:
        rows = S[np.isfinite(S).all(axis=1)]
        size = int(self.memory_size)
        if rows.shape[0] <= size:
            return rows
        keep = set(np.linspace(0, rows.shape[0] - 1, size).round().astype(int).tolist())
        keep.update(np.argmin(rows, axis=0).tolist())
        keep.update(np.argmax(rows, axis=0).tolist())
        return rows[sorted(keep)]

    @staticmethod
    def _nearest(S: FloatArray, memory: FloatArray, k: int) -> tuple[FloatArray, np.ndarray]:
        """Squared distances and indices of the ``k`` nearest memory rows, row by row."""
        k = min(k, memory.shape[0])
        dist = np.empty((S.shape[0], k))
        index = np.empty((S.shape[0], k), dtype=np.int64)
        for start in range(0, S.shape[0], _CHUNK):
            block = S[start : start + _CHUNK]
            # Broadcast difference, not the |a|²+|b|²-2ab trick: each row's distances are
            # then computed the same way whatever the batch, so streaming == batch.
            d2 = np.sum((block[:, None, :] - memory[None, :, :]) ** 2, axis=2)
            part = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < d2.shape[1] else None
            idx = part if part is not None else np.tile(np.arange(d2.shape[1]), (len(d2), 1))
            near = np.take_along_axis(d2, idx, axis=1)
            order = np.argsort(near, axis=1, kind="stable")
            dist[start : start + _CHUNK] = np.take_along_axis(near, order, axis=1)
            index[start : start + _CHUNK] = np.take_along_axis(idx, order, axis=1)
        return dist, index

    def _estimate(self, S: FloatArray, memory: FloatArray, bandwidth: float) -> FloatArray:
        """Kernel-weighted mean of the nearest memory states (standardised units)."""
        dist, index = self._nearest(np.nan_to_num(S, nan=0.0), memory, int(self.neighbors))
        return self._mix(dist, index, memory, bandwidth)

    @staticmethod
    def _mix(
        dist: FloatArray, index: np.ndarray, memory: FloatArray, bandwidth: float
    ) -> FloatArray:
        # Relative to the nearest: a far-off row still gets a proper weighted mean.
        weight = np.exp(-(dist - dist[:, :1]) / bandwidth)
        weight /= weight.sum(axis=1, keepdims=True)
        return np.asarray(np.einsum("nk,nkc->nc", weight, memory[index]), dtype=np.float64)

    # -- estimator hooks ------------------------------------------------------------------
    def _fit_model(self, Z: FloatArray, C: FloatArray | None) -> None:
        if self.aggregate not in ("max", "rms"):
            raise ModelError(f"aggregate must be 'max' or 'rms', not {self.aggregate!r}")
        if int(self.neighbors) < 1:
            raise ModelError(f"neighbors must be >= 1, not {self.neighbors}")
        self.median_, self.sigma_ = robust_scale(Z)
        S = (Z - self.median_) / self.sigma_
        self.memory_ = self._select_memory(S)
        # Out-of-fold neighbours: each training block against a memory built without it.
        # In-sample a row is its own nearest neighbour (its residual would be 0), and with
        # smoothed signals its time neighbours are nearly as close, so both the kernel
        # bandwidth and the residual spread are learnt from held-out blocks, as new rows
        # will be seen.
        n = S.shape[0]
        clean = np.nan_to_num(S, nan=0.0)
        folds: list[tuple[int, int, FloatArray, FloatArray, np.ndarray]] = []
        for start, stop in blocks(n, max(int(self.calibration_folds), 2)):
            memory = self._select_memory(S[np.r_[0:start, stop:n]])
            if memory.shape[0] == 0:
                continue
            dist, index = self._nearest(clean[start:stop], memory, int(self.neighbors))
            folds.append((start, stop, memory, dist, index))
        distances = np.concatenate([f[3].ravel() for f in folds]) if folds else np.ones(1)
        median = float(np.median(distances))
        self.bandwidth_ = median if median > 0 else 1.0
        residual = np.full_like(S, np.nan)
        for start, stop, memory, dist, index in folds:
            residual[start:stop] = S[start:stop] - self._mix(dist, index, memory, self.bandwidth_)
        spread = np.nanstd(residual, axis=0)
        self.residual_sigma_ = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
        self._oof_score = aggregate(residual / self.residual_sigma_, self.aggregate)

    def _calibration_scores(self, Z: FloatArray, C: FloatArray | None) -> FloatArray:
        # The out-of-fold residuals of the fit are already held-out scores of normal
        # rows: no need to refit the model per fold a second time.
        return self._oof_score

    def _evaluate(self, Z: FloatArray, C: FloatArray | None) -> Evaluation:
        S = (Z - self.median_) / self.sigma_
        estimate = self._estimate(S, self.memory_, self.bandwidth_)
        deviation = (S - estimate) / self.residual_sigma_
        expected = estimate * self.sigma_ + self.median_
        score = aggregate(deviation, self.aggregate)
        return score, expected, deviation
