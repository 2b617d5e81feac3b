"""Car-parts demand benchmark (see the dataset README under shared/datasets/carparts).

Protocol: 2,674 monthly series of spare-part sales, 51 months.  Fit on all but the last
``horizon`` months (45 with the default 6), forecast those, and score:

- ``mase``: mean absolute error over the in-sample one-step naive MAE (Hyndman and
  Koehler 2006), averaged over every series whose scale is not zero;
- ``rmsse`` and ``spl``: the M5 scale, the one-step naive error counted from each
  series' first sale on (leading zeros of a part not yet sold do not shrink it);
  RMSSE on the point forecast, SPL the pinball loss over the quantiles 0.5, 0.8, 0.9
  and 0.95 divided by the scale's MAE; averaged over the series where it is defined
  (``series``);
- ``coverage_90``: the share of all held-out outcomes at or below the 0.9 quantile;
- ``mase_monash_h12``: the convention of the Monash archive table (Godahewa et al.
  2021): missing months read as zeros (the archive's car_parts set), the last 12
  months forecast from the first 39, forecasts rounded to whole units, MASE scaled by
  the seasonal (lag-12) naive MAE; series with a zero scale skipped (the zero
  forecast scores 0.746 this way, as in the table).

Missing months are missing (NaN), not zero, in the fit and in the scores.  Baselines of
the same run: statsforecast's Naive, SES, ETS, Croston, SBA, TSB, ADIDA, IMAPA and the
zero forecast; Naive and ETS quantiles from their own Gaussian intervals, the others
Poisson quantiles around their mean (what an intermittent model without a distribution
is usually given), plus the empirical quantiles of the last 12 months.  ``seconds`` is
our forecast of every series; ``policy_seconds`` the (s, Q) design for every series on
the forecast pmfs (lead time 1/2/3 months with 0.5/0.3/0.2, K = 10, h = 1, 95 % fill);
``peak_memory_mb`` the process's peak resident memory once both are done.
"""

from __future__ import annotations

import resource
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError

FILE_NAME = "carparts.csv"
LEVELS = (0.5, 0.8, 0.9, 0.95)
BASELINES = ("naive", "ses", "ets", "croston", "sba", "tsb", "adida", "imapa", "zero")
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Scores:
    mase: float
    rmsse: float
    spl: float
    coverage_90: float

    def as_dict(self) -> dict[str, float]:
        return {"mase": self.mase, "rmsse": self.rmsse, "spl": self.spl}


@dataclass(frozen=True)
class CarpartsReport:
    ours: Scores
    mase_monash_h12: float
    series: int
    horizon: int
    seconds: float
    policy_seconds: float
    peak_memory_mb: float
    baselines: dict[str, Scores] = field(default_factory=dict)
    zero_mase_monash_h12: float = float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "mase": self.ours.mase,
            "mase_monash_h12": self.mase_monash_h12,
            "rmsse": self.ours.rmsse,
            "spl": self.ours.spl,
            "coverage_90": self.ours.coverage_90,
            "series": self.series,
            "horizon": self.horizon,
            "seconds": self.seconds,
            "policy_seconds": self.policy_seconds,
            "peak_memory_mb": self.peak_memory_mb,
            "baselines": {name: s.as_dict() for name, s in self.baselines.items()},
            "zero_mase_monash_h12": self.zero_mase_monash_h12,
        }


def load_carparts(data: Path) -> FloatArray:
    """The car-parts CSV (or ``data/carparts.csv``) as a series x months matrix, NaN = missing."""
    path = Path(data)
    if path.is_dir():
        path = path / FILE_NAME
    source = str(path)
    if not path.is_file():
        raise InputError("no such file (expected the car-parts CSV)", source=source)
    try:
        frame = pd.read_csv(path, dtype={"part_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV file ({exc})", source=source) from exc
    if "part_id" not in frame.columns:
        raise InputError("required column is missing", source=source, field="part_id")
    months = frame.drop(columns="part_id")
    if len(frame) == 0 or months.shape[1] < 8:
        raise InputError("needs data rows and at least 8 monthly columns", source=source)
    values = months.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = (months.notna().to_numpy() & np.isnan(values)) | np.isinf(values) | (values < 0)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise InputError(
            "sales must be non-negative numbers (empty = missing)",
            source=source,
            row=int(row) + 1,
            field=str(months.columns[column]),
        )
    return np.asarray(values, dtype=np.float64)


def _scores(
    actual: FloatArray,
    history: FloatArray,
    point: FloatArray,
    quantiles: dict[float, FloatArray],
    keep: npt.NDArray[np.bool_],
) -> Scores:
    from shopfloor.supply.metrics import coverage, mase, rmsse, scaled_pinball_loss

    # A series with no held-out month or no scale is NaN and left out by ``keep``.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scaled_rmse = rmsse(actual, point, history, first_sale=True)
        levels = {q: quantiles[q] for q in LEVELS}
        spl = scaled_pinball_loss(actual, levels, history, first_sale=True)
        # MASE over every series with a one-step naive scale (the convention)
        m = mase(actual, point, history)
    scored = np.isfinite(m) & ~np.all(np.isnan(actual), axis=1)
    return Scores(
        mase=float(np.nanmean(m[scored])),
        rmsse=float(np.nanmean(scaled_rmse[keep])),
        spl=float(np.nanmean(spl[keep])),
        coverage_90=coverage(actual[keep], quantiles[0.9][keep]),
    )


def _monash_mase(full: FloatArray, forecast: Callable[[FloatArray, int], FloatArray]) -> float:
    from shopfloor.supply.metrics import mase

    filled = np.nan_to_num(full)  # the archive's car_parts set has missing months as zeros
    history, actual = filled[:, :-12], filled[:, -12:]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = mase(actual, np.round(forecast(history, 12)), history, lag=12)
    return float(np.nanmean(values[np.isfinite(values)]))


def run_carparts(
    data: Path,
    *,
    horizon: int = 6,
    seed: int = 0,
    baselines: tuple[str, ...] = BASELINES,
    progress: Callable[[str], None] | None = None,
) -> CarpartsReport:
    """Run the protocol of the module docstring on the CSV at ``data``."""
    from shopfloor.supply.forecasting import ForecastConfig, forecast_demand
    from shopfloor.supply.inventory import Distribution
    from shopfloor.supply.local_models import local_forecasts, poisson_quantiles
    from shopfloor.supply.metrics import first_sale_scale
    from shopfloor.supply.policies import Costs, ServiceTarget, design_policies

    say = progress or (lambda _message: None)
    full = load_carparts(data)
    if not 1 <= horizon <= full.shape[1] - 12:
        raise InputError(f"must be between 1 and {full.shape[1] - 12}", field="horizon")
    history, actual = full[:, :-horizon], full[:, -horizon:]
    keep = ~np.isnan(first_sale_scale(history)) & ~np.all(np.isnan(actual), axis=1)
    config = ForecastConfig(horizon=horizon, seed=seed)

    say(f"forecasting {len(full)} series, {horizon} months on")
    started = time.perf_counter()
    ours = forecast_demand(history, config)
    seconds = time.perf_counter() - started

    say("designing a (s, Q) policy per series from the forecast distributions")
    started = time.perf_counter()
    lead_time = Distribution(np.array([0.0, 0.5, 0.3, 0.2]))
    sells = [i for i in range(len(full)) if ours.distribution(i).mean > 0]
    design_policies(
        [ours.distribution(i) for i in sells],
        lead_time,
        ServiceTarget("fill_rate", 0.95),
        Costs(order_cost=10.0, holding_cost=1.0),
    )
    policy_seconds = time.perf_counter() - started
    # Peak resident memory of the process so far: reading, forecasting every series and
    # designing every policy (the baselines and the 12-month run come after).
    peak_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    scores = _scores(actual, history, ours.point, ours.quantiles, keep)

    say("12-month forecast for the Monash convention")

    def ours_h(h_history: FloatArray, h: int) -> FloatArray:
        return forecast_demand(h_history, ForecastConfig(horizon=h, seed=seed)).point

    monash = _monash_mase(full, ours_h)
    zero_monash = _monash_mase(full, lambda h_history, h: np.zeros((len(h_history), h)))

    say(f"baselines: {', '.join(baselines)}")
    fitted = local_forecasts(history, horizon, baselines, levels=LEVELS)
    results = {}
    for name, out in fitted.items():
        quantiles = (
            {q: out[str(q)] for q in LEVELS}
            if str(LEVELS[0]) in out
            else poisson_quantiles(out["mean"], LEVELS)
        )
        results[name] = _scores(actual, history, out["mean"], quantiles, keep)
    last12 = history[:, -12:]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        empirical = {
            q: np.repeat(
                np.nan_to_num(np.nanquantile(last12, q, axis=1, method="inverted_cdf"))[:, None],
                horizon,
                axis=1,
            )
            for q in LEVELS
        }
        empirical_mean = np.repeat(np.nan_to_num(np.nanmean(last12, axis=1))[:, None], horizon, 1)
    results["empirical_12"] = _scores(actual, history, empirical_mean, empirical, keep)
    return CarpartsReport(
        ours=scores,
        mase_monash_h12=monash,
        series=int(keep.sum()),
        horizon=horizon,
        seconds=seconds,
        policy_seconds=policy_seconds,
        peak_memory_mb=peak_memory_mb,
        baselines=results,
        zero_mase_monash_h12=zero_monash,
    )
