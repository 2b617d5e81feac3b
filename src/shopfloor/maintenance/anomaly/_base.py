"""What every anomaly detector shares: input checks, smoothing, calibration, typed results.

A detector learns the normal behaviour of one asset from a frame of numeric signal
columns (index = timestamps).  Subclasses write only their maths:

- ``_fit_model(Z, C)`` learns from the smoothed signals ``Z`` (rows × signals) and the
  smoothed context ``C`` (rows × context columns, or ``None``);
- ``_evaluate(Z, C)`` returns, per row, the raw score (higher = more anomalous), the
  expected normal value of every signal (in its unit) and the signed deviation in
  sigmas of its normal spread.

The base class turns that into :class:`AnomalyScores` and calibrates the threshold on
normal (training) data to the target ``false_alarm_rate``.  Calibration scores are
out-of-fold by default (``calibration_folds`` contiguous blocks, each scored by a model
fitted on the others) because in-sample scores of a model that memorised its training
rows are optimistic, and slow drift within the training window is exactly what a fresh
stretch of normal data will show.

Every score at row ``t`` depends only on rows ``t - window + 1 .. t``
(:attr:`AnomalyDetector.memory_rows`), which is what lets the streaming scorer carry a
short history across batches and still reproduce the batch result exactly.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from typing import Self

import numpy as np
import pandas as pd

from shopfloor.errors import InputError, ModelError
from shopfloor.estimators import Estimator
from shopfloor.maintenance.results import AnomalyScores, FloatArray

Evaluation = tuple[FloatArray, FloatArray, FloatArray]  # score, expected, deviation_sigma


def trailing_mean(values: FloatArray, window: int) -> FloatArray:
    """Mean of the last ``window`` rows (fewer at the start), NaNs ignored.

    Summed lag by lag in a fixed order rather than with a running cumulative sum, so a
    row's value does not depend on where the batch started: streaming == batch, bit for
    bit.
    """
    if window <= 1:
        return values.astype(np.float64, copy=True)
    n = values.shape[0]
    finite = np.isfinite(values)
    clean = np.where(finite, values, 0.0)
    total = np.zeros_like(clean)
    count = np.zeros(values.shape, dtype=np.float64)
    for lag in range(min(window, n)):
        total[lag:] += clean[: n - lag]
        count[lag:] += finite[: n - lag]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1.0), np.nan)


def robust_scale(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per-column median and a robust sigma (1.4826 × MAD).

    Quantised signals (a flow meter reading whole l/min) often have a MAD of exactly 0;
    those fall back to the standard deviation, and a constant signal to a tiny floor so a
    deviation from it reads as very large instead of dividing by zero.
    """
    median = np.nanmedian(values, axis=0)
    mad = 1.4826 * np.nanmedian(np.abs(values - median), axis=0)
    std = np.nanstd(values, axis=0)
    sigma = np.where(mad > 0, mad, std)
    floor = 1e-9 * np.maximum(np.abs(median), 1.0)
    return median, np.maximum(np.nan_to_num(sigma, nan=0.0), floor)


def aggregate(deviation: FloatArray, how: str) -> FloatArray:
    """One score per row from signed per-signal deviations (sigmas)."""
    finite = np.isfinite(deviation)
    # A row with no finite deviation (all its signals missing) scores NaN: never an alarm.
    empty = ~finite.any(axis=1)
    if how == "max":
        out = np.max(np.where(finite, np.abs(deviation), -np.inf), axis=1)
    elif how == "rms":
        squares = np.where(finite, deviation**2, 0.0).sum(axis=1)
        out = np.sqrt(squares / np.maximum(finite.sum(axis=1), 1))
    else:
        raise ModelError(f"aggregate must be 'max' or 'rms', not {how!r}")
    return np.asarray(np.where(empty, np.nan, out), dtype=np.float64)


def blocks(n: int, folds: int) -> list[tuple[int, int]]:
    """``folds`` contiguous, nearly equal [start, stop) blocks covering ``range(n)``."""
    edges = np.linspace(0, n, folds + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges.tolist()) if b > a]


class AnomalyDetector(Estimator, ABC):
    """Base of the detectors; subclasses declare the hyperparameters in ``__init__``.

    Every subclass has at least ``window`` (trailing mean over that many rows before
    modelling: 1 = none), ``false_alarm_rate`` (target fraction of normal rows above the
    threshold), ``margin`` (factor on the calibrated quantile), ``calibration_folds``
    (0 or 1 = in-sample calibration); stochastic ones also a ``seed``.
    """

    window: int
    false_alarm_rate: float
    margin: float
    calibration_folds: int

    # Context columns are inputs that condition the normal behaviour (speed, load); they
    # are never scored themselves.  Only some detectors use them.
    def _context_columns(self) -> tuple[str, ...]:
        return ()

    # -- subclass hooks -------------------------------------------------------------------
    @abstractmethod
    def _fit_model(self, Z: FloatArray, C: FloatArray | None) -> None:
        """Learn normal behaviour from smoothed signals ``Z`` and context ``C``."""

    @abstractmethod
    def _evaluate(self, Z: FloatArray, C: FloatArray | None) -> Evaluation:
        """Per row: raw score, expected value per signal (units), deviation in sigmas."""

    def _min_rows(self) -> int:
        return 2

    # -- public API -----------------------------------------------------------------------
    @property
    def memory_rows(self) -> int:
        """Past rows (before a batch) that a row's score depends on."""
        return max(int(self.window), 1) - 1

    def fit(self, X: pd.DataFrame) -> Self:
        self._check_params()
        signals, context = self._split(X, fitting=True)
        Z, C = self._prepare(X, signals, context)
        if Z.shape[0] < self._min_rows():
            raise InputError(
                f"{type(self).__name__} needs at least {self._min_rows()} rows, got {Z.shape[0]}"
            )
        self._fit_model(Z, C)
        calibration = self._calibration_scores(Z, C)
        self.signals_ = signals
        self.context_ = context
        level = 1.0 - float(self.false_alarm_rate)
        finite = calibration[np.isfinite(calibration)]
        if finite.size == 0:
            raise ModelError(f"{type(self).__name__}: no finite calibration score")
        self.calibration_quantile_ = float(np.quantile(finite, level))
        self.threshold_ = float(self.margin) * self.calibration_quantile_
        return self

    def score(self, X: pd.DataFrame) -> AnomalyScores:
        self._check_fitted()
        self._split(X, fitting=False)
        Z, C = self._prepare(X, self.signals_, self.context_)
        raw, expected, sigma = self._evaluate(Z, C)
        names = self._signal_index()
        return AnomalyScores(
            index=X.index,
            score=raw,
            threshold=self.threshold_,
            is_anomaly=np.asarray(raw > self.threshold_, dtype=np.bool_),
            deviation_sigma=pd.DataFrame(sigma, index=X.index, columns=names),
            expected=pd.DataFrame(expected, index=X.index, columns=names),
        )

    # -- helpers --------------------------------------------------------------------------
    def _signal_index(self) -> pd.Index:
        # Built once: a pandas string Index is costly to build for every streamed batch.
        cached: pd.Index | None = getattr(self, "_signal_columns", None)
        if cached is None or tuple(cached) != self.signals_:
            cached = pd.Index(list(self.signals_))
            self._signal_columns = cached
        return cached

    def _check_params(self) -> None:
        if not 0.0 <= float(self.false_alarm_rate) < 1.0:
            raise ModelError(f"false_alarm_rate must be in [0, 1), not {self.false_alarm_rate}")
        if int(self.window) < 1:
            raise ModelError(f"window must be >= 1, not {self.window}")
        if float(self.margin) <= 0:
            raise ModelError(f"margin must be > 0, not {self.margin}")

    def _split(self, X: pd.DataFrame, *, fitting: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if not isinstance(X, pd.DataFrame):
            raise InputError(f"expected a DataFrame of signals, got {type(X).__name__}")
        columns = [str(c) for c in X.columns]
        context = self._context_columns()
        missing = [c for c in context if c not in columns]
        if missing:
            raise InputError("context column missing from the data", field=missing[0])
        if fitting:
            signals = tuple(c for c in columns if c not in context)
            if not signals:
                raise InputError("no signal columns to learn from")
            return signals, context
        absent = [c for c in self.signals_ if c not in columns]
        if absent:
            raise InputError("signal seen in training is missing", field=absent[0])
        return self.signals_, self.context_

    def _prepare(
        self, X: pd.DataFrame, signals: tuple[str, ...], context: tuple[str, ...]
    ) -> tuple[FloatArray, FloatArray | None]:
        # This runs once per streamed batch, where pandas' per-column indexing and dtype
        # Series would cost more than the maths: one positional take, one dtype check.
        where = {str(c): i for i, c in enumerate(X.columns)}
        position = [where[name] for name in (*signals, *context)]
        raw = X.to_numpy()
        raw = raw[:, position] if raw.dtype.kind in "fiu" else X.iloc[:, position].to_numpy()
        if raw.dtype.kind not in "fiu":
            for name, i in zip((*signals, *context), position, strict=True):
                dtype = X.dtypes.iloc[i]
                if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
                    raise InputError("signal is not numeric", field=name)
        values = np.asarray(raw, dtype=np.float64)
        Z = trailing_mean(values[:, : len(signals)], int(self.window))
        C = trailing_mean(values[:, len(signals) :], int(self.window)) if context else None
        return Z, C

    def _calibration_scores(self, Z: FloatArray, C: FloatArray | None) -> FloatArray:
        """Scores of the training rows: out of fold when asked for (and rows allow)."""
        folds = int(self.calibration_folds)
        n = Z.shape[0]
        if folds < 2 or n < folds * self._min_rows() + self._min_rows():
            return self._evaluate(Z, C)[0]  # in sample, from the model fitted on all rows
        out = np.full(n, np.nan)
        for start, stop in blocks(n, folds):
            keep = np.r_[0:start, stop:n]
            model = self.clone()
            model._fit_model(Z[keep], None if C is None else C[keep])
            held = model._evaluate(Z[start:stop], None if C is None else C[start:stop])
            out[start:stop] = held[0]
        return out
