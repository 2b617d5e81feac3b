"""Small lakes for the supply workflow and CLI tests (no committed data)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shopfloor.config import Settings
from shopfloor.demo_plant.supply import Supply, simulate_supply
from shopfloor.lake import Lake
from shopfloor.schema import TABLES
from shopfloor.workflows.ingest import ingest

SUPPLY_TABLES = ("items", "demand", "inventory", "deliveries")
# The demo plant's supply side: 6 items, daily demand from 2024-10-01 to 2026-10-31
# (a Tuesday to a Saturday: the first and the last week are incomplete).
START = pd.Timestamp("2026-10-01", tz="UTC")
END = pd.Timestamp("2026-11-01", tz="UTC")


def _parquet(frame: pd.DataFrame, table: str, path: Path) -> Path:
    schema = pa.schema([f.with_nullable(True) for f in TABLES[table].schema if f.name in frame])
    pq.write_table(pa.Table.from_pandas(frame[schema.names], schema=schema), path)
    return path


def demo_supply_lake(root: Path, items: int = 6, seed: int = 3) -> tuple[Lake, Supply]:
    """A lake holding the demo plant's items, demand, inventory and deliveries."""
    root.mkdir(parents=True, exist_ok=True)
    lake = Lake(root / "lake", Settings(lake=root / "lake"))
    supply = simulate_supply(START, END, seed, items=items)
    for table in SUPPLY_TABLES:
        path = _parquet(getattr(supply, table), table, root / f"{table}.parquet")
        summary = ingest(lake, [path], table)
        assert summary.quarantined == 0, (table, summary)
    return lake, supply


def ingest_csv(lake: Lake, table: str, text: str, name: str) -> None:
    """Ingest one CSV text into ``table`` (a later call supersedes earlier rows of a key)."""
    path = lake.path.parent / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    summary = ingest(lake, [path], table)
    assert summary.quarantined == 0, (table, summary)
