"""The demand forecaster in stages: what is learnt from all series, and what per chunk.

:func:`~shopfloor.supply.forecasting.forecast_demand` pools over series in three places:

- the **silence classifier**: one LightGBM model over every series (one per stage: the
  calibration's backtest, the forecast, each origin of the model choice);
- the **calibration**: the sampled levels, the windows and the point factor that serve
  the whole fleet best on a backtest;
- the **conformal quantiles** of the series that switch to a local model: their backtest
  errors pooled per model.

Everything else is per series, with random draws per chunk of ``config.chunk`` series
(:func:`~shopfloor.supply.forecasting.chunk_rng`).  So a forecast is:

1. :func:`fleet_silence`, pooled: the silence probability of every series per stage;
2. :func:`calibration_sums` per chunk, added up in chunk order and read by
   :func:`choose_calibration` (a few thousand numbers per chunk);
3. :func:`forecast_chunk` per chunk: paths, quantiles, point, pmf, the model choice and
   the chosen model's backtest errors;
4. :func:`finish`, pooled: the conformal quantiles and pmfs of the switched series.

``forecast_demand`` runs steps 2 and 3 in one process, chunk after chunk; a compute
backend runs them wherever its tasks go (``shopfloor.workflows.demand_forecast``).  The
chunks are the same blocks of series in matrix order and every pooled step adds them up
in that order, so every number is the same wherever the chunks ran.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import reduce

import numpy as np
import numpy.typing as npt

from shopfloor.supply.forecasting import (
    FIRST_ORIGIN,
    LEVEL_GRID,
    POINT_FACTORS,
    Calibration,
    DemandForecast,
    FloatArray,
    ForecastConfig,
    empirical_pmf,
    fit_silence_model,
    monotone_quantiles,
    silence_probability,
    simulate,
)
from shopfloor.supply.metrics import first_sale_scale, rmsse
from shopfloor.supply.selection import (
    DEFAULT,
    backtest_origins,
    conformal_quantiles,
    pooled_residuals,
    select_models,
)


def chunk_rows(n_series: int, chunk: int) -> list[slice]:
    """The chunks: blocks of ``chunk`` series in matrix order."""
    return [slice(start, min(start + chunk, n_series)) for start in range(0, n_series, chunk)]


# -- 1. silence, pooled ------------------------------------------------------------------


@dataclass(frozen=True)
class FleetSilence:
    """Per series, the probability of no demand over the horizon, from pooled models."""

    calibration: FloatArray | None  # on the history less its last h periods; None: no backtest
    forecast: FloatArray  # on the whole history
    origins: tuple[int, ...]  # the model choice's backtest origins (none: no choice)
    at_origins: FloatArray  # n x origins: on the history up to each origin

    def rows(self, rows: slice) -> FleetSilence:
        return FleetSilence(
            None if self.calibration is None else self.calibration[rows],
            self.forecast[rows],
            self.origins,
            self.at_origins[rows],
        )


def _silence(history: FloatArray, config: ForecastConfig, first_month: int) -> FloatArray:
    model = fit_silence_model(history, config, first_month)
    return silence_probability(model, history, config, first_month)


def calibration_silence(
    history: FloatArray, config: ForecastConfig, first_month: int = 0
) -> FloatArray | None:
    """Silence on the calibration's fit (the history less ``h`` periods); None when the
    history is too short for the backtest or nothing was observed in its last ``h``."""
    h = config.horizon
    if history.shape[1] < FIRST_ORIGIN + 2 * h or not (~np.isnan(history[:, -h:])).any():
        return None
    return _silence(history[:, :-h], config, first_month)


def fleet_silence(
    history: FloatArray, config: ForecastConfig, first_month: int = 0
) -> FleetSilence:
    """Every silence probability a forecast with ``config`` needs (LightGBM, pooled)."""
    origins = (
        tuple(backtest_origins(history.shape[1], config.horizon, config.origins))
        if config.select
        else ()
    )
    at = [_silence(history[:, :o], config, first_month) for o in origins]
    return FleetSilence(
        calibration_silence(history, config, first_month) if config.calibrate else None,
        _silence(history, config, first_month),
        origins,
        np.column_stack(at) if at else np.zeros((history.shape[0], 0)),
    )


# -- 2. calibration: sums per chunk, one choice ------------------------------------------


def calibration_windows(config: ForecastConfig) -> tuple[int, ...]:
    return tuple(sorted({*config.windows, config.window}))


@dataclass(frozen=True)
class CalibrationSums:
    """The calibration backtest's losses, added up over series (a chunk's, or all).

    Per candidate window: the scaled pinball loss of each sampled level's quantile at
    each nominal level (windows x levels x grid), the held-out outcomes at or below each
    sampled level's quantile (windows x grid), and the sum and count of the finite
    per-series RMSSE of each point factor (windows x factors).
    """

    pinball: FloatArray
    covered: FloatArray
    present: float  # held-out outcomes observed
    rmsse_sum: FloatArray
    rmsse_count: FloatArray

    def __add__(self, other: CalibrationSums) -> CalibrationSums:
        return CalibrationSums(
            self.pinball + other.pinball,
            self.covered + other.covered,
            self.present + other.present,
            self.rmsse_sum + other.rmsse_sum,
            self.rmsse_count + other.rmsse_count,
        )


def calibration_sums(
    history: FloatArray, silence: FloatArray, config: ForecastConfig, chunk: int = 0
) -> CalibrationSums:
    """The backtest of these series (chunk ``chunk``'s: it picks the random draws).

    ``silence``: :attr:`FleetSilence.calibration` of the same series.
    """
    h, grid = config.horizon, LEVEL_GRID.tolist()
    fit, held_out = history[:, :-h], history[:, -h:]
    present = ~np.isnan(held_out)
    outcomes = held_out[present]
    scale = first_sale_scale(fit)
    weight = np.where(np.isnan(scale), 0.0, 1.0 / np.where(np.isnan(scale), 1.0, scale))
    actual = np.where(present, held_out, 0.0)
    windows = calibration_windows(config)
    pinball = np.zeros((len(windows), len(config.levels), len(grid)))
    covered = np.zeros((len(windows), len(grid)))
    rmsse_sum = np.zeros((len(windows), len(POINT_FACTORS)))
    rmsse_count = np.zeros((len(windows), len(POINT_FACTORS)))
    for w, window in enumerate(windows):
        trial = replace(config, window=window)
        _, point, quantiles, _ = simulate(fit, silence, trial, grid, first_chunk=chunk)
        for g, sampled in enumerate(grid):
            error = actual - quantiles[sampled]
            for i, level in enumerate(config.levels):
                loss = np.where(error >= 0, level * error, (level - 1.0) * error) * present
                pinball[w, i, g] = float(np.sum(loss.sum(axis=1) * weight))
            covered[w, g] = np.count_nonzero(outcomes <= quantiles[sampled][present])
        for f, factor in enumerate(POINT_FACTORS):
            values = rmsse(held_out, point * factor, fit, first_sale=True)
            values = values[np.isfinite(values)]
            rmsse_sum[w, f] = float(values.sum())
            rmsse_count[w, f] = values.size
    return CalibrationSums(pinball, covered, float(outcomes.size), rmsse_sum, rmsse_count)


def choose_calibration(sums: CalibrationSums, config: ForecastConfig) -> Calibration:
    """What the backtest chose (see :func:`~shopfloor.supply.forecasting.calibrate`)."""
    windows, grid = calibration_windows(config), LEVEL_GRID.tolist()
    nominal = {level: grid.index(level) for level in config.levels}
    best_window: tuple[float, int] | None = None
    best_point = (math.inf, config.window, 1.0)
    for w, window in enumerate(windows):
        score = sum(sums.pinball[w, i, nominal[level]] for i, level in enumerate(config.levels))
        if best_window is None or score < best_window[0]:
            best_window = (score, w)
        for f, factor in enumerate(POINT_FACTORS):
            count = sums.rmsse_count[w, f]
            value = sums.rmsse_sum[w, f] / count if count else math.inf
            if value < best_point[0] - 1e-9:
                best_point = (value, window, factor)
    assert best_window is not None
    w = best_window[1]
    chosen = {}
    for i, level in enumerate(config.levels):
        if level == config.covered_level:  # this one is read as a coverage promise
            coverage = sums.covered[w] / sums.present
            chosen[level] = float(LEVEL_GRID[int(np.argmin(np.abs(coverage - level)))])
        else:
            chosen[level] = float(LEVEL_GRID[int(np.argmin(sums.pinball[w, i]))])
    return Calibration(chosen, windows[w], best_point[1], best_point[2])


def calibrate_chunks(
    history: FloatArray, silence: FloatArray, config: ForecastConfig
) -> Calibration:
    """The calibration, chunk after chunk in this process."""
    parts = [
        calibration_sums(history[rows], silence[rows], config, chunk)
        for chunk, rows in enumerate(chunk_rows(history.shape[0], config.chunk))
    ]
    return choose_calibration(reduce(CalibrationSums.__add__, parts), config)


# -- 3. the forecast per chunk, 4. the pooled finish -------------------------------------


@dataclass(frozen=True)
class ChunkForecast:
    """Per-series forecasts of a chunk, before the pooled finish (rows = series).

    ``model_mean`` and ``errors`` (n x origins x h, scaled backtest errors) are the chosen
    local model's, NaN for the series that keep the bootstrap.
    """

    mean: FloatArray
    point: FloatArray
    quantiles: dict[float, FloatArray]
    pmfs: list[FloatArray]
    model: npt.NDArray[np.object_]
    model_mean: FloatArray
    errors: FloatArray
    scale: FloatArray

    @staticmethod
    def stack(parts: Sequence[ChunkForecast]) -> ChunkForecast:
        """Chunks, one after the other."""
        return ChunkForecast(
            mean=np.vstack([p.mean for p in parts]),
            point=np.vstack([p.point for p in parts]),
            quantiles={
                level: np.vstack([p.quantiles[level] for p in parts])
                for level in parts[0].quantiles
            },
            pmfs=[pmf for p in parts for pmf in p.pmfs],
            model=np.concatenate([p.model for p in parts]),
            model_mean=np.vstack([p.model_mean for p in parts]),
            errors=np.concatenate([p.errors for p in parts]),
            scale=np.concatenate([p.scale for p in parts]),
        )


def forecast_chunk(
    history: FloatArray,
    silence: FleetSilence,
    calibration: Calibration,
    config: ForecastConfig,
    chunk: int = 0,
) -> ChunkForecast:
    """Forecast these series (chunk ``chunk``; ``silence``: the same rows')."""
    sampled = calibration.sampled_levels
    for_quantiles = replace(config, window=calibration.quantile_window)
    mean, point, by_sampled, pmfs = simulate(
        history, silence.forecast, for_quantiles, sampled.values(), first_chunk=chunk
    )
    if calibration.point_window != calibration.quantile_window:
        for_point = replace(config, window=calibration.point_window)
        _, point, _, _ = simulate(history, silence.forecast, for_point, (), first_chunk=chunk)
    point = point * calibration.point_factor
    # A copy per level: two levels may have been calibrated to the same sampled one.
    quantiles = {level: by_sampled[sampled[level]].copy() for level in config.levels}
    n, h = history.shape[0], config.horizon
    model = np.full(n, DEFAULT, dtype=object)
    model_mean = np.full((n, h), np.nan)
    errors = np.full((n, len(silence.origins), h), np.nan)
    scale = first_sale_scale(history)
    if silence.origins:
        # The bootstrap's backtest: uncalibrated, from each origin, as the selection needs.
        plain = replace(config, calibrate=False, select=False)
        backtest = {
            origin: simulate(history[:, :origin], silence.at_origins[:, j], plain, (), chunk)[1]
            for j, origin in enumerate(silence.origins)
        }
        chosen = select_models(
            history, h, backtest, scale, season_length=config.season_length, margin=config.margin
        )
        model = chosen.model
        switched = model != DEFAULT
        model_mean[switched] = chosen.mean[switched]
        errors = chosen.backtest_errors
    return ChunkForecast(mean, point, quantiles, pmfs, model, model_mean, errors, scale)


def finish(
    part: ChunkForecast, silence: FloatArray, calibration: Calibration, config: ForecastConfig
) -> DemandForecast:
    """The forecast of all series (``part``: every chunk, stacked in order).

    A series that switched to a local model takes its mean as mean and point, quantiles
    from the backtest errors pooled over the series that chose the same model (split
    conformal), and a pmf of its mean plus those errors.
    """
    mean, point = part.mean.copy(), part.point.copy()
    quantiles = {level: values.copy() for level, values in part.quantiles.items()}
    pmfs = list(part.pmfs)
    levels = sorted(quantiles)
    for name in sorted({str(m) for m in part.model} - {DEFAULT}):
        rows = np.flatnonzero(part.model == name)
        residuals = pooled_residuals(part.errors[rows])
        model_mean = part.model_mean[rows]
        mean[rows] = model_mean
        point[rows] = model_mean
        for level, values in conformal_quantiles(
            model_mean, part.scale[rows], residuals, levels
        ).items():
            quantiles[level][rows] = values
        # The per-period pmf for the policies: the model's average level over the
        # horizon plus the scaled backtest errors; ``mean`` keeps the model's shape over
        # the horizon but takes the pmf's level, so that both say the same.
        draws = residuals[:: max(1, residuals.size // 2_000)]
        for row, row_mean, row_scale in zip(rows, model_mean, part.scale[rows], strict=True):
            level_now = float(row_mean.mean())
            values = np.maximum(np.round(level_now + np.nan_to_num(row_scale) * draws), 0.0)
            pmfs[row] = empirical_pmf(values)
            expected = float(np.dot(np.arange(pmfs[row].size), pmfs[row]))
            mean[row] = np.maximum(row_mean + (expected - level_now), 0.0)
    monotone_quantiles(quantiles)
    return DemandForecast(
        mean=mean,
        point=point,
        quantiles=quantiles,
        silence=silence,
        pmfs=pmfs,
        calibration=calibration,
        model=part.model,
    )
