"""The silence-aware bootstrap forecaster and its per-series model choice."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.supply.forecasting import (
    ForecastConfig,
    forecast_demand,
    sample_paths,
)

FAST = {"samples": 100, "threads": 1}


def _panel(n: int = 60, t: int = 40, seed: int = 0) -> np.ndarray:
    """Intermittent Poisson series, a quarter of them dying half-way through."""
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0.2, 3.0, size=n)
    y = rng.poisson(rates[:, None], size=(n, t)).astype(np.float64)
    y[: n // 4, t // 2 :] = 0.0
    return y


def test_shapes_non_negative_and_ordered_quantiles() -> None:
    y = _panel()
    f = forecast_demand(y, ForecastConfig(horizon=4, **FAST))
    assert f.mean.shape == f.point.shape == (60, 4)
    assert set(f.quantiles) == {0.5, 0.8, 0.9, 0.95}
    levels = sorted(f.quantiles)
    for low, high in itertools.pairwise(levels):
        assert (f.quantiles[high] >= f.quantiles[low]).all()
    assert (f.mean >= 0).all() and (f.point >= 0).all()
    assert f.model is not None and len(f.model) == 60


def test_dead_series_are_forecast_silent_and_live_ones_near_their_rate() -> None:
    y = _panel()
    f = forecast_demand(y, ForecastConfig(horizon=4, select=False, **FAST))
    dead, live = slice(0, 15), slice(15, 60)
    assert f.silence[dead].mean() > 0.7
    assert f.silence[live].mean() < 0.3
    assert np.median(f.point[dead]) == 0.0
    # A live series that happens to have sold nothing lately looks like a dead one; the
    # bulk must still be forecast near its recent rate.
    ratio = f.mean[live, 0] / y[live, -24:].mean(axis=1)
    assert 0.8 <= np.median(ratio) <= 1.1
    assert np.mean(np.abs(ratio - 1) < 0.35) >= 0.85


def test_pmfs_are_distributions_matching_the_mean() -> None:
    f = forecast_demand(_panel(), ForecastConfig(horizon=3, select=False, **FAST))
    for i in (20, 40):
        d = f.distribution(i)
        assert d.pmf.sum() == pytest.approx(1.0)
        assert d.mean == pytest.approx(f.mean[i, 0], rel=1e-6)


def test_the_same_seed_gives_the_same_forecast() -> None:
    config = ForecastConfig(horizon=3, select=False, **FAST)
    a, b = forecast_demand(_panel(), config), forecast_demand(_panel(), config)
    np.testing.assert_array_equal(a.quantiles[0.9], b.quantiles[0.9])
    np.testing.assert_array_equal(a.point, b.point)


def test_calibrated_upper_quantile_covers_about_its_level_on_fresh_data() -> None:
    rng = np.random.default_rng(3)
    rates = rng.uniform(0.3, 4.0, size=200)
    y = rng.poisson(rates[:, None], size=(200, 46)).astype(np.float64)
    f = forecast_demand(y[:, :40], ForecastConfig(horizon=6, select=False, **FAST))
    covered = np.mean(y[:, 40:] <= f.quantiles[0.9])
    assert 0.85 <= covered <= 0.96
    assert f.calibration is not None
    assert set(f.calibration.sampled_levels) == {0.5, 0.8, 0.9, 0.95}
    assert f.calibration.quantile_window in (12, 24)


def test_missing_months_are_skipped_not_read_as_zero() -> None:
    y = _panel()
    y[30:, :10] = np.nan  # recorded late
    y[31, 20:25] = np.nan
    f = forecast_demand(y, ForecastConfig(horizon=2, select=False, **FAST))
    assert np.isfinite(f.mean).all()


def test_sample_paths_redraw_paths_that_sell_nothing() -> None:
    y = np.array([[0.0] * 10 + [5.0] + [0.0] * 13])  # one sale in 24 periods
    config = ForecastConfig(horizon=3, window=24, samples=50)
    paths = sample_paths(y, np.zeros(1), config, np.random.default_rng(0))
    assert paths.any(axis=2).all()  # silence is modelled apart, so no silent path here
    silent = sample_paths(y, np.ones(1), config, np.random.default_rng(0))
    assert not silent.any()


def test_a_seasonal_smooth_series_switches_to_a_seasonal_model() -> None:
    t = np.arange(60)
    rng = np.random.default_rng(1)
    season = 20 + 15 * np.sin(2 * np.pi * t / 12)
    smooth = np.vstack([season + rng.normal(0, 1, 60) for _ in range(3)])
    y = np.vstack([np.maximum(np.round(smooth), 0), _panel(t=60)])
    f = forecast_demand(y, ForecastConfig(horizon=6, **FAST))  # the default margin
    assert f.model is not None
    assert all(name != "bootstrap" for name in f.model[:3])
    truth = np.maximum(20 + 15 * np.sin(2 * np.pi * np.arange(60, 66) / 12), 0)
    assert np.abs(f.mean[:3] - truth).mean() < 3.0
    assert (f.quantiles[0.95][:3] >= f.quantiles[0.5][:3]).all()
    for i in range(3):  # the policies' pmf and the mean tell the same level
        assert f.distribution(i).mean == pytest.approx(f.mean[i].mean(), rel=0.02)


@pytest.mark.parametrize(
    ("history", "field"),
    [
        (np.array([1.0, 2.0, 3.0]), "history"),
        (np.array([[1.0, -2.0, 3.0]]), "history"),
        (np.array([[1.0, np.inf, 3.0]]), "history"),
        (np.zeros((0, 5)), "history"),
    ],
)
def test_bad_history_is_refused_naming_the_field(history: np.ndarray, field: str) -> None:
    with pytest.raises(InputError) as info:
        forecast_demand(history, ForecastConfig(horizon=2, **FAST))
    assert info.value.field == field


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(InputError) as info:
        ForecastConfig(horizon=0)
    assert info.value.field == "horizon"
    with pytest.raises(InputError) as info:
        ForecastConfig(levels=(0.5, 1.2))
    assert info.value.field == "levels"
