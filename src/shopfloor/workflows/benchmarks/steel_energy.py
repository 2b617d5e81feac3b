"""Steel-plant energy benchmark (shared/datasets/steel-energy, UCI 851, DAEWOO Steel 2018).

Protocol (the dataset README has no official split; it asks for a time-ordered hold-out):

* the file's ``date`` is the *end* of each 15-minute interval, and the last interval of a
  day is stamped ``00:00`` of that same day (``01/01/2018 00:00`` follows
  ``01/01/2018 23:45``); such a stamp is moved to the next day, then every interval is
  indexed by its start and must be 15 minutes after the one before;
* the last 20 % of the rows are the hold-out, its start moved forward to a midnight so
  that day-ahead forecasts are issued at midnight (2018-10-20 00:00 .. 2018-12-31 24:00,
  7,008 intervals); every model is fitted on the rows before it only;
* the target is ``Usage_kWh``; the only input is its own past.  The reactive power,
  CO2 and power-factor columns are measured with the target in the same interval and
  are never read (they would leak it);
* two horizons: **one step** (each interval forecast 15 minutes ahead, at its start,
  with the values known then: a rolling forecast) and **day-ahead** (96 intervals issued
  at each midnight);
* the baseline is seasonal-naive: the same interval a week or a day earlier, the season
  chosen by its RMSE on the training rows (the hold-out RMSE of both is reported too);
  the RMSE of persistence (the last known value repeated) is given as context: at one
  step it is a much stronger reference than any seasonal one;
* RMSE and MAE in kWh per interval; CV(RMSE) = RMSE / mean hold-out use, in %;
* ``Load_Type`` (light / medium / maximum load) is classified per hold-out interval with
  the features known at each horizon; accuracy and macro F1.

The headline figures (top-level ``rmse``, ``mae``, ``cv_rmse``, ``load_type_accuracy``)
are the one-step horizon's; ``day_ahead`` holds the same figures issued at midnight.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.production.load_forecast import LoadForecaster, LoadTypeClassifier, SeasonalNaive

FILE_NAME = "Steel_industry_data.csv"
DATE, USAGE, LOAD_TYPE = "date", "Usage_kWh", "Load_Type"
DATE_FORMAT = "%d/%m/%Y %H:%M"
STEP = pd.Timedelta(minutes=15)
PER_DAY = 96
HOLDOUT = 0.2
HORIZONS = (1, PER_DAY)
MIN_TRAIN_DAYS = 28


@dataclass(frozen=True)
class BaselineFigures:
    season: str  # the season chosen on the training rows: '7D' or '1D'
    rmse: float
    mae: float
    cv_rmse: float
    improvement: float  # 1 - forecast RMSE / baseline RMSE
    holdout_rmse_by_season: dict[str, float]
    persistence_rmse: float  # the last known value repeated: context, not the baseline


@dataclass(frozen=True)
class HorizonFigures:
    steps: int
    rmse: float
    mae: float
    cv_rmse: float
    load_type_accuracy: float
    load_type_macro_f1: float
    baseline: BaselineFigures


@dataclass(frozen=True)
class SteelEnergyReport:
    one_step: HorizonFigures
    day_ahead: HorizonFigures
    n_train: int
    n_test: int
    holdout_start: pd.Timestamp
    holdout_end: pd.Timestamp
    seed: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        head = self.one_step
        return {
            "rmse": head.rmse,
            "mae": head.mae,
            "cv_rmse": head.cv_rmse,
            "load_type_accuracy": head.load_type_accuracy,
            "baseline": asdict(head.baseline),
            "horizon_steps": head.steps,
            "load_type_macro_f1": head.load_type_macro_f1,
            "day_ahead": asdict(self.day_ahead),
            "holdout": {
                "start": self.holdout_start.isoformat(),
                "end": self.holdout_end.isoformat(),
                "share": HOLDOUT,
            },
            "n_train": self.n_train,
            "n_test": self.n_test,
            "seed": self.seed,
            "seconds": self.seconds,
        }


# -- reading -----------------------------------------------------------------------------------
def load_steel(data: Path) -> pd.DataFrame:
    """The steel-plant CSV as ``usage`` and ``load_type`` per interval start (naive local
    time), checked; :class:`InputError` naming the file, row and field when malformed."""
    path = Path(data)
    if path.is_dir():
        path = path / FILE_NAME
    source = str(path)
    if not path.is_file():
        raise InputError("no such file (expected the steel-plant energy CSV)", source=source)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", source=source) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV file ({exc})", source=source) from None
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    for column in (DATE, USAGE, LOAD_TYPE):
        if column not in frame.columns:
            raise InputError("required column is missing", source=source, field=column)
    if frame.empty:
        raise InputError("the file has no data rows", source=source)

    def fail(message: str, mask: np.ndarray, column: str) -> InputError:
        row = int(np.flatnonzero(mask)[0])  # data rows count from 1 below the header
        value = frame[column].iloc[row]
        return InputError(f"{message}: {value!r}", source=source, row=row + 1, field=column)

    text = frame[DATE].str.strip()
    end = pd.to_datetime(text, format=DATE_FORMAT, errors="coerce")
    if end.isna().any():
        raise fail(f"not a date as {DATE_FORMAT}", end.isna().to_numpy(), DATE)
    # The day's last interval is stamped 00:00 of the same day: it ends at the next midnight.
    stamps = end.to_numpy(dtype="datetime64[ns]")
    midnight = (end.dt.hour == 0).to_numpy() & (end.dt.minute == 0).to_numpy()
    behind = np.r_[False, stamps[1:] <= stamps[:-1]]
    stamps = np.where(midnight & behind, stamps + np.timedelta64(1, "D"), stamps)
    steps = np.diff(stamps)
    irregular = np.r_[False, steps != np.timedelta64(STEP)]
    if irregular.any():
        raise fail("not 15 minutes after the row before", irregular, DATE)
    usage = pd.to_numeric(frame[USAGE], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(usage) | (usage < 0)
    if bad.any():
        raise fail("not an energy use in kWh", bad, USAGE)
    labels = frame[LOAD_TYPE].str.strip()
    if (labels == "").any():
        raise fail("missing load type", (labels == "").to_numpy(), LOAD_TYPE)
    index = pd.DatetimeIndex(stamps - np.timedelta64(STEP), name="start")
    return pd.DataFrame({"usage": usage, "load_type": labels.to_numpy(dtype=object)}, index=index)


def holdout_start(index: pd.DatetimeIndex, share: float = HOLDOUT) -> int:
    """Row where the hold-out starts: the last ``share`` of the rows, from a midnight."""
    first = round(len(index) * (1.0 - share))
    at_midnight = np.flatnonzero(index[first:] == index[first:].normalize())
    if not at_midnight.size:
        raise InputError("the hold-out holds no midnight", field=DATE)
    return first + int(at_midnight[0])


# -- scoring -----------------------------------------------------------------------------------
def _errors(actual: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    diff = actual - predicted
    rmse = float(np.sqrt(np.mean(diff**2)))
    return rmse, float(np.mean(np.abs(diff))), 100.0 * rmse / float(np.mean(actual))


def _macro_f1(actual: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(actual, predicted, average="macro"))


def _horizon(
    series: pd.Series, labels: pd.Series, cut: int, steps: int, seed: int
) -> HorizonFigures:
    train = series.iloc[:cut]
    actual = series.to_numpy()[cut:]
    model = LoadForecaster(horizon=steps, seed=seed).fit(train)
    ours = _errors(actual, model.backtest(series, cut).value)
    naive = SeasonalNaive(horizon=steps).fit(train)
    base = _errors(actual, naive.backtest(series, cut).value)
    by_season = {}
    for season in naive.candidates:
        other = SeasonalNaive(horizon=steps, candidates=(season,)).fit(train)
        by_season[season] = round(_errors(actual, other.backtest(series, cut).value)[0], 4)
    lead = np.arange(actual.size) % steps + 1
    last_known = series.to_numpy()[cut + np.arange(actual.size) - lead]
    persistence = _errors(actual, last_known)[0]
    classifier = LoadTypeClassifier(horizon=steps, seed=seed).fit(train, labels.iloc[:cut])
    predicted = classifier.predict(series, cut).label
    truth = labels.to_numpy(dtype=object)[cut:]
    return HorizonFigures(
        steps=steps,
        rmse=round(ours[0], 4),
        mae=round(ours[1], 4),
        cv_rmse=round(ours[2], 3),
        load_type_accuracy=round(float(np.mean(predicted == truth)), 4),
        load_type_macro_f1=round(_macro_f1(truth, predicted), 4),
        baseline=BaselineFigures(
            season=naive.season_,
            rmse=round(base[0], 4),
            mae=round(base[1], 4),
            cv_rmse=round(base[2], 3),
            improvement=round(1.0 - ours[0] / base[0], 4),
            holdout_rmse_by_season=by_season,
            persistence_rmse=round(persistence, 4),
        ),
    )


def run_steel_energy(
    data: Path, *, seed: int = 0, progress: Callable[[str], None] | None = None
) -> SteelEnergyReport:
    """Forecast and classify the steel plant's last 20 % (see the module notes)."""
    started = time.perf_counter()
    note = progress or (lambda _message: None)
    note("reading the steel-plant file")
    frame = load_steel(data)
    cut = holdout_start(pd.DatetimeIndex(frame.index))
    if cut < MIN_TRAIN_DAYS * PER_DAY:
        raise InputError(
            f"{cut} training rows: the protocol needs at least {MIN_TRAIN_DAYS} days before "
            "the hold-out",
            source=str(data),
        )
    series, labels = frame["usage"], frame["load_type"]
    figures = []
    for steps, name in zip(HORIZONS, ("one step", "day-ahead"), strict=True):
        note(f"{name}: fitting the forecaster, the baseline and the load-type classifier")
        figures.append(_horizon(series, labels, cut, steps, seed))
    return SteelEnergyReport(
        one_step=figures[0],
        day_ahead=figures[1],
        n_train=cut,
        n_test=len(frame) - cut,
        holdout_start=frame.index[cut],
        holdout_end=frame.index[-1] + STEP,
        seed=seed,
        seconds=round(time.perf_counter() - started, 2),
    )
