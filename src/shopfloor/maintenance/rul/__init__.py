"""Remaining useful life: targets, a GBM, a 1-D CNN, their blend, conformal intervals.

Every estimator here follows one calling convention: ``fit(frame, rul) -> self`` with
a frame of unit, time and numeric signal / setting columns and one RUL value per row;
``predict(frame) -> RulPrediction`` with one row per unit at its last time.  Importing
this package does not import torch (the CNN imports it when it trains).
"""

from shopfloor.maintenance.rul.ensemble import RulEnsemble
from shopfloor.maintenance.rul.gbm import RulGbm
from shopfloor.maintenance.rul.sequence import RulSequenceNet
from shopfloor.maintenance.rul.target import (
    DEFAULT_RUL_CAP,
    piecewise_linear_rul,
    run_to_failure_rul,
)

__all__ = [
    "DEFAULT_RUL_CAP",
    "RulEnsemble",
    "RulGbm",
    "RulSequenceNet",
    "piecewise_linear_rul",
    "run_to_failure_rul",
]
