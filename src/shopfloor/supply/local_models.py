"""Per-series statistical forecasters from statsforecast, run over many series at once.

Each model is fitted to one series at a time on its observed values (missing periods
are dropped, not filled with zeros: a month nobody recorded is not a month nobody
bought).  statsforecast's model classes are called directly on numpy arrays
(``Model().forecast(y=..., h=...)``), which skips its pandas front end: that front end
is what pins pandas below 3, the models themselves run on any pandas (see
``requirements-nodeps.txt``).

Models (statsforecast names in brackets):

- ``zero``: forecasts nothing; the floor every intermittent forecaster must beat;
- ``naive`` (Naive), ``seasonal_naive`` (SeasonalNaive);
- ``ses`` (SimpleExponentialSmoothingOptimized), ``ets`` (AutoETS), ``arima``
  (AutoARIMA), ``theta`` (AutoTheta): for smooth and erratic demand;
- ``croston`` (CrostonClassic), ``sba`` (CrostonSBA), ``tsb`` (TSB, alpha_d = alpha_p
  = 0.1), ``adida`` (ADIDA), ``imapa`` (IMAPA): for intermittent and lumpy demand
  (Croston 1972; Syntetos and Boylan 2005; Teunter, Syntetos and Babai 2011;
  Nikolopoulos et al. 2011; Petropoulos and Kourentzes 2015).

``naive`` and ``ets`` also give Gaussian prediction intervals; for the others a
caller wanting quantiles uses Poisson quantiles around the mean (:func:`poisson_quantiles`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError

FloatArray = npt.NDArray[np.float64]

INTERMITTENT_MODELS = ("croston", "sba", "tsb", "adida", "imapa")
SMOOTH_MODELS = ("ses", "ets", "arima", "theta", "seasonal_naive")
MODELS = ("zero", "naive", *SMOOTH_MODELS, *INTERMITTENT_MODELS)
# Models with their own (Gaussian) intervals in statsforecast.
WITH_INTERVALS = ("naive", "ets")


def _factory(name: str, season_length: int) -> Callable[[], Any]:
    from statsforecast import models as sf  # heavy: imported when first forecasting

    factories: dict[str, Callable[[], Any]] = {
        "naive": sf.Naive,
        "seasonal_naive": lambda: sf.SeasonalNaive(season_length=season_length),
        "ses": sf.SimpleExponentialSmoothingOptimized,
        "ets": lambda: sf.AutoETS(season_length=season_length),
        "arima": lambda: sf.AutoARIMA(season_length=season_length),
        "theta": lambda: sf.AutoTheta(season_length=season_length),
        "croston": sf.CrostonClassic,
        "sba": sf.CrostonSBA,
        "tsb": lambda: sf.TSB(alpha_d=0.1, alpha_p=0.1),
        "adida": sf.ADIDA,
        "imapa": sf.IMAPA,
    }
    return factories[name]


def _check(models: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(models)
    unknown = [m for m in chosen if m not in MODELS]
    if unknown:
        raise InputError(
            f"unknown model {unknown[0]!r}; known: {', '.join(MODELS)}", field="models"
        )
    return chosen


def local_forecasts(
    history: npt.ArrayLike,
    horizon: int,
    models: Iterable[str] = MODELS,
    season_length: int = 12,
    levels: Iterable[float] = (),
) -> dict[str, dict[str, FloatArray]]:
    """Forecast every series (rows of ``history``, NaN = missing) with every model.

    Returns ``{model: {"mean": n x h, level: n x h ...}}``; quantile keys (``"0.9"``)
    only for the models in :data:`WITH_INTERVALS` when ``levels`` are given.
    Forecasts are clipped at zero (demand is never negative).  A series too short for
    a model (fewer than two observations, or fewer than two seasons for the seasonal
    ones) gets that model's fallback: the mean of what it has, or zero.
    """
    names = _check(models)
    if horizon < 1:
        raise InputError("must be at least 1", field="horizon")
    y = np.asarray(history, dtype=np.float64)
    if y.ndim != 2:
        raise InputError("must be one row per series (2-D)", field="history")
    quantile_levels = tuple(levels)
    out: dict[str, dict[str, FloatArray]] = {}
    for name in names:
        result = {"mean": np.zeros((y.shape[0], horizon))}
        if name in WITH_INTERVALS:
            for level in quantile_levels:
                result[str(level)] = np.zeros((y.shape[0], horizon))
        out[name] = result
    factories = {name: _factory(name, season_length) for name in names if name != "zero"}
    for i, row in enumerate(y):
        observed = row[~np.isnan(row)]
        for name, make in factories.items():
            _fit_one(out[name], i, observed, name, make, horizon, season_length, quantile_levels)
    return out


def _fit_one(
    result: dict[str, FloatArray],
    i: int,
    observed: FloatArray,
    name: str,
    make: Callable[[], Any],
    horizon: int,
    season_length: int,
    levels: tuple[float, ...],
) -> None:
    needs = 2 * season_length if name in ("seasonal_naive", "ets", "arima", "theta") else 2
    if observed.size < needs or not observed.any():
        fallback = float(observed.mean()) if observed.size else 0.0
        result["mean"][i] = fallback
        for level in levels:
            if str(level) in result:
                result[str(level)][i] = fallback
        return
    interval_levels = (
        sorted({_central(level) for level in levels}) if name in WITH_INTERVALS else []
    )
    with warnings.catch_warnings():  # optimiser chatter on flat series
        warnings.simplefilter("ignore")
        fitted = make().forecast(y=observed, h=horizon, level=interval_levels or None)
    result["mean"][i] = np.maximum(np.nan_to_num(fitted["mean"]), 0.0)
    for level in levels if name in WITH_INTERVALS else ():
        side = "hi" if level >= 0.5 else "lo"
        key = f"{side}-{_central(level)}"
        values = fitted[key] if level != 0.5 else fitted["mean"]
        result[str(level)][i] = np.maximum(np.nan_to_num(values), 0.0)


def _central(level: float) -> int:
    """The central interval (in %) whose upper or lower end is the ``level`` quantile."""
    return max(round(abs(2 * level - 1) * 100), 1)


def poisson_quantiles(mean: npt.ArrayLike, levels: Iterable[float]) -> dict[float, FloatArray]:
    """Quantiles of a Poisson count around each forecast mean (any shape)."""
    from scipy import stats

    mu = np.maximum(np.asarray(mean, dtype=np.float64), 1e-12)
    return {level: np.asarray(stats.poisson.ppf(level, mu), dtype=np.float64) for level in levels}
