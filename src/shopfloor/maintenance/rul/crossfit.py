"""Cross-fitting over units: the shared skeleton of every RUL estimator.

Units are split into ``n_folds`` groups.  For each fold, every member model (a GBM,
a sequence network, ...) is trained on the other folds' units and predicts the rows
of the held-out units.  That gives, for free,

- an ensemble: at prediction time the fold models are averaged (bagging over units);
- honest out-of-fold predictions on every training row, from which the blend weights
  of the members are chosen (validation on training units, never on test data) and
  the conformal intervals are calibrated (CV+ style).

Predictions on held-out rows are causal: a row's features only look back, so the
prediction at row ``t`` of a full trajectory equals the prediction for the same unit
truncated at ``t`` -- exactly the situation of a test unit.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Protocol, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.estimators import Estimator, local_rng
from shopfloor.maintenance.results import RulPrediction
from shopfloor.maintenance.rul.data import (
    PreparedUnits,
    UnitPreparer,
    check_rul_frame,
    check_rul_target,
)
from shopfloor.maintenance.rul.intervals import BinnedConformal
from shopfloor.maintenance.rul.target import piecewise_linear_rul

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class RulMember(Protocol):
    """One model trained inside one fold: fit on some rows, predict others."""

    def fit(self, data: PreparedUnits, target: FloatArray, rows: IntArray) -> None: ...

    def predict(self, data: PreparedUnits, rows: IntArray) -> FloatArray: ...


MemberFactory = Callable[[int, float], RulMember]  # (seed, time scale) -> member


def unit_folds(units: npt.NDArray[np.object_], n_folds: int, seed: int | None) -> IntArray:
    """Fold number (0 .. n_folds-1) of every row, all rows of a unit in one fold."""
    distinct = pd.unique(pd.Series(units))
    if len(distinct) < n_folds:
        raise InputError(f"need at least {n_folds} units to cross-fit, got {len(distinct)}")
    shuffled = local_rng(seed).permutation(len(distinct))
    fold_of_unit = dict(zip(distinct[shuffled], np.arange(len(distinct)) % n_folds, strict=True))
    return np.asarray(pd.Series(units).map(fold_of_unit).to_numpy(), dtype=np.int64)


def best_blend(predictions: FloatArray, target: FloatArray, step: float = 0.05) -> FloatArray:
    """Weights (summing to 1, on a grid) of the member columns with the lowest RMSE."""
    n_members = predictions.shape[1]
    if n_members == 1:
        return np.ones(1)
    if n_members != 2:
        # Beyond two members a plain average is the robust choice.
        return np.full(n_members, 1.0 / n_members)
    grid = np.arange(0.0, 1.0 + step / 2, step)
    errors = [
        float(np.mean((w * predictions[:, 0] + (1 - w) * predictions[:, 1] - target) ** 2))
        for w in grid
    ]
    w = float(grid[int(np.argmin(errors))])
    return np.array([w, 1 - w])


class CrossFittedRul(Estimator):
    """Base of the RUL estimators: preparation, cross-fitting, blending, intervals.

    Subclasses name their members in :meth:`_member_factories`.  Hyperparameters
    shared by all: ``unit`` / ``time`` column names, ``settings`` / ``signals``
    columns (None: automatic, see :class:`UnitPreparer`), the RUL ``cap`` of the
    piece-wise linear target, the interval ``level``, ``n_folds`` and ``seed``.
    """

    unit: str
    time: str
    settings: Sequence[str] | None
    signals: Sequence[str] | None
    cap: float
    level: float
    n_folds: int
    seed: int

    @abstractmethod
    def _member_factories(self) -> dict[str, MemberFactory]:
        """Name -> factory of the member models trained in every fold."""

    def fit(self, frame: pd.DataFrame, rul: npt.ArrayLike) -> Self:
        check_rul_frame(frame, self.unit, self.time)
        raw = check_rul_target(rul, len(frame))
        if self.n_folds < 2:
            raise InputError(f"n_folds must be at least 2, got {self.n_folds}", field="n_folds")
        self.preparer_ = UnitPreparer(
            unit=self.unit,
            time=self.time,
            settings=self.settings,
            signals=self.signals,
            seed=self.seed,
        ).fit(frame)
        data = self.preparer_.transform(frame)
        target = piecewise_linear_rul(raw[data.order], self.cap)
        folds = unit_folds(data.unit, self.n_folds, self.seed)
        factories = self._member_factories()
        oof = np.full((len(target), len(factories)), np.nan)
        models: list[dict[str, RulMember]] = []
        for fold in range(self.n_folds):
            train_rows = np.flatnonzero(folds != fold).astype(np.int64)
            held_rows = np.flatnonzero(folds == fold).astype(np.int64)
            fold_models: dict[str, RulMember] = {}
            for j, (name, factory) in enumerate(factories.items()):
                seed = self.seed * 1000 + fold
                member = factory(seed, self.preparer_.time_scale_)
                member.fit(data, target, train_rows)
                oof[held_rows, j] = np.clip(member.predict(data, held_rows), 0.0, self.cap)
                fold_models[name] = member
            models.append(fold_models)
        self.members_ = models
        self.member_names_ = list(factories)
        self.weights_ = best_blend(oof, target)
        blended = oof @ self.weights_
        self.oof_rmse_ = {
            **{
                name: float(np.sqrt(np.mean((oof[:, j] - target) ** 2)))
                for j, name in enumerate(self.member_names_)
            },
            "blend": float(np.sqrt(np.mean((blended - target) ** 2))),
        }
        # Kept for diagnostics (calibration plots, blend checks): rows in unit/time order.
        self.oof_predictions_ = oof
        self.oof_target_ = target
        self.oof_units_ = data.unit
        self.conformal_ = BinnedConformal(level=self.level).fit(blended, target)
        return self

    def predict_rows(self, frame: pd.DataFrame) -> tuple[PreparedUnits, FloatArray]:
        """Blended point prediction at every row of ``frame`` (rows in unit/time order)."""
        self._check_fitted()
        data = self.preparer_.transform(frame)
        rows = np.arange(len(data.unit), dtype=np.int64)
        return data, self._blend(data, rows)

    def _member_columns(self, data: PreparedUnits, rows: IntArray) -> FloatArray:
        columns = []
        for name in self.member_names_:
            per_fold = [fold[name].predict(data, rows) for fold in self.members_]
            columns.append(np.clip(np.mean(per_fold, axis=0), 0.0, self.cap))
        return np.column_stack(columns)

    def _blend(self, data: PreparedUnits, rows: IntArray) -> FloatArray:
        return np.clip(self._member_columns(data, rows) @ self.weights_, 0.0, self.cap)

    def predict_members(self, frame: pd.DataFrame) -> dict[str, FloatArray]:
        """Each member's own prediction (fold-averaged) per unit at its last time.

        Units in the order of :meth:`predict`; lets a benchmark report a member (e.g.
        the GBM) as a baseline without training it twice.
        """
        self._check_fitted()
        data = self.preparer_.transform(frame)
        columns = self._member_columns(data, data.last_rows)
        return {name: columns[:, j] for j, name in enumerate(self.member_names_)}

    def predict(self, frame: pd.DataFrame) -> RulPrediction:
        """RUL of every unit at its last time, with a ``level`` conformal interval."""
        self._check_fitted()
        data = self.preparer_.transform(frame)
        rows = data.last_rows
        rul = self._blend(data, rows)
        lower, upper = self.conformal_.interval(rul)
        return RulPrediction(
            unit=np.asarray(data.unit[rows], dtype=object),
            rul=rul,
            lower=lower,
            upper=upper,
            level=float(self.level),
        )
