"""Small fitted live models for the edge tests (synthetic, seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopfloor.maintenance.condition import ConditionMonitor
from shopfloor.maintenance.live import LiveModel
from tests.maintenance.condition_data import machine_buckets

SIGNALS = ("vibration", "acoustic", "current", "temp")


def machine_rows(seed: int, rows: int = 500) -> pd.DataFrame:
    """Speed + four signals following it, ``rows`` 10-minute buckets of normal running."""
    frame = machine_buckets(hours=rows // 6 + 1, seed=seed).iloc[:rows].copy()
    rng = np.random.default_rng(seed + 100)
    frame["temp"] = (40 + frame["speed"] / 100) * (1 + 0.01 * rng.standard_normal(len(frame)))
    return frame[["speed", *SIGNALS]]


def live_model(asset: str, seed: int) -> LiveModel:
    # min_threshold 3: single rows are noisier than the hourly medians the threshold
    # was calibrated on; the tests want no false alarm on normal rows.
    monitor = ConditionMonitor(min_threshold=3.0).fit(machine_rows(seed))
    return LiveModel.from_monitor(asset, monitor)


def faulty(frame: pd.DataFrame) -> pd.DataFrame:
    """Worn bearing: vibration x3, acoustic and current a little up; temp unchanged."""
    out = frame.copy()
    out["vibration"] *= 3.0
    out["acoustic"] *= 1.05
    out["current"] *= 1.05
    return out
