"""Small hand-made plants for the twin's tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopfloor.twin.calendar import ShiftCalendar
from shopfloor.twin.calibration import LineModel, MachineModel, Order, PlantModel

ORIGIN = pd.Timestamp("2026-01-05", tz="UTC")  # a Monday


def machine(asset: str, position: int, cycle: float, **kw: float) -> MachineModel:
    values = {
        "ideal_cycle_s": cycle * 0.9,
        "cycle_s": cycle,
        "scrap_rate": 0.02,
        "minor_per_h": 1.0,
        "minor_mean_s": 120.0,
        "changeover_s": 900.0,
        "life_shape": 3.0,
        "life_scale_h": 150.0,
        "repair_log_mean": float(np.log(2.5)),
        "repair_log_sd": 0.5,
        "pm_log_mean": float(np.log(2.0)),
        "pm_log_sd": 0.3,
    } | kw
    return MachineModel(
        asset=asset,
        line="L1",
        position=position,
        failures=0,
        renewals=0,
        **values,  # type: ignore[arg-type]
    )


def plant(days: float = 14.0, stops: dict | None = None, **kw: float) -> PlantModel:
    ms = (machine("A", 0, 25.0, **kw), machine("B", 1, 30.0, **kw), machine("C", 2, 24.0, **kw))
    orders = tuple(
        Order(f"O{k}", f"P{k % 2}", 1500.0, (k + 1) * 86400.0) for k in range(int(days) * 2)
    )
    line = LineModel("L1", ms, (60.0, 60.0), orders)
    return PlantModel(
        lines=(line,),
        calendar=ShiftCalendar.weekly(ORIGIN, days + 2),
        horizon_s=days * 86400.0,
        detect_fraction=0.7,
        rul_log_sd=0.3,
        history={},
        stops=stops or {},
    )
