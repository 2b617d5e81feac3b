"""Change points: online CUSUM and offline PELT find a step near where it is."""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.maintenance.anomaly import cusum, pelt


def _steps(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.0, (900, 3))
    z[300:, 1] += 2.0  # a 2-sigma step in one signal at row 300
    z[600:, 1] -= 2.0  # and back at row 600
    return z


def test_cusum_finds_each_step_once_and_soon_after_it() -> None:
    found = cusum(_steps(), drift=1.0, threshold=10.0, rebaseline=60)
    assert len(found) == 2
    assert 300 <= found[0] <= 320
    assert 600 <= found[1] <= 620


def test_cusum_is_quiet_on_normal_noise() -> None:
    rng = np.random.default_rng(1)
    assert cusum(rng.normal(0, 1, (3000, 4)), drift=1.0, threshold=20.0).size == 0


def test_pelt_finds_the_steps_offline() -> None:
    found = pelt(_steps(2))
    assert len(found) == 2
    assert abs(int(found[0]) - 300) <= 5
    assert abs(int(found[1]) - 600) <= 5


def test_pelt_on_noise_and_short_series() -> None:
    rng = np.random.default_rng(3)
    assert pelt(rng.normal(0, 1, 500)).size == 0
    assert pelt([1.0, 2.0], min_size=2).size == 0


def test_bad_shape_is_refused() -> None:
    with pytest.raises(InputError):
        cusum(np.zeros((2, 2, 2)))
    with pytest.raises(InputError):
        pelt(np.zeros((2, 2, 2)))
