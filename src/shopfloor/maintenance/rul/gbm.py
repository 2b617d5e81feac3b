"""RUL by gradient boosting (LightGBM) on regime-normalised window features."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.maintenance.features import window_features
from shopfloor.maintenance.rul.crossfit import CrossFittedRul, MemberFactory
from shopfloor.maintenance.rul.data import PreparedUnits
from shopfloor.maintenance.rul.target import DEFAULT_RUL_CAP

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

GBM_STATS = ("mean", "std", "slope")


def gbm_features(data: PreparedUnits, windows: Sequence[int]) -> FloatArray:
    """Window features of every prepared row, plus the unit's age (time, rows so far)."""
    frame = pd.DataFrame(data.signals, columns=list(data.channels))
    frame["__unit"] = data.unit
    frame["__row"] = np.arange(len(frame))
    features = window_features(
        frame,
        group="__unit",
        order="__row",
        columns=list(data.channels),
        windows=windows,
        stats=GBM_STATS,
    ).to_numpy()
    return np.column_stack([features, data.time, data.position_in_unit])


class GbmMember:
    """One LightGBM regressor of one fold; features are cached per prepared dataset."""

    def __init__(
        self,
        params: dict[str, Any],
        windows: Sequence[int],
        seed: int,
        cache: list[tuple[FloatArray, FloatArray]],
    ) -> None:
        self.params = params
        self.windows = tuple(windows)
        self.seed = seed
        # Shared by the members of all folds: (signals array, its features).  The
        # folds see the same prepared data, so features are computed once; holding
        # the array itself (not its id) makes the identity check safe.
        self._cache = cache

    def _features(self, data: PreparedUnits) -> FloatArray:
        if not self._cache or self._cache[0][0] is not data.signals:
            self._cache[:] = [(data.signals, gbm_features(data, self.windows))]
        return self._cache[0][1]

    def fit(self, data: PreparedUnits, target: FloatArray, rows: IntArray) -> None:
        import lightgbm

        x = self._features(data)
        self.model = lightgbm.LGBMRegressor(
            **self.params, random_state=self.seed, verbose=-1, deterministic=True
        )
        self.model.fit(x[rows], target[rows])

    def predict(self, data: PreparedUnits, rows: IntArray) -> FloatArray:
        x = self._features(data)
        return np.asarray(self.model.predict(x[rows]), dtype=np.float64)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_cache": []}


def gbm_factory(
    *,
    windows: Sequence[int],
    n_estimators: int,
    learning_rate: float,
    num_leaves: int,
    min_child_samples: int,
    subsample: float,
    colsample: float,
    n_jobs: int | None,
) -> MemberFactory:
    params: dict[str, Any] = {
        "n_estimators": n_estimators,
        "learning_rate": learning_rate,
        "num_leaves": num_leaves,
        "min_child_samples": min_child_samples,
        "subsample": subsample,
        "subsample_freq": 1 if subsample < 1 else 0,
        "colsample_bytree": colsample,
        # LightGBM's default (every logical CPU, per OpenMP) oversubscribes a shared box.
        "n_jobs": n_jobs if n_jobs is not None else min(4, len(os.sched_getaffinity(0))),
    }
    cache: list[tuple[FloatArray, FloatArray]] = []

    def make(seed: int, _time_scale: float) -> GbmMember:
        return GbmMember(params, windows, seed, cache)

    return make


class RulGbm(CrossFittedRul):
    """LightGBM on regime-normalised window features (mean, std, slope; several windows).

    Cross-fitted over ``n_folds`` groups of units: the prediction averages the fold
    models, and the out-of-fold predictions calibrate the interval.  This is also the
    baseline of the C-MAPSS benchmark.
    """

    def __init__(
        self,
        *,
        unit: str = "unit",
        time: str = "cycle",
        settings: Sequence[str] | None = None,
        signals: Sequence[str] | None = None,
        cap: float = DEFAULT_RUL_CAP,
        level: float = 0.9,
        n_folds: int = 5,
        windows: Sequence[int] = (5, 10, 20, 30),
        n_estimators: int = 400,
        learning_rate: float = 0.03,
        num_leaves: int = 31,
        min_child_samples: int = 40,
        subsample: float = 0.8,
        colsample: float = 0.5,
        n_jobs: int | None = None,
        seed: int = 0,
    ) -> None:
        self.unit = unit
        self.time = time
        self.settings = settings
        self.signals = signals
        self.cap = cap
        self.level = level
        self.n_folds = n_folds
        self.windows = windows
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample = colsample
        self.n_jobs = n_jobs
        self.seed = seed

    def _member_factories(self) -> dict[str, MemberFactory]:
        return {
            "gbm": gbm_factory(
                windows=self.windows,
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                num_leaves=self.num_leaves,
                min_child_samples=self.min_child_samples,
                subsample=self.subsample,
                colsample=self.colsample,
                n_jobs=self.n_jobs,
            )
        }
