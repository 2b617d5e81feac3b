"""Synthetic machine data for the condition-monitoring tests (no files, seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def machine_buckets(
    hours: int = 24 * 10,
    seed: int = 0,
    wear_from: int | None = None,
    wear_gain: float = 1.5,
) -> pd.DataFrame:
    """10-minute buckets: speed switching between idle and full, signals following it.

    From bucket ``wear_from`` on, vibration and noise grow linearly up to ``wear_gain`` x.
    """
    rng = np.random.default_rng(seed)
    n = hours * 6
    index = pd.date_range("2026-01-01", periods=n, freq="10min", tz="UTC", name="ts")
    full = rng.random(n // 6).repeat(6)[:n] < 0.7
    speed = np.where(full, 1500.0, 500.0) * (1 + 0.01 * rng.standard_normal(n))
    wear = np.zeros(n)
    if wear_from is not None:
        wear[wear_from:] = np.linspace(0.0, wear_gain - 1.0, n - wear_from)
    vibration = (0.5 + speed / 1000.0) * (1 + wear) * (1 + 0.03 * rng.standard_normal(n))
    acoustic = (70 + speed / 200.0) * (1 + 0.1 * wear) + 0.3 * rng.standard_normal(n)
    current = (10 + speed / 100.0) * (1 + 0.2 * wear) * (1 + 0.02 * rng.standard_normal(n))
    return pd.DataFrame(
        {"speed": speed, "vibration": vibration, "acoustic": acoustic, "current": current},
        index=index,
    )
