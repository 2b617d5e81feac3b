"""A small lake of measured inspections with a planted mean shift (tests only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopfloor.config import Settings
from shopfloor.lake import Lake
from shopfloor.workflows.ingest import ingest

START = pd.Timestamp("2026-03-02", tz="UTC")
STEP = pd.Timedelta(minutes=10)
SHIFT_AT = 400  # measurement where M1/P1's mean moves up by 3 within-sigma
SIGMA = 0.02


def measurement_frame(n: int = 600, seed: int = 3) -> pd.DataFrame:
    """M1/P1 (length, shifts at ``SHIFT_AT``), M1/P2 (length, other nominal, in control),
    M2/P1 (weight, no spec limits: capability must skip it)."""
    rng = np.random.default_rng(seed)
    frames = []
    for asset, product, characteristic, nominal, limits in (
        ("M1", "P1", "length_mm", 50.0, True),
        ("M1", "P2", "length_mm", 80.0, True),
        ("M2", "P1", "weight_g", 12.0, False),
    ):
        value = nominal + rng.normal(0.0, SIGMA, n)
        if (asset, product) == ("M1", "P1"):
            value[SHIFT_AT:] += 3 * SIGMA
        frames.append(
            pd.DataFrame(
                {
                    "asset": asset,
                    "ts": START + STEP * np.arange(n) + pd.Timedelta(seconds=len(frames)),
                    "product": product,
                    "order": "O-1",
                    "characteristic": characteristic,
                    "value": value.round(5),
                    "lsl": nominal - 6 * SIGMA if limits else np.nan,
                    "usl": nominal + 6 * SIGMA if limits else np.nan,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def inspections_lake(folder: Path, frame: pd.DataFrame | None = None, quarantined: int = 0) -> Lake:
    lake = Lake(folder / "lake", Settings(lake=folder / "lake"))
    path = folder / "inspections.csv"
    (measurement_frame() if frame is None else frame).to_csv(path, index=False)
    summary = ingest(lake, [path], "inspections")
    assert summary.quarantined == quarantined, summary
    return lake
