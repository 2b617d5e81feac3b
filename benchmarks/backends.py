"""Compute backends benchmark: the same batch pipelines on the local backend and on Spark.

For each size N it builds (or reuses) a lake of N readings, then runs each pipeline on each
backend, every run in a fresh subprocess (wall time and peak memory of that process tree:
for Spark the JVM and its Python workers count):

* local-1   ``LocalBackend(workers=1)``: DuckDB sorts, the groups run in the driver
* local-2   ``LocalBackend(workers=2)``: the same, groups in a spawn pool of 2
* spark     ``SparkBackend("local[2]")``: ``groupBy(...).applyInArrow`` on a local JVM

Pipelines (``--pipelines``):

* noop      ``map_groups`` of a 10-row in-memory table: the fixed cost of one call
* native    the engine's own GROUP BY (count, sum per asset), no Python: DuckDB / Spark SQL
* shuffle   every row brought together by asset first, no Python: DuckDB ORDER BY
            streamed as Arrow / Spark ``repartition(asset)`` then the aggregate
* scan      the same count and sum through ``map_groups``: reading, grouping and moving
            every row to a Python group function and back, with no work in it
* features  ``workflows.maintenance.condition_frame``: per-asset 10-minute medians
* quality   ``workflows.data_quality.check_quality``: every data-quality check

Usage::

    .venv/bin/python benchmarks/backends.py --rows 1000000                  # quick check
    .venv/bin/python benchmarks/backends.py --rows 10000000 100000000 --json out.json

See benchmarks/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil

from backend_lake import build_lake, human
from common import REPO, Sampling, fmt_table, machine_info

BACKENDS = ("local-1", "local-2", "spark")
PIPELINES = ("noop", "native", "shuffle", "scan", "features", "quality")
SAMPLE_S = 0.2


def asset_count(frame: Any) -> Any:
    """One row per asset: how many rows it had and their sum (moves every row, no work)."""
    import numpy as np
    import pandas as pd

    values = frame["value"].to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "asset": [frame["asset"].iloc[0]],
            "rows": [len(frame)],
            "value_sum": [float(np.nansum(values))],
        }
    )


# -- workers (each runs in its own process) ---------------------------------------------------
def _hwm_mb(pid: int | str = "self") -> float | None:
    """The kernel's peak resident set (VmHWM) of a process, exact (no sampling)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def _descendant_peaks() -> dict[str, float]:
    """VmHWM of every live descendant, summed by kind (the JVM, Python workers)."""
    peaks: dict[str, float] = {}
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            kind = "jvm" if child.name() == "java" else "python_workers"
            hwm = _hwm_mb(child.pid)
            if hwm is not None:
                peaks[kind] = round(peaks.get(kind, 0.0) + hwm, 1)
                peaks[f"{kind}_processes"] = peaks.get(f"{kind}_processes", 0) + 1
    return peaks


def _backend(kind: str, spark_conf: dict[str, str]) -> Any:
    from shopfloor.compute import LocalBackend, SparkBackend

    if kind == "local-1":
        return LocalBackend(workers=1)
    if kind == "local-2":
        return LocalBackend(workers=2)
    if kind == "spark":
        return SparkBackend("local[2]", conf=spark_conf)
    raise ValueError(f"unknown backend {kind}")


def _pipeline(name: str, lake: Any, backend: Any) -> tuple[dict[str, Any], Any]:
    """(how it ran, a run function returning a small fingerprint of the result)."""
    import pyarrow as pa

    from shopfloor.workflows.compute import lake_scan

    count_schema = pa.schema(
        [("asset", pa.string()), ("rows", pa.int64()), ("value_sum", pa.float64())]
    )
    if name == "noop":
        table = pa.table({"asset": ["a", "b"] * 5, "value": [float(i) for i in range(10)]})

        def noop() -> dict[str, Any]:
            return {
                "rows": backend.map_groups(table, asset_count, ["asset"], count_schema).num_rows
            }

        return {"variant": "direct map_groups, 10-row in-memory table"}, noop
    if name == "scan":

        def scan() -> dict[str, Any]:
            source = lake_scan(lake, "readings", ["asset", "signal", "ts", "value"])
            out = backend.map_groups(source, asset_count, ["asset"], count_schema)
            return {
                "rows": out.num_rows,
                "readings": int(pa.compute.sum(out["rows"]).as_py()),
                "value_sum": round(float(pa.compute.sum(out["value_sum"]).as_py()), 3),
            }

        return {"variant": "direct map_groups (count and sum per asset)"}, scan
    if name in ("native", "shuffle"):
        return _engine_only(name, lake, backend)
    if name == "features":
        from shopfloor.workflows import maintenance

        def features() -> dict[str, Any]:
            frame = maintenance.condition_frame(lake, backend=backend)
            return {
                "rows": len(frame),
                "columns": len(frame.columns),
                "value_sum": round(float(frame.select_dtypes("number").sum().sum()), 3),
            }

        return {"variant": "maintenance.condition_frame(lake, backend=...)"}, features
    if name == "quality":
        from shopfloor.workflows import data_quality

        def quality() -> dict[str, Any]:
            report = data_quality.check_quality(lake, backend=backend)
            return {
                "issues": len(report.issues),
                "counts": {str(k): int(v) for k, v in report.counts().items()},
            }

        return {"variant": "data_quality.check_quality(lake, backend=...)"}, quality
    raise ValueError(f"unknown pipeline {name}")


def _engine_only(name: str, lake: Any, backend: Any) -> tuple[dict[str, Any], Any]:
    """The engine alone, no Python group function: what ``scan`` costs without moving rows
    into Python.  ``native``: the engine's own GROUP BY (count, sum per asset; partial
    aggregation, so few rows cross a shuffle).  ``shuffle``: every row brought together by
    asset first (DuckDB: ORDER BY asset streamed out as Arrow, as the local backend reads;
    Spark: ``repartition(asset)`` then the aggregate, every row through the shuffle)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from shopfloor.compute import LocalBackend
    from shopfloor.workflows.compute import lake_scan

    scan = lake_scan(lake, "readings", ["asset", "value"])

    def fingerprint(table: pa.Table) -> dict[str, Any]:
        return {
            "rows": table.num_rows,
            "readings": int(pc.sum(table["rows"]).as_py()),
            "value_sum": round(float(pc.sum(table["value_sum"]).as_py()), 3),
        }

    if isinstance(backend, LocalBackend):
        if name == "shuffle":
            from shopfloor.compute.local import scan_batches

            def drain() -> dict[str, Any]:
                _, batches = scan_batches(scan, ["asset"], backend.batch_rows)
                rows, total, assets, last = 0, 0.0, 0, None
                for batch in batches:
                    rows += batch.num_rows
                    total += pc.sum(batch.column("value")).as_py() or 0.0
                    keys = batch.column("asset")
                    assets += len(pc.unique(keys)) - (1 if last == keys[0].as_py() else 0)
                    last = keys[-1].as_py()
                return {"rows": assets, "readings": rows, "value_sum": round(total, 3)}

            return {"variant": "DuckDB ORDER BY asset, streamed as Arrow, no Python"}, drain
        import duckdb
        from deltalake import DeltaTable

        files = DeltaTable(scan.path, version=scan.version).file_uris()
        listing = ", ".join(f"'{f.removeprefix('file://')}'" for f in files)
        query = (
            "SELECT asset, count(*) AS rows, sum(value) AS value_sum "
            f"FROM read_parquet([{listing}]) GROUP BY asset"
        )

        def native() -> dict[str, Any]:
            con = duckdb.connect()
            try:
                return fingerprint(con.sql(query).to_arrow_table())
            finally:
                con.close()

        return {"variant": "DuckDB GROUP BY over the snapshot's files, no Python"}, native
    from pyspark.sql import functions as F

    def spark_job() -> dict[str, Any]:
        frame = backend.read(scan)
        if name == "shuffle":
            partitions = int(backend.session.conf.get("spark.sql.shuffle.partitions"))
            frame = frame.repartition(partitions, "asset")
        out = frame.groupBy("asset").agg(
            F.count(F.lit(1)).alias("rows"), F.sum("value").alias("value_sum")
        )
        return fingerprint(out.toArrow())

    variant = (
        "Spark repartition(asset) + groupBy().agg(): every row shuffled, no Python"
        if name == "shuffle"
        else "Spark groupBy().agg() (partial aggregation), no Python"
    )
    return {"variant": variant}, spark_job


def worker(lake_dir: str, backend_kind: str, pipeline: str, spark_conf_json: str) -> dict[str, Any]:
    """One pipeline on one backend: the timed part is the pipeline call alone; Spark's
    session start is timed separately (and first, so the pipeline does not include it)."""
    started = time.perf_counter()
    import warnings

    warnings.filterwarnings("ignore")
    from shopfloor.config import Settings
    from shopfloor.lake import Lake

    spark_conf = json.loads(spark_conf_json)
    lake = Lake(lake_dir, Settings(lake=Path(lake_dir)))
    backend = _backend(backend_kind, spark_conf)
    out: dict[str, Any] = {"backend": backend_kind, "pipeline": pipeline}
    try:
        if backend_kind == "spark":
            clock = time.perf_counter()
            session = backend.session
            out["spark_start_s"] = time.perf_counter() - clock
            out["spark_version"] = session.version
            out["spark_conf"] = {
                k: v
                for k, v in session.sparkContext.getConf().getAll()
                if k.startswith(
                    (
                        "spark.sql.shuffle",
                        "spark.driver.memory",
                        "spark.master",
                        "spark.sql.execution.arrow",
                    )
                )
                or k in spark_conf
            }
            out["spark_has_delta"] = backend.has_delta()
        info, run = _pipeline(pipeline, lake, backend)
        out.update(info)
        out["imports_s"] = time.perf_counter() - started - out.get("spark_start_s", 0.0)
        clock = time.perf_counter()
        out["result"] = run()
        out["seconds"] = time.perf_counter() - clock
        if pipeline == "noop":  # the first call pays one-off costs; then the steady cost
            again = []
            for _ in range(3):
                clock = time.perf_counter()
                run()
                again.append(time.perf_counter() - clock)
            out["repeat_s"] = again
            out["repeat_median_s"] = sorted(again)[1]
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a worker
        # started by a big parent reports the parent's size (measured: 547 MB for all).
        out["driver_hwm_mb"] = _hwm_mb()
        out["descendants_hwm_mb"] = _descendant_peaks()
    finally:
        clock = time.perf_counter()
        backend.close()
        out["close_s"] = time.perf_counter() - clock
    return out


# -- measuring a worker -----------------------------------------------------------------------
@dataclass
class TreePeak(Sampling):
    """Peak summed RSS of a process tree, sampled every ``interval`` s (psutil), overall and
    by kind: the driver (the worker itself), the JVM, every other descendant (the local
    pool's or Spark's Python workers). Also the tree's CPU seconds."""

    root: int
    interval: float = SAMPLE_S
    peak: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    cpu: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        sums = {"total": 0, "driver": 0, "jvm": 0, "workers": 0}
        try:
            root = psutil.Process(self.root)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                rss = proc.memory_info().rss
                times = proc.cpu_times()
                self.cpu[proc.pid] = times.user + times.system
                kind = (
                    "driver"
                    if proc.pid == self.root
                    else ("jvm" if proc.name() == "java" else "workers")
                )
                sums[kind] += rss
                sums["total"] += rss
        for key, value in sums.items():
            self.peak[key] = max(self.peak.get(key, 0), value)
        self.samples += 1


def _busy_cpu_s() -> float:
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0))


def measure(args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``python backends.py ARGS`` in a fresh process: its JSON result (last stdout
    line) plus wall seconds, peak RSS of its process tree and the machine's contention."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    load = os.getloadavg()[0]
    busy0 = _busy_cpu_s()
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
    )
    with TreePeak(proc.pid) as mem:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(proc.pid).children(recursive=True):
                    child.kill()
            proc.kill()
            proc.communicate()
            return {"error": f"timeout {timeout} s"}
    wall = time.perf_counter() - started
    busy = _busy_cpu_s() - busy0
    tree_cpu = sum(mem.cpu.values())
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(err.strip().splitlines()[-15:])
        return {"error": f"exit {proc.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["process_wall_s"] = round(wall, 2)
    result["peak_rss_mb"] = {k: round(v / 2**20, 1) for k, v in mem.peak.items()}
    result["mem_samples"] = mem.samples
    result["tree_cpu_s"] = round(tree_cpu, 2)
    # Contention: CPU the rest of the machine used meanwhile (other users' jobs).
    result["other_cpu_s"] = round(max(0.0, busy - tree_cpu), 2)
    result["loadavg_1m_before"] = round(load, 2)
    return result


def run_one(
    lake: Path, backend: str, pipeline: str, spark_conf: dict[str, str], timeout: float
) -> dict[str, Any]:
    args = ["--worker", str(lake), backend, pipeline, json.dumps(spark_conf)]
    return {"backend": backend, "pipeline": pipeline, **measure(args, timeout)}


def fastest(tries: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of repeated runs, with every run's seconds and the worst peak memory."""
    done = [t for t in tries if "error" not in t]
    if not done:
        return tries[-1]
    best = dict(min(done, key=lambda t: t["seconds"]))
    if len(tries) > 1:
        best["runs_s"] = [t.get("seconds") for t in tries]
        best["runs_other_cpu_s"] = [t.get("other_cpu_s") for t in tries]
        best["peak_rss_mb"] = {
            k: max(t["peak_rss_mb"].get(k, 0.0) for t in done) for k in best["peak_rss_mb"]
        }
    best["repeat"] = len(tries)
    return best


def warm_dir(path: Path) -> None:
    """Read every file once so each run starts from the same (warm) page cache."""
    for file in path.rglob("*"):
        if file.is_file():
            with file.open("rb", buffering=0) as handle:
                while handle.read(1 << 24):
                    pass


def versions() -> dict[str, Any]:
    import deltalake
    import duckdb
    import pandas
    import pyarrow

    found = {
        "duckdb": duckdb.__version__,
        "deltalake": deltalake.__version__,
        "pyarrow": pyarrow.__version__,
        "pandas": pandas.__version__,
    }
    with contextlib.suppress(ImportError):
        import pyspark

        found["pyspark"] = pyspark.__version__
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
        found["java"] = (java.stderr or java.stdout).splitlines()[0]
    return found


def _same(a: Any, b: Any) -> bool:
    """Equal results; sums to 1e-9 relative (the backends add in different orders)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return bool(a == b)


def agreement(runs: list[dict[str, Any]]) -> dict[str, bool]:
    """Per pipeline: did every backend that ran it return the same result?"""
    out = {}
    for pipeline in dict.fromkeys(r["pipeline"] for r in runs):
        found = [r["result"] for r in runs if r["pipeline"] == pipeline and "result" in r]
        if len(found) > 1:
            out[pipeline] = all(_same(found[0], other) for other in found[1:])
    return out


def summary_table(results: dict[str, Any]) -> str:
    rows = []
    for size in results["sizes"]:
        for r in size["runs"]:
            if "error" in r:
                rows.append([human(size["rows"]), r["pipeline"], r["backend"], r["error"][:60]])
                continue
            seconds = r["seconds"]
            rate = size["rows"] / seconds if r["pipeline"] != "noop" else None
            peak = r["peak_rss_mb"]
            rows.append(
                [
                    human(size["rows"]),
                    r["pipeline"],
                    r["backend"],
                    seconds,
                    rate,
                    r.get("spark_start_s"),
                    r["process_wall_s"],
                    r["tree_cpu_s"],
                    peak["total"],
                    r.get("driver_hwm_mb"),
                    peak.get("jvm") or None,
                    peak.get("workers") or None,
                    r["other_cpu_s"],
                ]
            )
    return fmt_table(
        [
            "rows",
            "pipeline",
            "backend",
            "seconds",
            "rows/s",
            "spark start s",
            "process s",
            "CPU s",
            "peak tree RSS MB",
            "driver peak MB",
            "JVM MB",
            "workers MB",
            "others' CPU s",
        ],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument(
        "--pipelines", nargs="+", choices=PIPELINES, default=["noop", "scan", "features", "quality"]
    )
    parser.add_argument("--workdir", type=Path, default=REPO / ".bench")
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="result file (default: WORKDIR/results/backends-<utc time>.json)",
    )
    parser.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Spark setting (repeatable); default: the backend's own defaults",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each pipeline on each backend N times and report the fastest (the least "
        "disturbed on a shared machine; every run is in the JSON)",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    parser.add_argument(
        "--build-only", action="store_true", help="build (or check) the lakes and stop"
    )
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--build-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(*args.worker), default=str), flush=True)
        return 0
    if args.build_worker:
        rows, where = args.build_worker
        print(json.dumps(build_lake(int(rows), Path(where)), default=str), flush=True)
        return 0

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work: Path = args.workdir.resolve()
    lakes = work / "backends"
    lakes.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC)
    json_path: Path = args.json or work / "results" / f"backends-{stamp:%Y%m%dT%H%M%SZ}.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    spark_conf = dict(item.split("=", 1) for item in args.spark_conf)
    results: dict[str, Any] = {
        "machine": machine_info(),
        "date": stamp.isoformat(),
        "command": " ".join([sys.executable, *sys.argv]),
        "versions": versions(),
        "spark_conf": spark_conf,
        "sample_interval_s": SAMPLE_S,
        "sizes": [],
    }
    for rows in args.rows:
        print(f"\n== {rows:,} readings ==", flush=True)
        # Built in its own process too: the generator's memory is measured, and this
        # process stays small (every worker is forked from it).
        lake = measure(["--build-worker", str(rows), str(lakes)], args.timeout)
        if "error" in lake:
            raise SystemExit(f"lake build failed: {lake['error']}")
        peak = lake["peak_rss_mb"]["total"]
        how = (
            "reused" if lake["reused"] else f"built in {lake['build_s']:.0f} s, peak {peak:,.0f} MB"
        )
        print(
            f"lake {lake['path']}: {lake['bytes'] / 2**20:,.0f} MiB, {lake['days']:.1f} days, "
            f"{how}",
            flush=True,
        )
        size: dict[str, Any] = {"rows": rows, "lake": lake, "runs": []}
        results["sizes"].append(size)
        if args.build_only:
            continue
        for pipeline in args.pipelines:
            for backend in args.backends:
                print(f"{pipeline} on {backend} ...", flush=True)
                tries = []
                for _ in range(args.repeat):
                    warm_dir(Path(lake["path"]) / "tables" / "readings")
                    tries.append(
                        run_one(Path(lake["path"]), backend, pipeline, spark_conf, args.timeout)
                    )
                r = fastest(tries)
                size["runs"].append(r)
                if "error" in r:
                    print(f"  FAILED: {r['error']}", flush=True)
                else:
                    start = (
                        f", Spark start {r['spark_start_s']:.1f} s" if "spark_start_s" in r else ""
                    )
                    print(
                        f"  {r['seconds']:.2f} s{start}, peak tree RSS "
                        f"{r['peak_rss_mb']['total']:,.0f} MB, result {r['result']}",
                        flush=True,
                    )
                size["results_agree"] = agreement(size["runs"])
                json_path.write_text(json.dumps(results, indent=2, default=str))
        print(f"results agree across backends: {size.get('results_agree')}", flush=True)
    json_path.write_text(json.dumps(results, indent=2, default=str))
    print("\n" + summary_table(results))
    print(f"\nJSON: {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
