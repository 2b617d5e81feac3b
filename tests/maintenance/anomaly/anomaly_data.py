"""Small generated signal frames for the anomaly tests (no committed data)."""

from __future__ import annotations

import numpy as np
import pandas as pd

SIGNALS = ("temperature", "vibration", "current", "flow")


def normal_frame(rows: int, *, seed: int = 0, start: str = "2026-01-01") -> pd.DataFrame:
    """Four correlated signals of a pump at 1 Hz: current and flow follow a shared load."""
    rng = np.random.default_rng(seed)
    load = rng.normal(0.0, 1.0, rows)
    frame = pd.DataFrame(
        {
            "temperature": 60.0 + rng.normal(0.0, 0.5, rows),
            "vibration": 2.0 + rng.normal(0.0, 0.1, rows),
            "current": 10.0 + 0.8 * load + rng.normal(0.0, 0.2, rows),
            "flow": 40.0 + 2.0 * load + rng.normal(0.0, 0.5, rows),
        },
        index=pd.date_range(start, periods=rows, freq="1s", tz="UTC"),
    )
    return frame


def with_fault(
    frame: pd.DataFrame, signal: str, offset: float, start: int, stop: int
) -> pd.DataFrame:
    faulty = frame.copy()
    faulty.iloc[start:stop, faulty.columns.get_loc(signal)] += offset
    return faulty
