"""Training targets for remaining useful life."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError

FloatArray = npt.NDArray[np.float64]

DEFAULT_RUL_CAP = 125.0  # cycles; the cap most C-MAPSS work uses


def run_to_failure_rul(
    frame: pd.DataFrame, *, unit: str = "unit", time: str = "cycle"
) -> FloatArray:
    """RUL of every row of run-to-failure trajectories: the unit's last time minus the row's."""
    for name in (unit, time):
        if name not in frame.columns:
            raise InputError("column is missing", field=name)
    last = frame.groupby(unit, sort=False)[time].transform("max")
    return np.asarray(last - frame[time], dtype=np.float64)


def piecewise_linear_rul(rul: npt.ArrayLike, cap: float = DEFAULT_RUL_CAP) -> FloatArray:
    """The "piece-wise linear" target: constant ``cap`` while healthy, then linear to 0.

    Early in life nothing in the signals tells 300 cycles left from 200, so a capped
    target is what a model can learn; predictions are then in "capped" RUL too.
    """
    if cap <= 0:
        raise InputError(f"RUL cap must be positive, got {cap}")
    return np.minimum(np.asarray(rul, dtype=np.float64), float(cap))
