"""The estimator contract's base class: params, clone, fitted state, seeded generators."""

from __future__ import annotations

import pytest

from shopfloor.errors import ModelError, NotFittedError
from shopfloor.estimators import Estimator, local_rng


class _Toy(Estimator):
    def __init__(self, *, alpha: float = 1.0, seed: int | None = 0) -> None:
        self.alpha = alpha
        self.seed = seed

    def fit(self, values: list[float]) -> _Toy:
        self.mean_ = sum(values) / len(values) * self.alpha
        return self

    def predict(self) -> float:
        self._check_fitted()
        return self.mean_


def test_params_round_trip_and_clone_is_unfitted() -> None:
    toy = _Toy(alpha=2.0).fit([1.0, 3.0])
    assert toy.get_params() == {"alpha": 2.0, "seed": 0}
    twin = toy.clone()
    assert twin.get_params() == toy.get_params()
    assert toy.is_fitted and not twin.is_fitted
    assert repr(twin) == "_Toy(alpha=2.0, seed=0)"


def test_unfitted_predict_raises_and_unknown_param_is_refused() -> None:
    with pytest.raises(NotFittedError, match="_Toy is not fitted"):
        _Toy().predict()
    with pytest.raises(ModelError, match="no hyperparameter beta"):
        _Toy().set_params(beta=1)
    assert _Toy().set_params(alpha=3.0).alpha == 3.0


def test_local_rng_is_reproducible() -> None:
    assert local_rng(5).random() == local_rng(5).random()
    assert local_rng(5).random() != local_rng(6).random()
