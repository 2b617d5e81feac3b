"""Small run-to-failure fleets for the RUL tests (generated, several operating regimes)."""

from __future__ import annotations

import numpy as np
import pandas as pd

OPERATING_POINTS = np.array([[0.0, 0.0], [10.0, 0.5], [20.0, 0.8]])


def run_to_failure_fleet(
    units: int = 16, seed: int = 0, min_life: int = 40, max_life: int = 80
) -> tuple[pd.DataFrame, np.ndarray]:
    """Units that wear out (exponential drift of two sensors) under three operating points."""
    rng = np.random.default_rng(seed)
    frames, targets = [], []
    for unit in range(1, units + 1):
        life = int(rng.integers(min_life, max_life))
        cycle = np.arange(1, life + 1)
        wear = np.exp(4.0 * cycle / life) / np.e**4
        regime = rng.integers(0, len(OPERATING_POINTS), life)
        point = OPERATING_POINTS[regime]
        frames.append(
            pd.DataFrame(
                {
                    "unit": unit,
                    "cycle": cycle,
                    "setting1": point[:, 0] + rng.normal(0, 0.001, life),
                    "setting2": point[:, 1] + rng.normal(0, 0.0001, life),
                    "temp": 500 + 30 * point[:, 0] + 8 * wear + rng.normal(0, 0.3, life),
                    "pressure": 40 - 5 * point[:, 1] - 3 * wear + rng.normal(0, 0.2, life),
                    "constant": 7.0,
                    "noise": rng.normal(0, 1, life),
                }
            )
        )
        targets.append((life - cycle).astype(float))
    return pd.concat(frames, ignore_index=True), np.concatenate(targets)


def truncate(
    frame: pd.DataFrame, rul: np.ndarray, seed: int = 1
) -> tuple[pd.DataFrame, np.ndarray]:
    """Cut every unit at a random cycle (some very short): the frame and the RUL there."""
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(frame), dtype=bool)
    truth = []
    for _unit, rows in frame.groupby("unit").indices.items():
        cut = int(rng.integers(3, len(rows)))
        keep[rows[:cut]] = True
        truth.append(rul[rows[cut - 1]])
    return frame[keep].reset_index(drop=True), np.asarray(truth)
