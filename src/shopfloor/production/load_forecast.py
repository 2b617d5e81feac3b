"""Energy-use (load) forecasting per 15-minute interval, and load-type classification.

Every model reads one regular series of energy use per interval, indexed by the start of
each interval (``freq`` apart, no missing stamps; missing *values* may be NaN), and
nothing else: measurements taken with the target in the same interval (reactive power,
CO2, power factor of a steel plant's meter) are never inputs, because they are not known
before the interval ends.

A forecast is *issued* at the end of the last known interval (its origin) for the next
``horizon`` intervals; the forecast of the interval ``k`` steps after the origin (its
*lead*) uses only:

* calendar of the target interval: step of the day, day of the week, weekend;
* the lead ``k``;
* the series up to the origin: the last value, the means of the last hour, four hours
  and day;
* seasonal lags of the target that are at least ``k`` steps old: the same step 1, 2, 3,
  7 and 14 days before, the mean of the same step over the last 7 days and over the same
  weekday of the last 4 weeks (a lag younger than the lead is NaN, never a peek).

:class:`LoadForecaster` is LightGBM on those features (one direct model for all leads:
its training rows draw a random lead per interval); :class:`SeasonalNaive` repeats the
same step one season earlier (the season chosen by its error on the history);
:meth:`backtest` issues forecasts along a series the way they would have been issued
live: every ``horizon`` steps from ``start``.  :class:`LoadTypeClassifier` predicts a
load label per interval (light / medium / maximum load) from the same features plus the
time of year: such labels follow a tariff's seasonal calendar.

No time-of-year feature is given to the forecaster by default (``annual=False``): with
one year of history a tree can only use it to memorise the level of particular weeks,
and a hold-out at the end of that year meets values it never saw (measured on the steel
plant data: day-ahead RMSE 21.9 with it, 17.9 without; BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.estimators import Estimator, local_rng

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

LAG_DAYS = (1, 2, 3, 7, 14)


@dataclass(frozen=True)
class LoadForecast:
    """Forecast energy use per interval.

    ``ts``: start of each forecast interval; ``value``: forecast use in the series' unit
    (e.g. kWh per interval); ``issued``: when each value was issued (the end of the last
    interval it knew); ``horizon``: intervals per issue.
    """

    ts: pd.DatetimeIndex
    value: F64
    issued: pd.DatetimeIndex
    horizon: int
    model: str

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"ts": self.ts, "issued": self.issued, "forecast": self.value})


@dataclass(frozen=True)
class LoadTypePrediction:
    """Predicted load label per interval; ``proba`` has one column per entry of ``classes``."""

    ts: pd.DatetimeIndex
    label: npt.NDArray[np.object_]
    proba: F64
    classes: tuple[str, ...]


# -- series and features -----------------------------------------------------------------------
def _check_series(series: Any, freq: pd.Timedelta, name: str) -> pd.Series:
    """A regular float series indexed by interval starts, or a one-line InputError."""
    if not isinstance(series, pd.Series) or not isinstance(series.index, pd.DatetimeIndex):
        raise InputError("expected a pandas Series indexed by timestamps", field=name)
    if len(series) < 2:
        raise InputError(f"{len(series)} values: too short", field=name)
    steps = np.diff(series.index.asi8)
    bad = np.flatnonzero(steps != steps[0]) if steps.size else np.zeros(0, np.int64)
    if pd.Timedelta(int(steps[0]), unit=series.index.unit) != freq or bad.size:
        row = int(bad[0]) + 1 if bad.size else 1
        raise InputError(
            f"timestamps must be {freq} apart, without gaps (at {series.index[row]})", field=name
        )
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(values).any():
        raise InputError("no finite value", field=name)
    return pd.Series(values, index=series.index, name=series.name)


def _steps_per_day(freq: pd.Timedelta) -> int:
    per_day = pd.Timedelta(days=1) / freq
    if per_day != int(per_day) or per_day < 1:
        raise InputError(f"freq {freq} does not divide a day", field="freq")
    return int(per_day)


def _trailing_mean(values: F64, window: int) -> F64:
    """Mean of the finite values among ``values[i - window + 1 .. i]`` for each i."""
    finite = np.isfinite(values)
    total = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
    count = np.concatenate([[0], np.cumsum(finite)])
    hi = np.arange(1, values.size + 1)
    lo = np.maximum(hi - window, 0)
    n = count[hi] - count[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (total[hi] - total[lo]) / np.maximum(n, 1), np.nan)


@dataclass(frozen=True)
class _Frame:
    """A series as arrays: values, interval starts, and its trailing means."""

    values: F64
    start: pd.Timestamp
    freq: pd.Timedelta
    per_day: int
    means: dict[int, F64]

    @classmethod
    def of(cls, series: pd.Series, freq: pd.Timedelta) -> _Frame:
        values = series.to_numpy(dtype=np.float64)
        per_day = _steps_per_day(freq)
        hour = max(int(pd.Timedelta(hours=1) / freq), 1)
        windows = (hour, 4 * hour, per_day)
        return cls(
            values, series.index[0], freq, per_day, {w: _trailing_mean(values, w) for w in windows}
        )

    def at(self, rows: I64) -> F64:
        """Values at ``rows``; NaN before the start (rows < 0)."""
        out = np.full(rows.size, np.nan)
        ok = (rows >= 0) & (rows < self.values.size)
        out[ok] = self.values[rows[ok]]
        return out

    def features(self, target: I64, lead: I64, annual: bool) -> pd.DataFrame:
        """Features of each target row issued ``lead`` steps before it (module notes)."""
        origin = target - lead
        if (origin < 0).any() or (origin >= self.values.size).any():
            raise InputError("a forecast origin lies outside the series", field="history")
        stamps = self.start + self.freq * pd.Index(target)
        midnight = stamps.normalize()
        day = self.per_day
        cols: dict[str, Any] = {
            "step_of_day": np.asarray((stamps - midnight) // self.freq, dtype=np.float64),
            "weekday": np.asarray(stamps.day_of_week, dtype=np.float64),
            "weekend": np.asarray(stamps.day_of_week >= 5, dtype=np.float64),
            "lead": lead.astype(np.float64),
            "last": self.values[origin],
        }
        for window, mean in self.means.items():
            cols[f"mean_{window}"] = mean[origin]
        for days in LAG_DAYS:
            lag = days * day
            cols[f"lag_{days}d"] = np.where(lag >= lead, self.at(target - lag), np.nan)
        cols["same_step_7d"] = self._mean_of_lags(target, lead, [d * day for d in range(1, 8)])
        cols["same_step_4w"] = self._mean_of_lags(target, lead, [w * 7 * day for w in (1, 2, 3, 4)])
        if annual:
            year = 2.0 * np.pi * np.asarray(stamps.day_of_year, dtype=np.float64) / 365.25
            cols["year_cos"], cols["year_sin"] = np.cos(year), np.sin(year)
        return pd.DataFrame(cols)

    def _mean_of_lags(self, target: I64, lead: I64, lags: Sequence[int]) -> F64:
        stack = np.stack([np.where(lag >= lead, self.at(target - lag), np.nan) for lag in lags])
        finite = np.isfinite(stack)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                finite.any(axis=0),
                np.where(finite, stack, 0.0).sum(axis=0) / np.maximum(finite.sum(axis=0), 1),
                np.nan,
            )


def _position(series: pd.Series, start: Any, name: str = "start") -> int:
    """Row of ``start`` (a timestamp or a row number) in the series."""
    if isinstance(start, int | np.integer):
        row = int(start)
    else:
        try:
            stamp = pd.Timestamp(start)
        except (TypeError, ValueError):
            raise InputError(f"cannot read '{start}' as a time", field=name) from None
        if (stamp.tzinfo is None) != (pd.DatetimeIndex(series.index).tz is None):
            raise InputError(
                "start and the series must both carry a time zone or neither", field=name
            )
        row = int(series.index.searchsorted(stamp))
        if row >= len(series) or series.index[row] != stamp:
            raise InputError(f"{stamp} is not an interval start of the series", field=name)
    if not 1 <= row < len(series):
        raise InputError(f"start row {row} leaves no history before it", field=name)
    return row


def _leads(n_targets: int, horizon: int) -> I64:
    """Leads of targets issued every ``horizon`` steps: 1, 2, .., horizon, 1, 2, .."""
    return np.arange(n_targets, dtype=np.int64) % horizon + 1


def _training_rows(
    valid: npt.NDArray[np.bool_], horizon: int, repeats: int, seed: int | None
) -> tuple[I64, I64]:
    """Targets (rows where ``valid``) and a random lead in 1..horizon for each, drawn
    ``repeats`` times (once for a one-step horizon: every lead is 1)."""
    rng = local_rng(seed)
    target = np.flatnonzero(valid)
    targets, leads = [], []
    for _ in range(1 if horizon == 1 else max(int(repeats), 1)):
        lead = rng.integers(1, horizon + 1, target.size) if horizon > 1 else np.ones_like(target)
        ok = target - lead >= 0
        targets.append(target[ok])
        leads.append(lead[ok].astype(np.int64))
    return np.concatenate(targets), np.concatenate(leads)


class _SeriesModel(Estimator):
    """Shared plumbing: the checked series, its step, forecast and backtest targets."""

    horizon: int
    freq: str

    def _freq(self) -> pd.Timedelta:
        try:
            step = pd.Timedelta(self.freq)
        except ValueError:
            raise InputError(f"cannot read freq '{self.freq}'", field="freq") from None
        if step <= pd.Timedelta(0):
            raise InputError(f"freq {step} is not positive", field="freq")
        _steps_per_day(step)
        if not isinstance(self.horizon, int | np.integer) or self.horizon < 1:
            raise InputError(f"horizon {self.horizon!r} must be >= 1 step", field="horizon")
        return step

    def _result(
        self, series: pd.Series, target: I64, lead: I64, values: F64, model: str
    ) -> LoadForecast:
        step = self._freq()
        ts = series.index[0] + step * pd.Index(target)
        issued = series.index[0] + step * pd.Index(target - lead + 1)
        return LoadForecast(
            ts=pd.DatetimeIndex(ts, name="ts"),
            value=np.asarray(values, dtype=np.float64),
            issued=pd.DatetimeIndex(issued, name="issued"),
            horizon=int(self.horizon),
            model=model,
        )

    def _future(self, history: pd.Series | None) -> tuple[pd.Series, I64, I64]:
        self._check_fitted()
        series: pd.Series = (
            self.history_  # type: ignore[attr-defined]
            if history is None
            else _check_series(history, self._freq(), "history")
        )
        n, horizon = len(series), int(self.horizon)
        return series, np.arange(n, n + horizon, dtype=np.int64), np.arange(1, horizon + 1)

    def _along(self, series: pd.Series, start: Any) -> tuple[pd.Series, I64, I64]:
        self._check_fitted()
        checked = _check_series(series, self._freq(), "series")
        first = _position(checked, start)
        target = np.arange(first, len(checked), dtype=np.int64)
        return checked, target, _leads(target.size, int(self.horizon))


# -- models ------------------------------------------------------------------------------------
class LoadForecaster(_SeriesModel):
    """LightGBM direct forecaster of energy use per interval (see the module notes)."""

    def __init__(
        self,
        *,
        horizon: int = 1,
        freq: str = "15min",
        n_estimators: int = 600,
        learning_rate: float = 0.03,
        num_leaves: int = 31,
        min_child_samples: int = 40,
        repeats: int = 1,
        annual: bool = False,
        seed: int | None = 0,
        threads: int = 1,
    ) -> None:
        self.horizon = horizon
        self.freq = freq
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.repeats = repeats
        self.annual = annual
        self.seed = seed
        self.threads = threads

    def fit(self, history: pd.Series) -> Self:
        """Learn from a regular history of energy use per interval (NaN values skipped)."""
        from lightgbm import LGBMRegressor

        step = self._freq()
        series = _check_series(history, step, "history")
        if len(series) < 2 * _steps_per_day(step):
            raise InputError("the history is shorter than two days", field="history")
        frame = _Frame.of(series, step)
        target, lead = _training_rows(
            np.isfinite(frame.values), int(self.horizon), self.repeats, self.seed
        )
        model = LGBMRegressor(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=self.seed,
            n_jobs=self.threads,
            deterministic=True,
            force_col_wise=True,
            verbose=-1,
        )
        features = frame.features(target, lead, self.annual)
        model.fit(features, frame.values[target])
        self.model_ = model
        self.feature_names_ = tuple(features.columns)
        self.history_ = series
        return self

    def _predict(self, series: pd.Series, target: I64, lead: I64) -> F64:
        frame = _Frame.of(series, self._freq())
        values = self.model_.predict(frame.features(target, lead, self.annual))
        return np.asarray(values, dtype=np.float64)

    def forecast(self, history: pd.Series | None = None) -> LoadForecast:
        """The next ``horizon`` intervals after ``history`` (default: the fitted history)."""
        series, target, lead = self._future(history)
        return self._result(series, target, lead, self._predict(series, target, lead), "lightgbm")

    def backtest(self, series: pd.Series, start: Any) -> LoadForecast:
        """Forecasts for every interval from ``start`` on, issued every ``horizon`` steps
        from ``start`` with only the values known then (the rest of ``series`` is truth)."""
        checked, target, lead = self._along(series, start)
        return self._result(checked, target, lead, self._predict(checked, target, lead), "lightgbm")


class SeasonalNaive(_SeriesModel):
    """The same interval one season earlier; the season (``candidates``, e.g. a week and a
    day) with the lowest RMSE on the fitted history is kept in ``season_``."""

    def __init__(
        self,
        *,
        horizon: int = 1,
        freq: str = "15min",
        candidates: tuple[str, ...] = ("7D", "1D"),
    ) -> None:
        self.horizon = horizon
        self.freq = freq
        self.candidates = candidates

    def fit(self, history: pd.Series) -> Self:
        step = self._freq()
        series = _check_series(history, step, "history")
        lags = []
        for text in self.candidates:
            lag = pd.Timedelta(text) / step
            if lag != int(lag) or lag < 1:
                raise InputError(
                    f"season {text} is not a whole number of steps", field="candidates"
                )
            lags.append(int(lag))
        if not lags or max(lags) >= len(series):
            raise InputError("the history is shorter than the longest season", field="history")
        values = series.to_numpy()
        rows = np.arange(max(lags), len(series))
        errors = {}
        for text, lag in zip(self.candidates, lags, strict=True):
            diff = values[rows] - values[rows - lag]
            errors[text] = float(np.sqrt(np.nanmean(diff**2)))
        best = min(errors, key=lambda k: errors[k])
        self.rmse_by_season_ = errors
        self.season_ = best
        self.lag_ = lags[list(self.candidates).index(best)]
        self.history_ = series
        return self

    def _predict(self, series: pd.Series, target: I64, lead: I64) -> F64:
        lag = self.lag_
        back = lag * -(-lead // lag)  # whole seasons, at least the lead: never a peek
        frame = _Frame.of(series, self._freq())
        return frame.at(target - back)

    def forecast(self, history: pd.Series | None = None) -> LoadForecast:
        series, target, lead = self._future(history)
        values = self._predict(series, target, lead)
        return self._result(series, target, lead, values, f"seasonal_naive_{self.season_}")

    def backtest(self, series: pd.Series, start: Any) -> LoadForecast:
        checked, target, lead = self._along(series, start)
        values = self._predict(checked, target, lead)
        return self._result(checked, target, lead, values, f"seasonal_naive_{self.season_}")


class LoadTypeClassifier(_SeriesModel):
    """LightGBM classifier of a load label per interval, from the forecaster's features
    (known ``horizon`` steps ahead at the latest) plus the time of year."""

    def __init__(
        self,
        *,
        horizon: int = 1,
        freq: str = "15min",
        n_estimators: int = 150,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        min_child_samples: int = 40,
        repeats: int = 1,
        seed: int | None = 0,
        threads: int = 1,
    ) -> None:
        self.horizon = horizon
        self.freq = freq
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.repeats = repeats
        self.seed = seed
        self.threads = threads

    def fit(self, history: pd.Series, labels: pd.Series) -> Self:
        """``labels``: one label per interval of ``history`` (same index; missing ones skipped)."""
        from lightgbm import LGBMClassifier

        step = self._freq()
        series = _check_series(history, step, "history")
        if not isinstance(labels, pd.Series) or not labels.index.equals(series.index):
            raise InputError("labels must be a Series on the history's index", field="labels")
        text = labels.astype("object").where(labels.notna(), None).to_numpy(dtype=object)
        known = np.array([v is not None for v in text])
        classes = tuple(sorted({str(v) for v in text[known]}))
        if len(classes) < 2:
            raise InputError("labels need at least two classes", field="labels")
        frame = _Frame.of(series, step)
        target, lead = _training_rows(known, int(self.horizon), self.repeats, self.seed)
        model = LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            random_state=self.seed,
            n_jobs=self.threads,
            deterministic=True,
            force_col_wise=True,
            verbose=-1,
        )
        y = np.array([str(v) for v in text[target]], dtype=object)
        model.fit(frame.features(target, lead, annual=True), y)
        self.model_ = model
        self.classes_ = tuple(str(c) for c in model.classes_)
        self.history_ = series
        return self

    def predict(self, series: pd.Series, start: Any) -> LoadTypePrediction:
        """Labels of every interval from ``start`` on, issued as :meth:`backtest` issues."""
        checked, target, lead = self._along(series, start)
        frame = _Frame.of(checked, self._freq())
        proba = np.asarray(
            self.model_.predict_proba(frame.features(target, lead, annual=True)), np.float64
        )
        ts = checked.index[0] + self._freq() * pd.Index(target)
        label = np.asarray(self.classes_, dtype=object)[np.argmax(proba, axis=1)]
        return LoadTypePrediction(
            ts=pd.DatetimeIndex(ts, name="ts"), label=label, proba=proba, classes=self.classes_
        )
