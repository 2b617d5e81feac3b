"""Per-series model choice by rolling-origin backtest, and conformal quantiles for it.

The bootstrap forecaster of :mod:`shopfloor.supply.forecasting` knows nothing of trend
or season: right for spare parts, wrong for a smooth seasonal item.  So every series
also gets the statistical models that suit its demand class (ETS, Theta, seasonal
naive, SES for smooth and erratic demand; Croston, SBA, TSB, ADIDA, IMAPA for
intermittent and lumpy), and each is scored on rolling origins inside the history:
fit up to the origin, forecast ``h`` periods, squared error over the series' M5 scale.

A series switches from the default to a challenger only when the challenger's mean
backtest error is lower by more than ``margin`` (relative): with a handful of origins
on noisy demand, the smallest error is often luck, and switching on luck costs more
than it wins (measured on car parts: see BENCHMARKS.md).

A switched series gets quantiles by split conformal prediction: the challenger's
backtest errors, scaled by each series' scale and pooled over the series that chose
the same model, give the error quantiles; the forecast plus the scaled error quantile
(clipped at zero) is the quantile forecast.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shopfloor.supply.classification import classify_demand
from shopfloor.supply.local_models import INTERMITTENT_MODELS, local_forecasts

FloatArray = npt.NDArray[np.float64]
DEFAULT = "bootstrap"
SMOOTH_CANDIDATES = ("ets", "theta", "seasonal_naive", "ses")


@dataclass(frozen=True)
class Selection:
    """Per series: the chosen model and, for the switched ones, its forecasts."""

    model: npt.NDArray[np.object_]  # n: "bootstrap" or a local model's name
    mean: FloatArray  # n x h, the chosen model's forecast (rows of "bootstrap": NaN)
    errors: dict[str, FloatArray]  # model -> n mean backtest squared scaled error
    residuals: dict[str, FloatArray]  # model -> pooled scaled backtest errors (switched)
    # n x origins x h: each series' scaled backtest errors under its chosen model (NaN for
    # "bootstrap"); ``residuals`` pools them per model, origin by origin, series in order.
    backtest_errors: FloatArray


def candidates_by_class(history: FloatArray) -> dict[str, npt.NDArray[np.bool_]]:
    """Which series each local model is tried on, from the ADI / CV² class."""
    category = classify_demand(history).category
    smooth = np.isin(category, ("smooth", "erratic"))
    sparse = np.isin(category, ("intermittent", "lumpy"))
    out = {name: smooth for name in SMOOTH_CANDIDATES}
    out.update({name: sparse for name in INTERMITTENT_MODELS})
    return out


def _scaled_errors(actual: FloatArray, forecast: FloatArray, scale: FloatArray) -> FloatArray:
    with np.errstate(all="ignore"):
        return (actual - forecast) / scale[:, None]


def backtest_origins(periods: int, horizon: int, origins: int) -> list[int]:
    """The last ``origins`` origins, ``horizon`` apart, each with ``horizon`` periods after it."""
    out = [periods - horizon * k for k in range(1, origins + 1)]
    return sorted(o for o in out if o >= max(2 * horizon, 8))


def select_models(
    history: FloatArray,
    horizon: int,
    default_backtest: dict[int, FloatArray],
    scale: FloatArray,
    *,
    season_length: int = 12,
    margin: float = 0.1,
) -> Selection:
    """Choose per series between the default and the local models by backtest error.

    ``default_backtest`` maps each origin to the default forecaster's ``n x h`` point
    forecast from that origin (the caller runs it, so its settings stay in one place).
    """
    n = history.shape[0]
    tried = candidates_by_class(history)
    sq_default = np.zeros(n)
    counts = np.zeros(n)
    sq: dict[str, FloatArray] = {name: np.zeros(n) for name in tried}
    errors_by_model: dict[str, list[FloatArray]] = {name: [] for name in tried}
    for origin, default_point in default_backtest.items():
        actual = history[:, origin : origin + horizon]
        step = actual.shape[1]
        err = _scaled_errors(actual, default_point[:, :step], scale)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            valid = ~np.all(np.isnan(err), axis=1)
            sq_default += np.where(valid, np.nanmean(err**2, axis=1), 0.0)
        counts += valid
        for name, rows in tried.items():
            if not rows.any():
                continue
            fitted = local_forecasts(history[rows, :origin], step, [name], season_length)
            model_err = np.full((n, step), np.nan)
            model_err[rows] = _scaled_errors(actual[rows], fitted[name]["mean"], scale[rows])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                sq[name] += np.where(valid & rows, np.nanmean(model_err**2, axis=1), 0.0)
            errors_by_model[name].append(model_err)
    with np.errstate(all="ignore"):
        mean_default = np.where(counts > 0, sq_default / counts, np.inf)
        scores = {
            name: np.where(tried[name] & (counts > 0), sq[name] / counts, np.inf) for name in sq
        }
    names = list(scores)
    model = np.full(n, DEFAULT, dtype=object)
    if names:
        stacked = np.vstack([scores[name] for name in names])
        best = stacked.argmin(axis=0)
        best_score = stacked[best, np.arange(n)]
        switch = np.isfinite(best_score) & (best_score < (1.0 - margin) * mean_default)
        model[switch] = np.array(names, dtype=object)[best[switch]]
    mean = np.full((n, horizon), np.nan)
    residuals: dict[str, FloatArray] = {}
    backtest_errors = np.full((n, len(default_backtest), horizon), np.nan)
    for name in names:
        rows = model == name
        if not rows.any():
            continue
        fitted = local_forecasts(history[rows], horizon, [name], season_length)
        mean[rows] = fitted[name]["mean"]
        for j, e in enumerate(errors_by_model[name]):
            backtest_errors[rows, j, : e.shape[1]] = e[rows]
        residuals[name] = pooled_residuals(backtest_errors[rows])
    return Selection(
        model=model,
        mean=mean,
        errors=scores,
        residuals=residuals,
        backtest_errors=backtest_errors,
    )


def pooled_residuals(backtest_errors: FloatArray) -> FloatArray:
    """The finite errors of ``rows x origins x h`` backtests, origin by origin, rows in order."""
    parts = [backtest_errors[:, j].ravel() for j in range(backtest_errors.shape[1])]
    pooled = np.concatenate(parts) if parts else np.zeros(0)
    return pooled[np.isfinite(pooled)]


def conformal_quantiles(
    mean: FloatArray, scale: FloatArray, residuals: FloatArray, levels: list[float]
) -> dict[float, FloatArray]:
    """``mean + scale * q_level(residuals)``, clipped at zero, for each level."""
    out = {}
    for level in levels:
        shift = float(np.quantile(residuals, level)) if residuals.size else 0.0
        out[level] = np.maximum(mean + np.nan_to_num(scale)[:, None] * shift, 0.0)
    return out
