"""Load forecasting: the estimator contract, no peeking past the origin, the baselines."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError, NotFittedError
from shopfloor.production.load_forecast import (
    LoadForecast,
    LoadForecaster,
    LoadTypeClassifier,
    LoadTypePrediction,
    SeasonalNaive,
)

FAST = {"n_estimators": 80, "learning_rate": 0.1}
DAYS = 42
PER_DAY = 96


def _plant(days: int = DAYS, seed: int = 0) -> tuple[pd.Series, pd.Series]:
    """A plant's use per quarter hour: shifts on weekdays, slow random swings, and labels
    set by a tariff-like calendar (the answer the classifier must find)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=days * PER_DAY, freq="15min", name="start")
    hour = index.hour + index.minute / 60.0
    weekday = index.day_of_week < 5
    shift = weekday & (hour >= 6) & (hour < 22)
    swing = np.zeros(index.size)
    noise = rng.normal(0.0, 4.0, index.size)
    for i in range(1, index.size):  # persistent load swings: the recent past matters
        swing[i] = 0.9 * swing[i - 1] + noise[i]
    use = 5.0 + 60.0 * shift + 15.0 * (weekday & (hour >= 9) & (hour < 12)) + swing
    use = np.maximum(use + rng.normal(0.0, 1.0, index.size), 0.0)
    peak = weekday & (((hour >= 10) & (hour < 12)) | ((hour >= 13) & (hour < 17)))
    label = np.where(peak, "Maximum", np.where(shift, "Medium", "Light"))
    return pd.Series(use, index=index, name="use"), pd.Series(label, index=index)


SERIES, LABELS = _plant()
CUT = 35 * PER_DAY  # the last week is the hold-out, from a Monday midnight


def _rmse(forecast: LoadForecast) -> float:
    actual = SERIES.reindex(forecast.ts).to_numpy()
    return float(np.sqrt(np.mean((actual - forecast.value) ** 2)))


def test_one_step_forecast_beats_the_seasonal_naive() -> None:
    model = LoadForecaster(horizon=1, **FAST).fit(SERIES.iloc[:CUT])
    ours = model.backtest(SERIES, CUT)
    naive = SeasonalNaive(horizon=1).fit(SERIES.iloc[:CUT]).backtest(SERIES, CUT)
    assert isinstance(ours, LoadForecast) and ours.model == "lightgbm"
    assert len(ours.ts) == len(SERIES) - CUT and ours.ts[0] == SERIES.index[CUT]
    assert (ours.issued == ours.ts).all()  # one step ahead: issued as the interval starts
    assert _rmse(ours) < 0.7 * _rmse(naive)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ours.horizon = 2  # type: ignore[misc]
    assert list(ours.frame().columns) == ["ts", "issued", "forecast"]


def test_day_ahead_is_issued_at_midnight_and_never_peeks() -> None:
    model = LoadForecaster(horizon=PER_DAY, **FAST).fit(SERIES.iloc[:CUT])
    ours = model.backtest(SERIES, CUT)
    issued = pd.DatetimeIndex(ours.issued)
    assert (issued == issued.normalize()).all()  # every value issued at a midnight
    assert issued.nunique() == 7
    # Values after an origin cannot change what was issued there: scramble the hold-out's
    # second half and the first day's forecasts (issued before it) stay the same.
    scrambled = SERIES.copy()
    scrambled.iloc[CUT + 3 * PER_DAY :] = 1e6
    again = model.backtest(scrambled, CUT)
    np.testing.assert_array_equal(again.value[: 3 * PER_DAY], ours.value[: 3 * PER_DAY])
    assert not np.array_equal(again.value, ours.value)
    # Within a day the model sees nothing after midnight, not even the first interval.
    tweaked = SERIES.copy()
    tweaked.iloc[CUT : CUT + PER_DAY - 1] += 50.0
    day_one = model.backtest(tweaked, CUT).value[:PER_DAY]
    np.testing.assert_array_equal(day_one, ours.value[:PER_DAY])


def test_forecast_the_next_horizon_after_a_history() -> None:
    model = LoadForecaster(horizon=8, **FAST).fit(SERIES.iloc[:CUT])
    ahead = model.forecast()
    step = pd.Timedelta("15min")
    assert list(ahead.ts) == list(SERIES.index[CUT - 1] + step * np.arange(1, 9))
    assert (ahead.issued == SERIES.index[CUT - 1] + step).all()
    later = model.forecast(SERIES.iloc[: CUT + 10])
    assert later.ts[0] == SERIES.index[CUT + 10] and later.value.shape == (8,)
    assert np.isfinite(later.value).all()


def test_estimator_contract() -> None:
    model = LoadForecaster(horizon=4, seed=3, **FAST)
    params = model.get_params()
    assert params["horizon"] == 4 and params["seed"] == 3 and not model.is_fitted
    with pytest.raises(NotFittedError):
        model.forecast()
    history = SERIES.iloc[:CUT].copy()
    assert model.fit(history) is model and model.is_fitted
    pd.testing.assert_series_equal(history, SERIES.iloc[:CUT])  # fit leaves its input alone
    assert "lag_1d" in model.feature_names_ and "year_cos" not in model.feature_names_
    first = model.forecast().value
    np.testing.assert_array_equal(
        LoadForecaster(horizon=4, seed=3, **FAST).fit(history).forecast().value, first
    )
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).forecast().value, first)
    assert not model.clone().is_fitted and model.clone().get_params() == params


def test_seasonal_naive_picks_the_better_season() -> None:
    weekly = SeasonalNaive().fit(SERIES.iloc[:CUT])
    assert weekly.season_ == "7D" and weekly.lag_ == 7 * PER_DAY
    assert weekly.rmse_by_season_["7D"] < weekly.rmse_by_season_["1D"]
    # A plant running the same every day (no weekend) is better told by yesterday.
    index = pd.date_range("2026-01-05", periods=21 * PER_DAY, freq="15min")
    drift = np.linspace(0, 50, index.size)
    daily = pd.Series(20 + 10 * np.sin(2 * np.pi * np.arange(index.size) / PER_DAY) + drift, index)
    assert SeasonalNaive().fit(daily).season_ == "1D"
    # Leads beyond the season look whole seasons back: a 2-day horizon on a daily season.
    two_days = SeasonalNaive(horizon=2 * PER_DAY, candidates=("1D",)).fit(daily)
    ahead = two_days.forecast()
    values = daily.to_numpy()
    np.testing.assert_allclose(ahead.value[:PER_DAY], values[-PER_DAY:])
    np.testing.assert_allclose(ahead.value[PER_DAY:], values[-PER_DAY:])
    assert ahead.model == "seasonal_naive_1D"


def test_load_type_classifier() -> None:
    classifier = LoadTypeClassifier(horizon=1, **FAST).fit(SERIES.iloc[:CUT], LABELS.iloc[:CUT])
    predicted = classifier.predict(SERIES, CUT)
    assert isinstance(predicted, LoadTypePrediction)
    assert predicted.classes == ("Light", "Maximum", "Medium")
    assert predicted.proba.shape == (len(SERIES) - CUT, 3)
    np.testing.assert_allclose(predicted.proba.sum(axis=1), 1.0)
    assert np.mean(predicted.label == LABELS.to_numpy()[CUT:]) > 0.95
    with pytest.raises(InputError, match="labels"):
        LoadTypeClassifier(**FAST).fit(SERIES.iloc[:CUT], LABELS.iloc[: CUT - 1])
    with pytest.raises(InputError, match="labels"):
        LoadTypeClassifier(**FAST).fit(SERIES.iloc[:CUT], pd.Series("A", index=SERIES.index[:CUT]))


def test_bad_series_and_settings_name_the_field() -> None:
    gap = SERIES.drop(SERIES.index[500])
    with pytest.raises(InputError, match="history") as info:
        LoadForecaster(**FAST).fit(gap)
    assert "15min" in str(info.value) or "0 days 00:15:00" in str(info.value)
    with pytest.raises(InputError, match="history"):
        LoadForecaster(**FAST).fit(SERIES.to_numpy())  # type: ignore[arg-type]
    with pytest.raises(InputError, match="history"):
        LoadForecaster(**FAST).fit(SERIES.iloc[:100])  # under two days
    with pytest.raises(InputError, match="horizon"):
        LoadForecaster(horizon=0).fit(SERIES)
    with pytest.raises(InputError, match="freq"):
        LoadForecaster(freq="7min").fit(SERIES)
    model = LoadForecaster(**FAST).fit(SERIES.iloc[:CUT])
    with pytest.raises(InputError, match="start"):
        model.backtest(SERIES, "2026-01-05 00:07")  # not an interval start
    with pytest.raises(InputError, match="start"):
        model.backtest(SERIES, 0)  # nothing known before it
