"""Forecast accuracy for many series at once: scaled errors and quantile losses.

Every function takes 2-D arrays, one row per series: ``actual`` and forecasts over the
horizon (series x h), ``history`` the in-sample values (series x T, NaN where a month is
missing; leading or inner NaN are fine).  Results are one value per series; averaging,
and what to do with series whose scale is zero, is the caller's decision (a benchmark
must say which series it skipped), so unscalable series come back as NaN.

Scales (Hyndman and Koehler 2006; M5 for the squared and quantile versions):

- ``naive_scale(history, lag)``: mean absolute ``lag``-step naive error in-sample
  (``lag=1``: the one-step naive of MASE; ``lag=12``: the seasonal naive of monthly
  data), over the pairs where both values are present;
- ``first_sale_scale(history, power)``: the M5 variant, the one-step naive error
  counted from each series' first sale on, so that the leading zeros of a part not yet
  sold do not shrink it (``first_sale=True`` on RMSSE and SPL uses it);
- MASE: mean absolute forecast error over that scale;
- RMSSE: root of the mean squared forecast error over the mean squared naive error;
- scaled pinball loss (SPL): the pinball loss averaged over the horizon and the given
  quantile levels, over the one-step naive MAE.  Pinball loss at level ``q``:
  ``q * (y - f)`` when ``y >= f``, else ``(1 - q) * (f - y)``.
- coverage: the share of outcomes at or below an upper quantile (pooled by the caller).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError

FloatArray = npt.NDArray[np.float64]


def _matrix(values: npt.ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise InputError(f"must be one row per series (2-D), got {array.ndim}-D", field=name)
    return array


def _floats(values: object) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _pair(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    a, f = _matrix(actual, "actual"), _matrix(forecast, "forecast")
    if a.shape != f.shape:
        raise InputError(f"shape {f.shape} does not match the actuals' {a.shape}", field="forecast")
    return a, f


def first_sale_scale(history: npt.ArrayLike, power: int = 1) -> FloatArray:
    """Mean of ``|y[t] - y[t-1]| ** power`` from each series' first sale on (NaN when zero).

    A pair counts when both months are present and the earlier one is at or after the
    first positive value; ``power=1`` is the M5 scale of SPL, ``power=2`` that of RMSSE.
    """
    h = _matrix(history, "history")
    started = np.maximum.accumulate(np.nan_to_num(h) > 0, axis=1)[:, :-1]
    diff = np.abs(np.diff(h, axis=1)) ** power
    with warnings.catch_warnings():  # a series that never sold has no scale: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = np.nanmean(np.where(started, diff, np.nan), axis=1)
    return np.where(scale > 0, scale, np.nan)


def _scale(history: npt.ArrayLike, lag: int, power: int, first_sale: bool) -> FloatArray:
    if first_sale:
        if lag != 1:
            raise InputError("the first-sale scale is the one-step naive's", field="lag")
        return first_sale_scale(history, power)
    return _scale_of(history, lag, power)


def _scale_of(history: npt.ArrayLike, lag: int, power: int) -> FloatArray:
    h = _matrix(history, "history")
    if lag < 1:
        raise InputError("must be at least 1", field="lag")
    if h.shape[1] <= lag:
        return np.full(h.shape[0], np.nan)
    diff = np.abs(h[:, lag:] - h[:, :-lag]) ** power
    with warnings.catch_warnings():  # an all-missing row has no scale: NaN, said above
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = np.nanmean(diff, axis=1)
    return np.where(scale > 0, scale, np.nan)


def naive_scale(history: npt.ArrayLike, lag: int = 1) -> FloatArray:
    """In-sample MAE of the ``lag``-step naive forecast per series (NaN when zero)."""
    return _scale_of(history, lag, 1)


def mase(
    actual: npt.ArrayLike, forecast: npt.ArrayLike, history: npt.ArrayLike, lag: int = 1
) -> FloatArray:
    a, f = _pair(actual, forecast)
    with np.errstate(all="ignore"):
        return _floats(np.nanmean(np.abs(a - f), axis=1) / _scale_of(history, lag, 1))


def rmsse(
    actual: npt.ArrayLike,
    forecast: npt.ArrayLike,
    history: npt.ArrayLike,
    *,
    first_sale: bool = False,
) -> FloatArray:
    a, f = _pair(actual, forecast)
    scale = _scale(history, 1, 2, first_sale)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing horizon: NaN
        return _floats(np.sqrt(np.nanmean((a - f) ** 2, axis=1) / scale))


def pinball_loss(actual: npt.ArrayLike, quantile: npt.ArrayLike, level: float) -> FloatArray:
    """Mean pinball loss over the horizon per series at quantile level ``level``."""
    if not 0.0 < level < 1.0:
        raise InputError(f"quantile level {level} is not in (0, 1)", field="level")
    a, f = _pair(actual, quantile)
    error = a - f
    loss = np.where(error >= 0, level * error, (level - 1.0) * error)
    with np.errstate(all="ignore"):
        return _floats(np.nanmean(loss, axis=1))


def scaled_pinball_loss(
    actual: npt.ArrayLike,
    quantiles: Mapping[float, npt.ArrayLike],
    history: npt.ArrayLike,
    *,
    first_sale: bool = False,
) -> FloatArray:
    """Pinball loss averaged over ``quantiles`` (level -> series x h) over the naive MAE."""
    if not quantiles:
        raise InputError("needs at least one quantile level", field="quantiles")
    losses = np.mean([pinball_loss(actual, q, level) for level, q in quantiles.items()], axis=0)
    with np.errstate(all="ignore"):
        return _floats(losses / _scale(history, 1, 1, first_sale))


def coverage(actual: npt.ArrayLike, upper: npt.ArrayLike) -> float:
    """Share of (present) outcomes at or below ``upper``, pooled over all series."""
    a, u = _pair(actual, upper)
    present = ~np.isnan(a)
    if not present.any():
        raise InputError("no outcome to cover", field="actual")
    return float(np.mean(a[present] <= u[present]))
