"""Operating regimes: the number is found from the data; normals per regime."""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.errors import InputError, NotFittedError
from shopfloor.maintenance.regimes import (
    OperatingRegimes,
    RegimeNormalizer,
    informative_columns,
)

POINTS = np.array(
    [[0, 0, 100], [10, 0.25, 100], [20, 0.7, 100], [25, 0.62, 60], [35, 0.84, 100], [42, 0.84, 100]]
)


def _six_regimes(rows: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(POINTS), rows)
    settings = POINTS[labels] + rng.normal(0, [0.003, 0.0003, 0.001], (rows, 3))
    return settings, labels


def test_six_operating_points_are_found_as_six_regimes() -> None:
    settings, truth = _six_regimes()
    model = OperatingRegimes(seed=0).fit(settings)
    assert model.n_regimes_ == 6
    found = model.predict(settings)
    # Each true operating point maps to exactly one found regime.
    for point in range(len(POINTS)):
        assert len(np.unique(found[truth == point])) == 1
    assert len(np.unique(found)) == 6


def test_noise_around_one_operating_point_is_one_regime() -> None:
    rng = np.random.default_rng(1)
    settings = np.column_stack(
        [rng.normal(0, 0.002, 2000), rng.uniform(-0.0005, 0.0005, 2000), np.full(2000, 100.0)]
    )
    model = OperatingRegimes().fit(settings)
    assert model.n_regimes_ == 1
    assert set(model.predict(settings)) == {0}
    assert OperatingRegimes().fit(np.full((50, 2), 3.0)).n_regimes_ == 1


def test_regimes_refuse_bad_input() -> None:
    with pytest.raises(NotFittedError):
        OperatingRegimes().predict(np.zeros((3, 2)))
    with pytest.raises(InputError, match="missing or infinite"):
        OperatingRegimes().fit(np.array([[1.0], [np.nan]]))
    model = OperatingRegimes().fit(_six_regimes(300)[0])
    with pytest.raises(InputError, match="settings columns"):
        model.predict(np.zeros((3, 2)))


def test_normalizer_centres_each_regime_and_survives_a_tiny_one() -> None:
    rng = np.random.default_rng(2)
    labels = np.r_[np.zeros(500, dtype=int), np.ones(500, dtype=int), np.full(2, 2)]
    level = np.array([10.0, 50.0, 90.0])[labels]
    x = np.column_stack([level + rng.normal(0, 1, len(labels)), np.full(len(labels), 7.0)])
    model = RegimeNormalizer().fit(x, labels)
    z = model.transform(x, labels)
    assert np.all(np.isfinite(z))
    for regime in (0, 1):
        assert abs(z[labels == regime, 0].mean()) < 0.1
        assert z[labels == regime, 0].std() == pytest.approx(1.0, abs=0.1)
    # A regime with two rows gets a shrunk, finite scale; an unseen regime the global one.
    assert np.all(model.scale_[2] > 0.5)
    unseen = model.transform(x[:3], np.full(3, 9))
    assert np.all(np.isfinite(unseen))
    with pytest.raises(InputError, match="one regime label per row"):
        RegimeNormalizer().fit(x, labels[:-1])


def test_informative_columns_drop_constant_and_flag_like_channels() -> None:
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1], 200)
    values = np.column_stack(
        [
            rng.normal(0, 1, 400),  # informative
            np.where(labels == 0, -1.0, 1.0),  # follows the regime only
            rng.integers(0, 2, 400).astype(float),  # two-valued flag
        ]
    )
    assert informative_columns(values, ["good", "regime_only", "flag"], labels) == ["good"]
