"""The main RUL estimator: the 1-D CNN and the GBM, blended by out-of-fold validation."""

from __future__ import annotations

from collections.abc import Sequence

from shopfloor.maintenance.rul.crossfit import CrossFittedRul, MemberFactory
from shopfloor.maintenance.rul.gbm import gbm_factory
from shopfloor.maintenance.rul.sequence import sequence_factory
from shopfloor.maintenance.rul.target import DEFAULT_RUL_CAP


class RulEnsemble(CrossFittedRul):
    """Cross-fitted CNN and LightGBM, blended with the weight that validates best.

    In every fold both members train on the same units and predict the same held-out
    units; the blend weight (``weights_``) is the grid value with the lowest
    out-of-fold RMSE, and the conformal interval is calibrated on the blended
    out-of-fold predictions.  The two members err differently (the CNN reads the
    shape of the recent trajectory, the GBM hand-made window statistics), so the blend
    beats each.
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
        gbm_windows: Sequence[int] = (5, 10, 20, 30),
        n_estimators: int = 400,
        gbm_learning_rate: float = 0.03,
        num_leaves: int = 31,
        min_child_samples: int = 40,
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
        self.gbm_windows = gbm_windows
        self.n_estimators = n_estimators
        self.gbm_learning_rate = gbm_learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.seed = seed

    def _member_factories(self) -> dict[str, MemberFactory]:
        return {
            "sequence": sequence_factory(
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
            ),
            "gbm": gbm_factory(
                windows=self.gbm_windows,
                n_estimators=self.n_estimators,
                learning_rate=self.gbm_learning_rate,
                num_leaves=self.num_leaves,
                min_child_samples=self.min_child_samples,
                subsample=0.8,
                colsample=0.5,
                n_jobs=self.num_threads,
            ),
        }
