"""Robust per-signal baseline: median and MAD of normal, optionally per operating context.

The simplest detector an operator can check by hand: every signal is compared with its
own normal level (the training median) in units of its normal spread (1.4826 × MAD),
so an alert reads "Volume Flow 4.2 σ below its normal".  With ``context`` (e.g.
``("speed",)``) the normal level and spread are learnt per bin of the context columns'
training quantiles, so a pump at high speed is compared with itself at high speed:
"vibration 3.1 σ above its normal for this speed".  Bins with fewer than
``min_bin_rows`` training rows fall back to the signal's overall normal.
"""

from __future__ import annotations

import numpy as np

from shopfloor.errors import ModelError
from shopfloor.maintenance.anomaly._base import AnomalyDetector, Evaluation, aggregate, robust_scale
from shopfloor.maintenance.results import FloatArray


class RobustBaseline(AnomalyDetector):
    """Per-signal robust z-scores; the row score is their max (or RMS) absolute value."""

    def __init__(
        self,
        *,
        window: int = 1,
        context: tuple[str, ...] | None = None,
        context_bins: int = 5,
        min_bin_rows: int = 20,
        aggregate: str = "max",
        false_alarm_rate: float = 0.01,
        margin: float = 1.0,
        calibration_folds: int = 5,
    ) -> None:
        self.window = window
        self.context = context
        self.context_bins = context_bins
        self.min_bin_rows = min_bin_rows
        self.aggregate = aggregate
        self.false_alarm_rate = false_alarm_rate
        self.margin = margin
        self.calibration_folds = calibration_folds

    def _context_columns(self) -> tuple[str, ...]:
        return tuple(self.context or ())

    def _min_rows(self) -> int:
        return 3

    def _bin_keys(self, C: FloatArray) -> np.ndarray:
        """One integer key per row: the context bins combined (mixed radix)."""
        keys = np.zeros(C.shape[0], dtype=np.int64)
        radix = 1
        for j, edges in enumerate(self.bin_edges_):
            # Values outside the training range land in the first / last bin.
            index = np.clip(np.searchsorted(edges, C[:, j], side="right"), 0, len(edges))
            keys += index * radix
            radix *= len(edges) + 1
        return keys

    def _fit_model(self, Z: FloatArray, C: FloatArray | None) -> None:
        if self.aggregate not in ("max", "rms"):
            raise ModelError(f"aggregate must be 'max' or 'rms', not {self.aggregate!r}")
        self.median_, self.sigma_ = robust_scale(Z)
        self.bin_edges_: list[FloatArray] = []
        self.bin_median_: dict[int, FloatArray] = {}
        self.bin_sigma_: dict[int, FloatArray] = {}
        if C is None or C.shape[1] == 0:
            return
        bins = max(int(self.context_bins), 1)
        for j in range(C.shape[1]):
            inner = np.nanquantile(C[:, j], np.linspace(0, 1, bins + 1)[1:-1])
            self.bin_edges_.append(np.unique(inner))
        keys = self._bin_keys(C)
        for key in np.unique(keys):
            rows = keys == key
            if rows.sum() >= max(int(self.min_bin_rows), 3):
                median, sigma = robust_scale(Z[rows])
                self.bin_median_[int(key)] = median
                # A bin's spread is never trusted below a quarter of the overall spread:
                # a small bin can look spuriously quiet.
                self.bin_sigma_[int(key)] = np.maximum(sigma, 0.25 * self.sigma_)

    def _normal(self, n: int, C: FloatArray | None) -> tuple[FloatArray, FloatArray]:
        expected = np.broadcast_to(self.median_, (n, self.median_.size)).copy()
        spread = np.broadcast_to(self.sigma_, (n, self.sigma_.size)).copy()
        if C is not None and self.bin_median_:
            keys = self._bin_keys(C)
            for key, median in self.bin_median_.items():
                rows = keys == key
                expected[rows] = median
                spread[rows] = self.bin_sigma_[key]
        return expected, spread

    def _evaluate(self, Z: FloatArray, C: FloatArray | None) -> Evaluation:
        expected, spread = self._normal(Z.shape[0], C)
        deviation = (Z - expected) / spread
        return aggregate(deviation, self.aggregate), expected, deviation
