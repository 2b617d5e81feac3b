"""Probabilistic demand forecasts for many series: will it sell at all, and how much.

Spare parts and slow movers die: on the car-parts data 46 % of the series sell nothing
in the six months after the fit, and every smoothing model (SES, ETS, Croston, TSB)
keeps forecasting their old rate, which is why the zero forecast beats them all on
RMSSE.  The forecaster here therefore splits the question in two:

1. **Silence**: a global LightGBM classifier, trained on every series at every past
   origin (rolling origins inside the history), gives the probability that a series
   sells nothing over the whole horizon.  Features are the series' own recent history
   (lags, windowed means and shares of non-zero periods, periods since the last and
   the first sale, a trend ratio, all scaled by the series' naive MAE so that one
   model fits every series) and the calendar month of the origin.
2. **Amount, given it sells**: paths of ``h`` periods resampled from the series'
   last ``window`` observed periods (a bootstrap of recent demand; the backtest picks
   the window, one for the quantiles and one for the point),
   redrawn until the path sells something, and replaced by an all-zero path with the
   silence probability.

From the simulated paths:

- quantiles of demand per period, the levels **recalibrated** on a backtest inside
  the history (split conformal on the level: the sampled level that would have
  served best on the last ``h`` in-sample periods is used; for the 0.9 quantile, the
  one whose coverage matched), so the 0.9 quantile covers about 90 % of outcomes,
  not what the bootstrap believes;
- ``mean``: the expected demand per period (what a planner sums);
- ``point``: the constant that minimises the expected RMSSE of the horizon (the
  square root of a mean is concave, so for a series likely to be silent the best
  point is below its mean, often zero), times a factor the backtest chooses (below
  1 where demand is dying out faster than the history says);
- a per-period demand pmf per series, for the inventory policies.

Series are processed in chunks of ``config.chunk``, each with its own random draws
(:func:`chunk_rng`), so memory stays flat with tens of thousands of series and a compute
backend can run the chunks anywhere: :mod:`shopfloor.supply.forecast_stages` splits the
forecast into the steps pooled over all series (the silence classifier, the calibration's
choice, the conformal residuals) and the steps per chunk, and this module's
:func:`forecast_demand` runs them in one process.  Where the chunks ran changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError
from shopfloor.supply.inventory import Distribution
from shopfloor.supply.metrics import first_sale_scale

FloatArray = npt.NDArray[np.float64]
LEVELS = (0.5, 0.8, 0.9, 0.95)
# Sampled quantile levels the calibration may pick from (the nominal level maps to one).
LEVEL_GRID = np.round(np.arange(0.30, 0.996, 0.005), 3)
# Rows of the silence classifier's training set beyond which it is subsampled.
_MAX_TRAINING_ROWS = 400_000
_THREADED_ROWS = 50_000  # training rows from which LightGBM gets more than one thread
FIRST_ORIGIN = 6  # periods of history before the first training origin
# Multipliers of the point forecast the calibration may pick from.
POINT_FACTORS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1)


@dataclass(frozen=True)
class ForecastConfig:
    """Knobs of :func:`forecast_demand`; the defaults are the carparts-tuned ones."""

    horizon: int = 6
    season_length: int = 12
    window: int = 24  # recent periods the amounts are resampled from (no calibration)
    windows: tuple[int, ...] = (12, 24)  # the calibration's candidates
    samples: int = 400  # paths per series
    levels: tuple[float, ...] = LEVELS
    calibrate: bool = True
    select: bool = True  # per-series choice against local models (supply.selection)
    origins: int = 2  # rolling origins of that choice
    margin: float = 0.5  # relative backtest gain a challenger needs to be chosen
    # The level whose calibration aims at coverage (share of outcomes at or below it)
    # rather than at the pinball loss; None: every level by its loss.
    covered_level: float | None = 0.9
    chunk: int = 2_000  # series per sampling chunk
    seed: int = 0
    threads: int = 2

    def __post_init__(self) -> None:
        for name in (
            "horizon",
            "season_length",
            "window",
            "samples",
            "chunk",
            "threads",
            "origins",
        ):
            if getattr(self, name) < 1:
                raise InputError("must be at least 1", field=name)
        if not self.windows or min(self.windows) < 1:
            raise InputError("needs at least one window of at least 1 period", field="windows")
        bad = [level for level in self.levels if not 0.0 < level < 1.0]
        if bad or not self.levels:
            raise InputError(f"quantile levels must be in (0, 1), got {bad}", field="levels")


@dataclass(frozen=True)
class Calibration:
    """What the in-sample backtest chose (see :func:`calibrate`)."""

    sampled_levels: dict[float, float]  # nominal level -> sampled level
    quantile_window: int  # resampling window of the quantiles and pmfs
    point_window: int  # resampling window of the point
    point_factor: float  # multiplier of the point


@dataclass(frozen=True)
class DemandForecast:
    """Forecasts for ``n`` series over ``h`` periods."""

    mean: FloatArray  # n x h expected demand
    point: FloatArray  # n x h the RMSSE-optimal point
    quantiles: dict[float, FloatArray]  # nominal level -> n x h
    silence: FloatArray  # n: P(no demand over the horizon)
    pmfs: list[FloatArray] = field(repr=False)  # per-period demand pmf per series
    calibration: Calibration | None = None  # what the backtest chose
    model: npt.NDArray[np.object_] | None = None  # per series: the model chosen

    def distribution(self, series: int) -> Distribution:
        """Per-period demand distribution of one series (for the inventory policies)."""
        return Distribution(self.pmfs[series])


def _matrix(history: npt.ArrayLike) -> FloatArray:
    y = np.asarray(history, dtype=np.float64)
    if y.ndim != 2:
        raise InputError("must be one row per series (2-D)", field="history")
    finite = y[~np.isnan(y)]
    if np.isinf(finite).any() or (finite < 0).any():
        raise InputError("demand must be finite and non-negative (NaN = missing)", field="history")
    return y


def features(history: FloatArray, origin_month: int, season_length: int) -> FloatArray:
    """Features of each series at the end of ``history`` (rows = series)."""
    n, t = history.shape
    x = np.nan_to_num(history)
    scale = first_sale_scale(history)
    scale = np.where(np.isnan(scale), np.maximum(x.max(axis=1), 1.0), scale)
    sold = x > 0
    any_sale = sold.any(axis=1)
    last = np.where(any_sale, t - 1 - np.argmax(sold[:, ::-1], axis=1), -season_length)
    first = np.where(any_sale, np.argmax(sold, axis=1), t)
    columns = [x[:, t - k] / scale for k in (1, 2, 3) if t >= k]
    columns += [np.zeros(n)] * (3 - len(columns))
    for w in (3, 6, 12, 24):
        w = min(w, t)
        columns += [x[:, -w:].mean(axis=1) / scale, sold[:, -w:].mean(axis=1)]
    recent = x[:, -min(12, t) :].mean(axis=1)
    before = x[:, -min(24, t) : -min(12, t)].mean(axis=1) if t > 12 else recent
    sold12 = sold[:, -min(12, t) :].sum(axis=1)
    columns += [
        x[:, -min(12, t) :].std(axis=1) / scale,
        x[:, -min(12, t) :].max(axis=1) / scale,
        np.where(sold12 > 0, x[:, -min(12, t) :].sum(axis=1) / np.maximum(sold12, 1), 0) / scale,
        (t - 1 - last).astype(np.float64),
        (t - first).astype(np.float64),
        (recent + 0.1) / (before + 0.1),
        np.full(n, origin_month % season_length, dtype=np.float64),
    ]
    return np.column_stack(columns)


def _silence_target(future: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    observed = ~np.all(np.isnan(future), axis=1)
    return (np.nansum(future, axis=1) == 0).astype(np.float64), observed


def fit_silence_model(
    history: FloatArray, config: ForecastConfig, first_month: int = 0
) -> object | None:
    """LightGBM classifier of "sells nothing over the next h periods", on rolling origins.

    None when the history is too short or one class never occurs (then the silence
    probability is the pooled rate, see :func:`silence_probability`).
    """
    import lightgbm as lgb  # heavy: only when forecasting

    h, t = config.horizon, history.shape[1]
    rows, targets = [], []
    for origin in range(FIRST_ORIGIN, t - h + 1):
        target, observed = _silence_target(history[:, origin : origin + h])
        keep = observed & ~np.all(np.isnan(history[:, :origin]), axis=1)
        if keep.any():
            rows.append(
                features(history[keep, :origin], first_month + origin, config.season_length)
            )
            targets.append(target[keep])
    if not rows:
        return None
    x, y = np.vstack(rows), np.concatenate(targets)
    if y.min() == y.max():
        return None
    if len(y) > _MAX_TRAINING_ROWS:  # recent origins are the most relevant: keep the tail
        x, y = x[-_MAX_TRAINING_ROWS:], y[-_MAX_TRAINING_ROWS:]
    model = lgb.LGBMClassifier(
        n_estimators=300,
        learning_rate=0.05,
        num_leaves=31,
        min_child_samples=50,
        subsample=0.8,
        subsample_freq=1,
        random_state=config.seed,
        # OpenMP threads on a small training set cost more than they win, and spin
        # badly when the cores are shared (measured: 30x slower under load).
        n_jobs=config.threads if len(y) >= _THREADED_ROWS else 1,
        verbose=-1,
    )
    model.fit(x, y)
    return model


def silence_probability(
    model: object | None, history: FloatArray, config: ForecastConfig, first_month: int = 0
) -> FloatArray:
    x = features(history, first_month + history.shape[1], config.season_length)
    if model is None:
        never = ~np.nan_to_num(history).any(axis=1)
        return np.where(never, 1.0, 0.0)
    return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)  # type: ignore[attr-defined]


def sample_paths(
    history: FloatArray, silence: FloatArray, config: ForecastConfig, rng: np.random.Generator
) -> FloatArray:
    """``n x samples x h`` demand paths: silent with ``silence``, else resampled recent demand."""
    n, s, h = history.shape[0], config.samples, config.horizon
    recent = history[:, -config.window :]
    # Compact each row's observed values to the front so one integer draw indexes them.
    order = np.argsort(np.isnan(recent), axis=1, kind="stable")
    compact = np.take_along_axis(recent, order, axis=1)
    count = np.sum(~np.isnan(recent), axis=1)
    paths = np.zeros((n, s, h))
    sells = (count > 0) & (np.nansum(recent, axis=1) > 0)
    rows = np.flatnonzero(sells)
    if rows.size:
        for _attempt in range(8):  # redraw paths that sell nothing: silence is modelled apart
            draw = (rng.random((rows.size, s, h)) * count[rows, None, None]).astype(np.int64)
            values = compact[rows[:, None, None], draw]
            fresh = paths[rows]
            redo = ~fresh.any(axis=2)
            fresh[redo] = values[redo]
            paths[rows] = fresh
        # A very sparse series can still have paths without a sale: give each one sale,
        # in a random period, of a size drawn from the series' sales.
        row_idx, path_idx = np.nonzero(~paths[rows].any(axis=2))
        if row_idx.size:
            series = rows[row_idx]
            sizes = np.where(compact[series] > 0, compact[series], np.nan)
            picks = [rng.choice(row[~np.isnan(row)]) for row in sizes]
            paths[series, path_idx, rng.integers(0, h, size=series.size)] = picks
    silent = rng.random((n, s)) < silence[:, None]
    paths[silent] = 0.0
    return paths


def _rmsse_point(paths: FloatArray) -> FloatArray:
    """Per series, the constant minimising the mean over paths of the horizon's RMSE."""
    top = paths.max(axis=(1, 2))
    grid = np.linspace(0.0, 1.0, 41)[None, :] * top[:, None]  # n x G
    cost = np.empty(grid.shape)
    for g in range(grid.shape[1]):
        err = paths - grid[:, g, None, None]
        cost[:, g] = np.sqrt(np.mean(err * err, axis=2)).mean(axis=1)
    return np.asarray(grid[np.arange(grid.shape[0]), cost.argmin(axis=1)], dtype=np.float64)


def empirical_pmf(values: FloatArray) -> FloatArray:
    """The pmf of values rounded to whole units."""
    counts = np.bincount(np.round(values).astype(np.int64))
    return np.asarray(counts / counts.sum(), dtype=np.float64)


def _forecast_chunk(
    history: FloatArray,
    silence: FloatArray,
    config: ForecastConfig,
    levels: Iterable[float],
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray, dict[float, FloatArray], list[FloatArray]]:
    paths = sample_paths(history, silence, config, rng)
    per_period = paths.reshape(paths.shape[0], -1)  # the periods are exchangeable here
    h = config.horizon
    quantiles = {
        level: np.repeat(
            np.quantile(per_period, level, axis=1, method="inverted_cdf")[:, None], h, axis=1
        )
        for level in levels
    }
    mean = np.repeat(per_period.mean(axis=1)[:, None], h, axis=1)
    point = np.repeat(_rmsse_point(paths)[:, None], h, axis=1)
    return mean, point, quantiles, [empirical_pmf(row) for row in per_period]


def chunk_rng(seed: int, chunk: int) -> np.random.Generator:
    """The random draws of the ``chunk``-th block of ``config.chunk`` series.

    Block 0 draws from ``seed`` itself (so a forecast of up to one chunk of series is what
    it was before chunks had streams of their own), block k > 0 from the seed's k-th
    child: no block's draws depend on another's, wherever each one runs.
    """
    if chunk == 0:
        return np.random.default_rng(seed)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chunk,)))


def simulate(
    history: FloatArray,
    silence: FloatArray,
    config: ForecastConfig,
    levels: Iterable[float],
    first_chunk: int = 0,
) -> tuple[FloatArray, FloatArray, dict[float, FloatArray], list[FloatArray]]:
    """Mean, point, quantiles at ``levels`` and pmf per series from sampled paths.

    Series go in blocks of ``config.chunk``, block k drawing from
    ``chunk_rng(config.seed, first_chunk + k)``: pass a chunk's rows with its index.
    """
    level_list = sorted(set(levels))
    means, points, pmfs = [], [], []
    quantiles: dict[float, list[FloatArray]] = {level: [] for level in level_list}
    for k, start in enumerate(range(0, history.shape[0], config.chunk)):
        stop = start + config.chunk
        rng = chunk_rng(config.seed, first_chunk + k)
        mean, point, q, pmf = _forecast_chunk(
            history[start:stop], silence[start:stop], config, level_list, rng
        )
        means.append(mean)
        points.append(point)
        pmfs.extend(pmf)
        for level in level_list:
            quantiles[level].append(q[level])
    return (
        np.vstack(means),
        np.vstack(points),
        {level: np.vstack(parts) for level, parts in quantiles.items()},
        pmfs,
    )


def plain_calibration(config: ForecastConfig) -> Calibration:
    """No backtest: the nominal levels, ``config.window`` and the point as sampled."""
    levels = {level: level for level in config.levels}
    return Calibration(levels, config.window, config.window, 1.0)


def calibrate(history: FloatArray, config: ForecastConfig, first_month: int = 0) -> Calibration:
    """Choose the sampled levels, the windows and the point factor on a backtest.

    The backtest refits the silence model on the history without its last ``h``
    periods and forecasts them once per candidate window.  The quantiles take the
    window with the lowest scaled pinball loss at the nominal levels; then each nominal
    level takes the sampled level on the grid that would have served best: by its
    scaled pinball loss, or by coverage for ``covered_level`` (split conformal on the
    level).  The point takes the window and the factor (demand that is dying out makes
    it below 1) with the lowest RMSSE.  (The steps are
    :mod:`~shopfloor.supply.forecast_stages`'s; imported here, as it builds on this module.)
    """
    from shopfloor.supply import forecast_stages as stages

    y = _matrix(history)
    silence = stages.calibration_silence(y, config, first_month)
    if silence is None:
        return plain_calibration(config)
    return stages.calibrate_chunks(y, silence, config)


def forecast_demand(
    history: npt.ArrayLike, config: ForecastConfig | None = None, first_month: int = 0
) -> DemandForecast:
    """Forecast every row of ``history`` (series x periods, NaN = missing) ``h`` periods on.

    ``first_month`` is the calendar position (0-based, modulo ``season_length``) of the
    first column, for the calendar feature.  Runs
    :mod:`~shopfloor.supply.forecast_stages` in this process, chunk after chunk.
    """
    from shopfloor.supply import forecast_stages as stages

    config = config or ForecastConfig()
    y = _matrix(history)
    if y.shape[0] == 0 or y.shape[1] < 2:
        raise InputError("needs at least one series with two periods", field="history")
    silence = stages.fleet_silence(y, config, first_month)
    calibration = plain_calibration(config)
    if silence.calibration is not None:
        calibration = stages.calibrate_chunks(y, silence.calibration, config)
    parts = [
        stages.forecast_chunk(y[rows], silence.rows(rows), calibration, config, chunk)
        for chunk, rows in enumerate(stages.chunk_rows(y.shape[0], config.chunk))
    ]
    return stages.finish(stages.ChunkForecast.stack(parts), silence.forecast, calibration, config)


def monotone_quantiles(quantiles: dict[float, FloatArray]) -> None:
    """Higher levels never below lower ones (sampling noise can cross them)."""
    running: FloatArray | None = None
    for level in sorted(quantiles):
        running = quantiles[level] if running is None else np.maximum(running, quantiles[level])
        quantiles[level] = running
