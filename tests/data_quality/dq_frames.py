"""Small hand-made readings frames for the data-quality tests (test helper)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.demo_plant.layout import SIGNALS

START = pd.Timestamp("2025-01-06 00:00", tz="UTC")
PERIOD_S = 10.0


def stamps(n: int, start: pd.Timestamp = START, period_s: float = PERIOD_S) -> pd.Series:
    ts = start + pd.to_timedelta(np.arange(n) * period_s, unit="s")
    return pd.Series(ts).astype("datetime64[us, UTC]")


def frame(
    values: Sequence[float] | npt.NDArray[np.float64],
    *,
    asset: str = "M1",
    signal: str = "temperature",
    ts: pd.Series | None = None,
    start: pd.Timestamp = START,
) -> pd.DataFrame:
    """One series in long layout, one sample every 10 s unless ``ts`` is given."""
    values = np.asarray(values, dtype=np.float64)
    return pd.DataFrame(
        {
            "asset": asset,
            "signal": signal,
            "ts": stamps(values.size, start) if ts is None else ts.reset_index(drop=True),
            "value": values,
        }
    )


def noisy(n: int, level: float = 40.0, sd: float = 0.1, seed: int = 0) -> npt.NDArray[np.float64]:
    return level + sd * np.random.default_rng(seed).standard_normal(n)


def signals(assets: Sequence[str] = ("M1",), **overrides: object) -> pd.DataFrame:
    """The demo plant's signal table for the given assets, with columns overridden."""
    table = pd.DataFrame(
        [
            {"asset": a, "signal": s.name, "unit": s.unit, "kind": s.kind,
             "lower": s.lower, "upper": s.upper, "period_s": s.period_s}
            for a in assets
            for s in SIGNALS
        ]
    )  # fmt: skip
    for column, value in overrides.items():
        table[column] = value
    return table
