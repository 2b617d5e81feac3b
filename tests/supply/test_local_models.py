"""statsforecast's models on numpy arrays, on pandas 3 (see requirements-nodeps.txt)."""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.supply.local_models import MODELS, local_forecasts, poisson_quantiles


def _history(n: int = 4, t: int = 36, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(3.0, size=(n, t)).astype(np.float64)


def test_every_model_forecasts_every_series_non_negative() -> None:
    history = _history()
    out = local_forecasts(history, 6, MODELS)
    assert set(out) == set(MODELS)
    for name, result in out.items():
        assert result["mean"].shape == (4, 6), name
        assert np.isfinite(result["mean"]).all() and (result["mean"] >= 0).all(), name
    assert (out["zero"]["mean"] == 0).all()


def test_naive_repeats_the_last_observation_and_ignores_missing_months() -> None:
    history = np.array([[1.0, 2.0, 5.0, np.nan]])
    out = local_forecasts(history, 3, ["naive"])
    np.testing.assert_allclose(out["naive"]["mean"], [[5.0, 5.0, 5.0]])


def test_a_flat_series_is_forecast_flat_by_the_smoothers() -> None:
    history = np.full((1, 30), 4.0)
    out = local_forecasts(history, 2, ["ses", "tsb", "sba", "croston"])
    np.testing.assert_allclose(out["ses"]["mean"], 4.0, atol=1e-6)
    np.testing.assert_allclose(out["croston"]["mean"], 4.0, atol=1e-6)
    assert out["sba"]["mean"][0, 0] < 4.0  # SBA deflates Croston's estimate by (1 - alpha/2)


def test_intervals_come_from_the_models_that_have_them() -> None:
    out = local_forecasts(_history(), 4, ["naive", "ets", "ses"], levels=(0.5, 0.9))
    assert "0.9" in out["ets"] and "0.9" not in out["ses"]
    assert (out["ets"]["0.9"] >= out["ets"]["mean"] - 1e-9).all()
    assert (out["naive"]["0.9"] >= out["naive"]["0.5"]).all()


def test_short_series_fall_back_to_their_mean() -> None:
    history = np.array([[np.nan] * 10 + [3.0], [np.nan] * 11])
    out = local_forecasts(history, 2, ["ets", "ses"])
    np.testing.assert_allclose(out["ets"]["mean"], [[3.0, 3.0], [0.0, 0.0]])


def test_unknown_model_and_bad_horizon_are_refused() -> None:
    with pytest.raises(InputError, match="unknown model 'prophet'"):
        local_forecasts(_history(), 2, ["prophet"])
    with pytest.raises(InputError) as info:
        local_forecasts(_history(), 0, ["naive"])
    assert info.value.field == "horizon"


def test_poisson_quantiles_are_the_poisson_ppf() -> None:
    q = poisson_quantiles(np.array([[0.0, 2.0]]), (0.5, 0.95))
    np.testing.assert_allclose(q[0.5], [[0.0, 2.0]])
    np.testing.assert_allclose(q[0.95], [[0.0, 5.0]])
