"""Shared pieces of the multivariate monitors: input checks, folds, EWMA, charts, limits."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError, ModelError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Chart:
    """One monitored statistic per sample against its control limit.

    ``alarms`` is ``values > limit``; a NaN value (a sample the statistic cannot be
    computed for, such as the first rows of a lagged model) never alarms.
    """

    name: str
    values: FloatArray
    limit: float
    alarms: BoolArray

    @classmethod
    def of(cls, name: str, values: FloatArray, limit: float) -> Chart:
        with np.errstate(invalid="ignore"):
            alarms = np.asarray(values > limit, dtype=np.bool_)
        return cls(name=name, values=values, limit=float(limit), alarms=alarms)

    @property
    def alarm_rate(self) -> float:
        """Share of the samples that alarm."""
        return float(self.alarms.mean()) if self.alarms.size else 0.0


def as_matrix(X: Any, *, n_features: int | None = None, what: str = "X") -> FloatArray:
    """``X`` as a finite 2-D float array (samples x variables), checked.

    A pandas DataFrame or any array-like works; ``n_features`` is the column count a
    fitted model expects.
    """
    try:
        data = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"not a numeric matrix ({exc})", field=what) from exc
    if data.ndim != 2:
        raise InputError(f"must be 2-D (samples x variables), got {data.ndim}-D", field=what)
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise InputError(f"is empty (shape {data.shape})", field=what)
    if n_features is not None and data.shape[1] != n_features:
        raise InputError(
            f"has {data.shape[1]} variables, the model was fitted on {n_features}", field=what
        )
    finite = np.isfinite(data)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise InputError(
            f"must be finite: NaN or inf in variable {int(col)}", row=int(row) + 1, field=what
        )
    return data


def check_alpha(alpha: float) -> float:
    if not 0.0 < float(alpha) < 0.5:
        raise ModelError(f"alpha (false-alarm rate) must be in (0, 0.5), not {alpha}")
    return float(alpha)


def check_folds(folds: int, n: int) -> int:
    if int(folds) < 2:
        raise ModelError(f"folds must be >= 2, not {folds}")
    if n < 3 * int(folds):
        raise InputError(f"needs at least {3 * int(folds)} training samples, got {n}", field="X")
    return int(folds)


def blocked_folds(n: int, folds: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` blocks: held-out time periods, never shuffled samples."""
    edges = np.linspace(0, n, folds + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def standardise(X: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean and standard deviation (ddof 1) per variable; a constant variable gets scale 1."""
    mean = X.mean(axis=0)
    scale = X.std(axis=0, ddof=1) if len(X) > 1 else np.ones(X.shape[1])
    return mean, np.where(scale > 1e-12, scale, 1.0)


def ewma(Y: FloatArray, lam: float, start: float) -> FloatArray:
    """Column-wise ``s_t = lam * y_t + (1 - lam) * s_{t-1}`` with ``s_0 = start``."""
    from scipy.signal import lfilter

    zi = np.full((1, Y.shape[1]), (1.0 - lam) * start)
    out, _ = lfilter([lam], [1.0, -(1.0 - lam)], Y, axis=0, zi=zi)
    return np.asarray(out, dtype=np.float64)


def empirical_limit(values: FloatArray, alpha: float) -> float:
    """The ``1 - alpha`` quantile of finite statistics of normal operation."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ModelError("no finite statistic to set a control limit from")
    return float(np.quantile(finite, 1.0 - alpha))


def joint_limits(H: FloatArray, alpha: float) -> FloatArray:
    """Limits for several statistics (columns of ``H``) alarming together at rate ``alpha``.

    Each column's limit is its quantile at one common level, the lowest level at which
    the share of rows with any statistic above its limit is at most ``alpha``
    (bisection on the level).
    """
    rows = H[np.isfinite(H).all(axis=1)]
    if rows.size == 0:
        raise ModelError("no finite statistics to set control limits from")
    lo, hi = 1.0 - alpha, 1.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        limits = np.quantile(rows, mid, axis=0)
        if np.mean((rows > limits).any(axis=1)) <= alpha:
            hi = mid
        else:
            lo = mid
    return np.asarray(np.quantile(rows, hi, axis=0), dtype=np.float64)
