"""A small demo plant with a planted sensor drift, replayed into a lake day by day.

One line of four machines, Monday 2026-09-28 to Saturday 2026-10-10 (machines idle at
weekends), no planted data-quality faults (this is about model drift).  The pressure
sensor of L1-M02 starts drifting at 00:00 on Wednesday 2026-10-07 by 0.2 bar a day
(its readings are ~6 bar at work: a slow drift, about 3 % a day).  The condition model
is trained on the first week only, before the drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from shopfloor.config import Settings
from shopfloor.demo_plant.layout import default_layout
from shopfloor.demo_plant.sensor_drift import SensorDrift
from shopfloor.lake import Lake
from shopfloor.workflows import maintenance
from shopfloor.workflows.demo import generate_demo_files
from shopfloor.workflows.ingest import ingest

START = pd.Timestamp("2026-09-28", tz="UTC")  # a Monday
TRAINED_UNTIL = pd.Timestamp("2026-10-03", tz="UTC")  # Saturday: one working week
DRIFT = SensorDrift("L1-M02", "pressure", pd.Timestamp("2026-10-07", tz="UTC"), per_day=0.2)
END = pd.Timestamp("2026-10-10", tz="UTC")
SEED = 11
DAY = pd.Timedelta(days=1)


@dataclass
class DriftLake:
    lake: Lake
    readings: pd.DataFrame  # every generated reading, drift included
    folder: Path

    def replay(self, start: pd.Timestamp, end: pd.Timestamp) -> None:
        """Ingest the readings of [start, end) as a gateway's file would bring them."""
        part = self.readings[(self.readings["ts"] >= start) & (self.readings["ts"] < end)]
        path = self.folder / f"readings-{start:%Y%m%d%H}-{end:%Y%m%d%H}.parquet"
        part.to_parquet(path, index=False)
        summary = ingest(self.lake, [path], "readings")
        assert summary.quarantined == 0, summary


def drift_lake(root: Path, seed: int = SEED) -> DriftLake:
    """The plant's registry, events and work orders, its first week of readings and a
    condition model trained on that week (production v1)."""
    layout = default_layout(lines=1, machines_per_line=4)
    files = generate_demo_files(
        root / "source", layout, START, END, seed, sensor_drift=DRIFT, faults=False
    )
    lake = Lake(root / "lake", Settings(lake=root / "lake"))
    for table in ("assets", "signals", "events", "work_orders"):
        ingest(lake, files[table], table)
    readings = pd.concat([pd.read_parquet(f) for f in files["readings"]], ignore_index=True)
    (root / "replay").mkdir()
    built = DriftLake(lake, readings, root / "replay")
    built.replay(START, TRAINED_UNTIL)
    maintenance.train(lake, backend="local")
    return built
