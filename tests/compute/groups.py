"""Group functions and tables shared by the backend tests (importable by spawned workers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import write_deltalake

SCHEMA = pa.schema(
    [("asset", pa.string()), ("signal", pa.string()), ("mean", pa.float64()), ("n", pa.int64())]
)
FIRST_LAST = pa.schema(
    [
        ("asset", pa.string()),
        ("first", pa.timestamp("us", tz="UTC")),
        ("last_value", pa.float64()),
        ("n", pa.int64()),
    ]
)


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "asset": [frame["asset"].iloc[0]],
            "signal": [frame["signal"].iloc[0]],
            "mean": [frame["value"].mean()],
            "n": [len(frame)],
        }
    )


def first_last(frame: pd.DataFrame) -> pd.DataFrame:
    """Depends on row order and on tz-aware timestamps: both must reach fn the same way."""
    assert str(frame["ts"].dt.tz) == "UTC"
    return pd.DataFrame(
        {
            "asset": [frame["asset"].iloc[0]],
            "first": [frame["ts"].iloc[0]],
            "last_value": [frame["value"].iloc[-1]],
            "n": [len(frame)],
        }
    )


def rows_out(frame: pd.DataFrame) -> pd.DataFrame:
    """Several rows per group, in the frame's order: the output order must survive."""
    return (
        frame[["asset", "ts", "value"]]
        .rename(columns={"value": "last_value"})
        .assign(first=frame["ts"], n=np.arange(len(frame), dtype=np.int64))
    )


def table() -> pa.Table:
    return pa.table(
        {
            "asset": ["b", "a", "a", "b", "a"],
            "signal": ["x", "x", "y", "x", "x"],
            "value": [1.0, 2.0, 3.0, 5.0, 4.0],
        }
    )


def readings(n_assets: int = 5, hours: int = 48, seed: int = 0) -> pd.DataFrame:
    """Shuffled hourly readings with a NaN, an inf and a day partition column."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-03-01", periods=hours, freq="h", tz="UTC")
    frame = pd.DataFrame(
        {
            "asset": np.repeat([f"M{i:02d}" for i in range(n_assets)], hours),
            "ts": np.tile(ts, n_assets),
            "value": rng.normal(size=n_assets * hours),
        }
    )
    frame.loc[3, "value"] = np.nan
    frame.loc[7, "value"] = np.inf
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    frame["day"] = frame["ts"].dt.date
    return frame


def write_readings(path: Path, frame: pd.DataFrame) -> None:
    """Two commits, so version 0 and version 1 differ."""
    half = len(frame) // 2
    for part in (frame.iloc[:half], frame.iloc[half:]):
        write_deltalake(
            str(path),
            pa.Table.from_pandas(part, preserve_index=False),
            mode="append",
            partition_by=["day"],
        )
