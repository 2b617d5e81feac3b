"""The lake the compute-backend benchmark runs on: N readings, generated and ingested once.

200 assets x 5 signals every 10 s, registered with units and limits, written as Parquet
files and fed through the user's ingest path; the lake is kept under WORKDIR and reused
while its sidecar JSON matches (see benchmarks/README.md, ``backends.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import dir_bytes

GENERATOR_VERSION = 1
ASSETS = 200
SIGNALS = [  # name, unit, base, amplitude, noise, lower, upper
    ("temperature", "degC", 65.0, 6.0, 0.8, -20.0, 150.0),
    ("vibration", "mm/s", 2.4, 0.6, 0.15, 0.0, 50.0),
    ("pressure", "bar", 6.0, 0.4, 0.05, 0.0, 16.0),
    ("current", "A", 12.5, 2.0, 0.3, 0.0, 100.0),
    ("speed", "rpm", 1480.0, 15.0, 3.0, 0.0, 3000.0),
]
PERIOD_S = 10
NULL_SHARE = 1e-4  # readings without a value (null: ingest quarantines a NaN)
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CHUNK_ROWS = 2_000_000  # generated at a time
FILE_ROWS = 10_000_000  # per Parquet file, one ingest (Delta commit) each


def human(n: int) -> str:
    for unit, size in (("B", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


# -- data ------------------------------------------------------------------------------------
def _chunks(rows: int, seed: int = 0) -> Iterator[Any]:
    """Readings in time order (as a historian exports them), ``CHUNK_ROWS`` at a time:
    every asset x signal every ``PERIOD_S`` s, a daily sine plus noise, a few missing
    values."""
    import numpy as np
    import pyarrow as pa

    series = ASSETS * len(SIGNALS)
    assets = pa.array([f"A{i + 1:03d}" for i in range(ASSETS)])
    names = pa.array([s[0] for s in SIGNALS])
    base = np.array([s[2] for s in SIGNALS])
    amplitude = np.array([s[3] for s in SIGNALS])
    noise = np.array([s[4] for s in SIGNALS])
    rng = np.random.default_rng(seed)
    steps_per_chunk = max(1, CHUNK_ROWS // series)
    epoch_us = int(EPOCH.timestamp() * 1_000_000)
    done = 0
    step = 0
    while done < rows:
        t = np.arange(step, step + steps_per_chunk, dtype=np.int64)[:, None]
        i = np.arange(series)[None, :]
        a, s = i // len(SIGNALS), i % len(SIGNALS)
        phase = 2 * np.pi * t / (86_400 / PERIOD_S) + a
        shape = (len(t), series)
        value = base[s] + amplitude[s] * np.sin(phase) + noise[s] * rng.standard_normal(shape)
        value = value.ravel()
        missing = rng.random(value.size) < NULL_SHARE
        n = min(value.size, rows - done)
        a_idx = np.broadcast_to(a, shape).ravel()[:n].astype(np.int32)
        s_idx = np.broadcast_to(s, shape).ravel()[:n].astype(np.int32)
        ts = (epoch_us + np.broadcast_to(t, shape).ravel()[:n] * PERIOD_S * 1_000_000).astype(
            "datetime64[us]"
        )
        yield pa.table(
            {
                "asset": pa.DictionaryArray.from_arrays(a_idx, assets).cast(pa.string()),
                "signal": pa.DictionaryArray.from_arrays(s_idx, names).cast(pa.string()),
                "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "value": pa.array(value[:n], mask=missing[:n]),
            }
        )
        done += n
        step += steps_per_chunk


def _registry_files(folder: Path) -> tuple[Path, Path]:
    """The assets (one site, ten lines of twenty machines) and their signals, as CSV."""
    assets = ["asset,parent,level,name,site,line", "S1,,site,Site 1,S1,"]
    for line in range(10):
        assets.append(f"L{line + 1:02d},S1,line,Line {line + 1},S1,L{line + 1:02d}")
    for i in range(ASSETS):
        line = f"L{i // 20 + 1:02d}"
        assets.append(f"A{i + 1:03d},{line},machine,Machine {i + 1},S1,{line}")
    signals = ["asset,signal,unit,kind,lower,upper,period_s"]
    for i in range(ASSETS):
        for name, unit, *_, lower, upper in SIGNALS:
            signals.append(f"A{i + 1:03d},{name},{unit},{name},{lower},{upper},{PERIOD_S}")
    a, s = folder / "assets.csv", folder / "signals.csv"
    a.write_text("\n".join(assets) + "\n")
    s.write_text("\n".join(signals) + "\n")
    return a, s


def build_lake(rows: int, work: Path) -> dict[str, Any]:
    """A lake of ``rows`` readings under ``work``, reused when its sidecar matches.

    Assets and signals are registered first, then the readings go in through the user's
    ingest path (Parquet files of up to ``FILE_ROWS`` rows, one commit each), so they carry
    the lineage columns the data-quality checks read.  The generator holds one chunk of
    ``CHUNK_ROWS`` rows at a time; the Parquet files are deleted once ingested.
    """
    import pyarrow.parquet as pq

    from shopfloor.config import Settings
    from shopfloor.lake import Lake
    from shopfloor.workflows.ingest import ingest

    path = work / f"lake-{human(rows)}"
    sidecar = work / f"lake-{human(rows)}.json"
    if path.is_dir() and sidecar.exists():
        with contextlib.suppress(ValueError, OSError):
            meta = json.loads(sidecar.read_text())
            if meta.get("rows") == rows and meta.get("version") == GENERATOR_VERSION:
                return {**meta, "path": str(path), "reused": True}
    shutil.rmtree(path, ignore_errors=True)
    sidecar.unlink(missing_ok=True)
    staging = work / f"staging-{human(rows)}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    lake = Lake(path, Settings(lake=path))
    started = time.perf_counter()
    assets_csv, signals_csv = _registry_files(staging)
    for table, source in (("assets", assets_csv), ("signals", signals_csv)):
        result = ingest(lake, [source], table)
        assert result.accepted > 0 and result.quarantined == 0, (table, result)
    accepted = quarantined = 0
    generate_s = ingest_s = 0.0
    writer: pq.ParquetWriter | None = None
    file_rows = files = 0
    gen_clock = time.perf_counter()

    def flush() -> None:
        nonlocal writer, file_rows, accepted, quarantined, ingest_s, files
        if writer is None:
            return
        writer.close()
        writer = None
        clock = time.perf_counter()
        summary = ingest(lake, [staging / f"readings-{files:03d}.parquet"], "readings")
        ingest_s += time.perf_counter() - clock
        accepted += summary.accepted
        quarantined += summary.quarantined
        (staging / f"readings-{files:03d}.parquet").unlink()
        files += 1
        file_rows = 0
        print(f"  ingested {accepted:,} of {rows:,} readings", flush=True)

    for chunk in _chunks(rows):
        if writer is None:
            writer = pq.ParquetWriter(staging / f"readings-{files:03d}.parquet", chunk.schema)
        writer.write_table(chunk)
        file_rows += chunk.num_rows
        if file_rows >= FILE_ROWS:
            generate_s += time.perf_counter() - gen_clock
            flush()
            gen_clock = time.perf_counter()
    generate_s += time.perf_counter() - gen_clock
    flush()
    shutil.rmtree(staging, ignore_errors=True)
    meta = {
        "rows": rows,
        "version": GENERATOR_VERSION,
        "accepted": accepted,
        "quarantined": quarantined,
        "assets": ASSETS,
        "signals": len(SIGNALS),
        "period_s": PERIOD_S,
        "days": rows / (ASSETS * len(SIGNALS)) / (86_400 / PERIOD_S),
        "files_ingested": files,
        "generate_s": round(generate_s, 1),
        "ingest_s": round(ingest_s, 1),
        "build_s": round(time.perf_counter() - started, 1),
        "bytes": dir_bytes(path / "tables" / "readings"),
    }
    if accepted != rows:
        raise RuntimeError(f"lake build: {accepted:,} readings accepted, {rows:,} generated")
    sidecar.write_text(json.dumps(meta, indent=2))
    return {**meta, "path": str(path), "reused": False}


# -- group function (module level: the local pool and Spark pickle it) ----------------------
