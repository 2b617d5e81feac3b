"""The lake's forecaster backtested: the last ``h`` periods held out, forecast, scored.

Printed by ``shopfloor demo``.  Scores as in :mod:`shopfloor.supply.metrics` (scaled by
each series' one-step naive error over its whole in-sample history), against the zero
forecast and the naive one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.supply.forecasting import forecast_demand
from shopfloor.supply.metrics import coverage, mase, rmsse, scaled_pinball_loss
from shopfloor.workflows.supply import Period, demand_matrix

# The forecast's own preparation of the lake's demand, shared with forecast_lake.
from shopfloor.workflows.supply_planning import (
    _LEVEL_COLUMNS,
    _calendar_position,
    _config,
    _history,
    _horizon,
)

__all__ = ["AccuracyScore", "ForecastAccuracy", "forecast_accuracy"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class AccuracyScore:
    """One method's errors on the held-out periods (means over the scored series; lower
    is better, except ``coverage_90``: the share of outcomes at or below the 0.9
    quantile, which should be near 0.9)."""

    method: str
    mase: float
    rmsse: float
    spl: float
    coverage_90: float


@dataclass(frozen=True)
class ForecastAccuracy:
    """The forecaster backtested: fitted without the last ``horizon`` periods, scored on them.

    Baselines: ``zero`` (nothing sells: every quantile 0) and ``naive`` (the last observed
    period repeated; quantiles from the series' last season of history).  MASE, RMSSE
    and SPL (the pinball loss over 0.5, 0.8, 0.9, 0.95) are scaled by each series' naive
    in-sample error; series whose history never changes (no scale) or that are not
    observed in the held-out periods are not scored.
    """

    period: Period
    horizon: int
    held_out: tuple[date, date]  # first day of the first and of the last held-out period
    series: int  # series scored
    scores: tuple[AccuracyScore, ...]
    demand_version: int

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([s.__dict__ for s in self.scores]).set_index("method")

    def score(self, method: str) -> AccuracyScore:
        for s in self.scores:
            if s.method == method:
                return s
        raise KeyError(method)


def _naive(history: F64, horizon: int, season: int) -> tuple[F64, dict[float, F64]]:
    n = history.shape[0]
    observed = ~np.isnan(history)
    last_index = history.shape[1] - 1 - np.argmax(observed[:, ::-1], axis=1)
    last = np.where(observed.any(axis=1), history[np.arange(n), last_index], 0.0)
    point = np.repeat(last[:, None], horizon, axis=1)
    recent = history[:, -season:]
    unseen = np.asarray(np.isnan(recent).all(axis=1))
    recent = np.where(unseen[:, None], 0.0, recent)
    quantiles = {}
    for level in _LEVEL_COLUMNS:
        q = np.asarray(
            np.nanquantile(recent, level, axis=1, method="inverted_cdf"), dtype=np.float64
        )
        quantiles[level] = np.repeat(q[:, None], horizon, axis=1)
    return point, quantiles


def _score(
    method: str, actual: F64, history: F64, point: F64, quantiles: dict[float, F64]
) -> AccuracyScore:
    return AccuracyScore(
        method=method,
        mase=float(np.nanmean(mase(actual, point, history))),
        rmsse=float(np.nanmean(rmsse(actual, point, history))),
        spl=float(np.nanmean(scaled_pinball_loss(actual, quantiles, history))),
        coverage_90=coverage(actual, quantiles[0.9]),
    )


def forecast_accuracy(
    lake: Lake, *, horizon: int | None = None, period: Period | str | None = None
) -> ForecastAccuracy:
    """Hold out the last ``horizon`` periods, forecast them from the rest, score all three."""
    h = _horizon(lake, horizon)
    matrix = demand_matrix(lake, period)
    values = _history(matrix)
    need = h + 2
    if matrix.n_periods < need:
        raise InputError(
            f"{matrix.n_periods} complete {matrix.period}(s) of demand: a backtest over "
            f"{h} needs at least {need}",
            field="horizon",
        )
    history, actual = values[:, :-h], values[:, -h:]
    config = _config(lake, h, matrix.period)
    ours = forecast_demand(history, config, _calendar_position(matrix.periods[0], matrix.period))
    with np.errstate(all="ignore"):
        scale = np.nanmean(np.abs(np.diff(history, axis=1)), axis=1)
    keep = (~np.isnan(actual)).any(axis=1) & (scale > 0)
    if not keep.any():
        raise InputError("no series with a history that varies and held-out demand", field="demand")
    history, actual = history[keep], actual[keep]
    zero = np.zeros_like(actual)
    naive_point, naive_q = _naive(history, h, config.season_length)
    scores = (
        _score(
            "forecast",
            actual,
            history,
            ours.point[keep],
            {level: q[keep] for level, q in ours.quantiles.items()},
        ),
        _score("zero", actual, history, zero, dict.fromkeys(_LEVEL_COLUMNS, zero)),
        _score("naive", actual, history, naive_point, naive_q),
    )
    held = (pd.Timestamp(matrix.periods[-h]).date(), pd.Timestamp(matrix.periods[-1]).date())
    return ForecastAccuracy(matrix.period, h, held, int(keep.sum()), scores, matrix.version)
