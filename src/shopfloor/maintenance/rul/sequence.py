"""RUL by a 1-D CNN over windows of regime-normalised signals.

torch is imported only when a network is trained or used, so importing
``shopfloor.maintenance.rul`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from shopfloor.maintenance.rul.crossfit import CrossFittedRul, MemberFactory
from shopfloor.maintenance.rul.data import PreparedUnits
from shopfloor.maintenance.rul.target import DEFAULT_RUL_CAP

if TYPE_CHECKING:
    from shopfloor.maintenance.rul.network import RulConvNet
    from shopfloor.maintenance.rul.training import TrainingPlan

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def sequence_windows(
    data: PreparedUnits, rows: IntArray, window: int, time_scale: float
) -> npt.NDArray[np.float32]:
    """Windows (rows x window x channels) of the ``window`` rows ending at each row.

    A unit shorter than the window is padded at the front with its first reading
    (a flat past carries no fake trend), and two extra channels tell the network
    the unit's age (time / ``time_scale``) and which steps are padding.
    """
    steps = np.arange(-window + 1, 1, dtype=np.int64)
    index = rows[:, None] + steps[None, :]
    first = data.starts[rows][:, None]
    padding = index < first
    index = np.maximum(index, first)
    signals = data.signals[index]  # (rows, window, channels)
    age = (data.time[index] / time_scale)[:, :, None]
    return np.concatenate([signals, age, padding[:, :, None]], axis=2).astype(np.float32)


class SequenceMember:
    """One network of one fold."""

    def __init__(
        self, plan: TrainingPlan, window: int, cap: float, time_scale: float, seed: int
    ) -> None:
        self.plan = plan
        self.window = window
        self.cap = cap
        self.time_scale = time_scale
        self.seed = seed
        self.net: RulConvNet | None = None

    def fit(self, data: PreparedUnits, target: FloatArray, rows: IntArray) -> None:
        from shopfloor.maintenance.rul.training import train_network

        windows = sequence_windows(data, rows, self.window, self.time_scale)
        self.net = train_network(windows, target[rows] / self.cap, self.plan, self.seed)

    def predict(self, data: PreparedUnits, rows: IntArray) -> FloatArray:
        from shopfloor.maintenance.rul.training import predict_network

        if self.net is None:
            raise RuntimeError("sequence member used before fit")
        windows = sequence_windows(data, rows, self.window, self.time_scale)
        return predict_network(self.net, windows, self.plan.num_threads) * self.cap


def sequence_factory(
    *,
    window: int,
    cap: float,
    seeds_per_fold: int,
    plan_options: dict[str, Any],
) -> MemberFactory:
    def make(seed: int, time_scale: float) -> SequenceMember | SequenceBag:
        from shopfloor.maintenance.rul.training import TrainingPlan

        plan = TrainingPlan(**plan_options)
        members = [
            SequenceMember(plan, window, cap, time_scale, seed * 100 + k)
            for k in range(seeds_per_fold)
        ]
        return members[0] if len(members) == 1 else SequenceBag(members)

    return make


class SequenceBag:
    """Several networks of one fold, differing only in their seed; predictions averaged."""

    def __init__(self, members: Sequence[SequenceMember]) -> None:
        self.members = list(members)

    def fit(self, data: PreparedUnits, target: FloatArray, rows: IntArray) -> None:
        for member in self.members:
            member.fit(data, target, rows)

    def predict(self, data: PreparedUnits, rows: IntArray) -> FloatArray:
        return np.asarray(
            np.mean([m.predict(data, rows) for m in self.members], axis=0), dtype=np.float64
        )


class RulSequenceNet(CrossFittedRul):
    """A dilated 1-D CNN over the last ``window`` cycles of regime-normalised signals.

    Cross-fitted over ``n_folds`` groups of units (one network per fold, or
    ``seeds_per_fold``); the prediction averages them and the out-of-fold predictions
    calibrate the interval.  Deterministic for a given ``seed`` and thread count.
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
        window: int = 90,
        epochs: int = 40,
        samples_per_epoch: int = 4096,
        batch_size: int = 256,
        learning_rate: float = 2e-3,
        hidden: int = 32,
        dropout: float = 0.2,
        seeds_per_fold: int = 1,
        num_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        self.unit = unit
        self.time = time
        self.settings = settings
        self.signals = signals
        self.cap = cap
        self.level = level
        self.n_folds = n_folds
        self.window = window
        self.epochs = epochs
        self.samples_per_epoch = samples_per_epoch
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.hidden = hidden
        self.dropout = dropout
        self.seeds_per_fold = seeds_per_fold
        self.num_threads = num_threads
        self.seed = seed

    def _sequence_factory(self) -> MemberFactory:
        return sequence_factory(
            window=self.window,
            cap=self.cap,
            seeds_per_fold=self.seeds_per_fold,
            plan_options={
                "epochs": self.epochs,
                "samples_per_epoch": self.samples_per_epoch,
                "batch_size": self.batch_size,
                "learning_rate": self.learning_rate,
                "hidden": self.hidden,
                "dropout": self.dropout,
                "num_threads": self.num_threads,
            },
        )

    def _member_factories(self) -> dict[str, MemberFactory]:
        return {"sequence": self._sequence_factory()}
