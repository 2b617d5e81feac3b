"""The forecaster in stages: a chunk's forecast needs no other chunk, the pooled steps do."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from shopfloor.supply import forecast_stages as stages
from shopfloor.supply.forecasting import (
    LEVEL_GRID,
    Calibration,
    ForecastConfig,
    chunk_rng,
    forecast_demand,
)
from shopfloor.supply.selection import conformal_quantiles, pooled_residuals
from tests.supply.test_forecasting import FAST, _panel

CONFIG = ForecastConfig(horizon=4, chunk=20, **FAST)


def _seasonal_panel() -> np.ndarray:
    """Three smooth seasonal series (they switch to a local model) and a Poisson panel."""
    t = np.arange(60)
    rng = np.random.default_rng(1)
    season = 20 + 15 * np.sin(2 * np.pi * t / 12)
    smooth = np.vstack([season + rng.normal(0, 1, 60) for _ in range(3)])
    return np.vstack([np.maximum(np.round(smooth), 0), _panel(n=17, t=60)])


def test_chunks_run_in_any_order_give_forecast_demand() -> None:
    y = _panel()
    whole = forecast_demand(y, CONFIG)
    silence = stages.fleet_silence(y, CONFIG)
    assert silence.calibration is not None and silence.origins
    rows = stages.chunk_rows(len(y), CONFIG.chunk)
    assert [(r.start, r.stop) for r in rows] == [(0, 20), (20, 40), (40, 60)]
    sums = [
        stages.calibration_sums(y[r], silence.calibration[r], CONFIG, k) for k, r in enumerate(rows)
    ]
    calibration = stages.choose_calibration(sums[0] + sums[1] + sums[2], CONFIG)
    assert calibration == whole.calibration
    # Each chunk alone, the last first, as a backend may run them.
    parts = {
        k: stages.forecast_chunk(y[r], silence.rows(r), calibration, CONFIG, k)
        for k, r in reversed(list(enumerate(rows)))
    }
    staged = stages.finish(
        stages.ChunkForecast.stack([parts[k] for k in range(len(rows))]),
        silence.forecast,
        calibration,
        CONFIG,
    )
    for level in whole.quantiles:
        np.testing.assert_array_equal(staged.quantiles[level], whole.quantiles[level])
    np.testing.assert_array_equal(staged.mean, whole.mean)
    np.testing.assert_array_equal(staged.point, whole.point)
    assert all(np.array_equal(a, b) for a, b in zip(staged.pmfs, whole.pmfs, strict=True))


def test_calibration_sums_count_what_the_backtest_saw() -> None:
    y = _panel()
    y[:5, -2:] = np.nan  # held-out periods not observed
    silence = stages.calibration_silence(y, CONFIG)
    assert silence is not None
    sums = stages.calibration_sums(y, silence, CONFIG)
    windows = stages.calibration_windows(CONFIG)
    assert windows == (12, 24)
    assert sums.pinball.shape == (2, len(CONFIG.levels), LEVEL_GRID.size)
    assert sums.present == (~np.isnan(y[:, -4:])).sum() == 60 * 4 - 10
    # Higher sampled levels cover at least as many outcomes, never more than were seen.
    assert (np.diff(sums.covered, axis=1) >= 0).all() and sums.covered.max() <= sums.present
    assert (sums.rmsse_count <= 60).all() and (sums.rmsse_count > 0).all()
    # Too short a history, or nothing observed in its last h periods: no backtest.
    assert stages.calibration_silence(y[:, :13], CONFIG) is None
    assert stages.fleet_silence(y, replace(CONFIG, calibrate=False)).calibration is None


def test_levels_calibrated_to_one_sampled_level_keep_their_own_conformal_quantiles() -> None:
    y = _seasonal_panel()
    config = replace(CONFIG, horizon=6)
    silence = stages.fleet_silence(y, config)
    same = Calibration({0.5: 0.5, 0.8: 0.8, 0.9: 0.93, 0.95: 0.93}, 12, 12, 1.0)
    part = stages.forecast_chunk(y, silence, same, config)
    result = stages.finish(part, silence.forecast, same, config)
    assert result.model is not None
    switched = np.flatnonzero(result.model != "bootstrap")
    assert switched.size
    for name in set(result.model[switched]):
        rows = np.flatnonzero(result.model == name)
        residuals = pooled_residuals(part.errors[rows])
        expected = conformal_quantiles(part.model_mean[rows], part.scale[rows], residuals, [0.9])
        np.testing.assert_array_equal(result.quantiles[0.9][rows], expected[0.9])
    assert (result.quantiles[0.95][switched] > result.quantiles[0.9][switched]).any()


def test_chunk_streams() -> None:
    first = chunk_rng(7, 0).random(5)
    assert np.array_equal(first, np.random.default_rng(7).random(5))
    others = [chunk_rng(7, k).random(5) for k in (1, 2)]
    assert not np.array_equal(others[0], first) and not np.array_equal(others[0], others[1])
    assert np.array_equal(chunk_rng(7, 2).random(5), others[1])
