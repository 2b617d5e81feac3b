"""Ingest and query benchmark: shopfloor vs the DuckDB engine limit vs PostgreSQL.

For each size N it generates (or reuses) a long-layout readings CSV (asset, signal, ts,
value), then loads it, each system in a fresh subprocess (wall time and peak memory of
that process tree, PostgreSQL's server processes included):

* shopfloor      ``ingest_file(Lake(tmp), csv, "readings")`` into a new lake
* duckdb-limit   ``COPY (SELECT * FROM read_csv(csv)) TO 'out.parquet'`` (same threads)
* postgres       ``COPY readings FROM STDIN`` into a table with an (asset, signal, ts) index

then times two queries over the loaded data (1 warm-up + 3 timed runs, median):

* q1  one asset-signal over one day, resampled to 1 minute (avg)
* q2  fleet-wide daily rollup: count, avg, min, max per asset, signal, day

Usage::

    .venv/bin/python benchmarks/ingest.py --rows 1000000            # quick check
    .venv/bin/python benchmarks/ingest.py --rows 10000000 100000000 --json out.json

See benchmarks/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import resource
import shutil
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    REPO,
    PgServer,
    dir_bytes,
    ensure_pg_bin,
    fmt_table,
    machine_info,
    postgres_server,
    run_worker,
    warm_file,
)

GENERATOR_VERSION = 1
SERIES_ASSETS = 100
SIGNALS = [  # name, base, amplitude, noise, decimals
    ("temperature", 65.0, 6.0, 0.8, 2),
    ("vibration", 2.4, 0.6, 0.15, 3),
    ("pressure", 6.0, 0.4, 0.05, 3),
    ("current", 12.5, 2.0, 0.3, 2),
    ("speed", 1480.0, 15.0, 3.0, 1),
    ("power", 7.5, 1.2, 0.2, 3),
    ("flow", 40.0, 4.0, 0.6, 2),
    ("humidity", 45.0, 8.0, 1.0, 1),
]
PERIOD_S = 10
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
Q1_ASSET, Q1_SIGNAL = "M042", "temperature"
Q1_START = EPOCH
Q1_END = EPOCH + dt.timedelta(days=1)
WARMUP, TIMED = 1, 3

PG_Q1 = (
    "SELECT signal, date_bin('1 minute', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS ts, "
    "avg(value) AS value FROM readings "
    "WHERE asset = %s AND signal = %s AND ts >= %s AND ts < %s "
    "GROUP BY 1, 2 ORDER BY 1, 2"
)
PG_Q2 = (
    "SELECT asset, signal, (ts AT TIME ZONE 'UTC')::date AS day, count(*) AS n, "
    "avg(value) AS avg, min(value) AS min, max(value) AS max "
    "FROM readings GROUP BY 1, 2, 3"
)
SF_Q2 = (
    "SELECT asset, signal, day, count(*) AS n, avg(value) AS avg, min(value) AS min, "
    "max(value) AS max FROM readings GROUP BY ALL"
)


def human(n: int) -> str:
    for unit, size in (("B", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


# -- data ------------------------------------------------------------------------------------
def generate_csv(path: Path, rows: int) -> dict[str, Any]:
    """N rows of 100 assets x 8 signals every 10 s from 2024-01-01, ordered by time (as a
    historian export is); reused when the file and its sidecar say it is the same."""
    meta_path = path.with_suffix(".csv.json")
    if path.exists() and meta_path.exists():
        with contextlib.suppress(ValueError, OSError):
            meta = json.loads(meta_path.read_text())
            if (
                meta.get("rows") == rows
                and meta.get("bytes") == path.stat().st_size
                and meta.get("version") == GENERATOR_VERSION
            ):
                return {**meta, "reused": True, "seconds": 0.0}
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    series = SERIES_ASSETS * len(SIGNALS)
    names = "[" + ", ".join(f"'{s[0]}'" for s in SIGNALS) + "]"

    def arr(i: int) -> str:
        return "[" + ", ".join(repr(s[i]) for s in SIGNALS) + "]"

    tmp = path.with_suffix(".csv.part")
    query = f"""
        COPY (
          SELECT 'M' || lpad(CAST(a + 1 AS VARCHAR), 3, '0') AS asset,
                 {names}[s + 1] AS signal,
                 strftime(TIMESTAMP '{EPOCH:%Y-%m-%d}' + to_microseconds(t * {PERIOD_S * 10**6}),
                          '%Y-%m-%dT%H:%M:%SZ') AS ts,
                 round({arr(1)}[s + 1]
                       + {arr(2)}[s + 1] * sin(2 * pi() * t / 8640.0 + a)
                       + {arr(3)}[s + 1] * ((hash(i) % 20001) / 10000.0 - 1.0),
                       {arr(4)}[s + 1]) AS value
          FROM (SELECT i, i // {series} AS t, (i % {series}) // {len(SIGNALS)} AS a,
                       i % {len(SIGNALS)} AS s FROM range({rows}) r(i))
        ) TO '{tmp}' (FORMAT csv, HEADER)
    """
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(query).fetchall()
    con.close()
    seconds = time.perf_counter() - started
    tmp.replace(path)
    meta = {
        "rows": rows,
        "bytes": path.stat().st_size,
        "version": GENERATOR_VERSION,
        "days": rows / series / (86400 / PERIOD_S),
    }
    meta_path.write_text(json.dumps(meta))
    return {**meta, "reused": False, "seconds": seconds}


# -- workers (each runs in its own process) ---------------------------------------------------
def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_s() -> float:
    """User + system CPU seconds of this process, all threads (contention-independent work)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def worker_shopfloor(csv: Path, lake_dir: Path) -> dict[str, Any]:
    import duckdb
    import pyarrow as pa

    from shopfloor.ingest.pipeline import ingest_file
    from shopfloor.lake import Lake

    lake = Lake(lake_dir)
    cpu0, started = _cpu_s(), time.perf_counter()
    result = ingest_file(lake, csv, "readings")
    seconds, cpu = time.perf_counter() - started, _cpu_s() - cpu0
    maxrss = _maxrss_mb()
    # Sanity checks, outside the timed region.
    table = lake.dataset("readings")
    con = duckdb.connect()
    con.register("readings", table)
    (count,) = con.sql("SELECT count(*) FROM readings").fetchall()[0]
    con.close()
    info = [t for t in lake.info().tables if t.name == "readings"]
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "status": result.status,
        "accepted": result.accepted,
        "quarantined": result.quarantined,
        "count": int(count),
        "files": info[0].files if info else 0,
        "bytes": dir_bytes(lake.table_path("readings")),
        "maxrss_mb": round(maxrss, 1),
        "pa_pool_mb": pa.total_allocated_bytes() / 2**20,
    }


def worker_duckdb(csv: Path, out: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    threads = con.sql("SELECT current_setting('threads')").fetchall()[0][0]
    cpu0, started = _cpu_s(), time.perf_counter()
    con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{out}' (FORMAT parquet)").fetchall()
    seconds, cpu = time.perf_counter() - started, _cpu_s() - cpu0
    maxrss = _maxrss_mb()
    (count,) = con.sql(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()[0]
    types = con.sql(f"DESCRIBE SELECT * FROM read_csv('{csv}')").fetchall()
    con.close()
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "count": int(count),
        "threads": int(threads),
        "bytes": out.stat().st_size,
        "maxrss_mb": round(maxrss, 1),
        "types": {r[0]: r[1] for r in types},
    }


def worker_postgres(csv: Path, dsn: str) -> dict[str, Any]:
    import psycopg

    chunk = 1 << 20
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        cpu0, started = _cpu_s(), time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY readings FROM STDIN (FORMAT csv, HEADER)") as copy,
            csv.open("rb") as handle,
        ):
            while data := handle.read(chunk):
                copy.write(data)
        conn.commit()
        seconds, cpu = time.perf_counter() - started, _cpu_s() - cpu0
        (count,) = conn.execute("SELECT count(*) FROM readings").fetchone()  # type: ignore[misc]
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "count": int(count),
        "maxrss_mb": round(_maxrss_mb(), 1),
    }


def _median_timing(fn: Any) -> tuple[float, list[float], Any]:
    for _ in range(WARMUP):
        fn()
    times, last = [], None
    for _ in range(TIMED):
        started = time.perf_counter()
        last = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, last


def worker_queries_shopfloor(lake_dir: Path) -> dict[str, Any]:
    from shopfloor.lake import Lake

    lake = Lake(lake_dir)

    def q1() -> Any:
        return lake.readings(Q1_ASSET, Q1_SIGNAL, Q1_START, Q1_END, resample="1min")

    def q2() -> Any:
        con = lake.connect()
        try:
            return con.sql(SF_Q2).to_arrow_table()
        finally:
            con.close()

    con = lake.connect()

    def q2_query_only() -> Any:
        return con.sql(SF_Q2).to_arrow_table()

    q1_s, q1_all, r1 = _median_timing(q1)
    q2_s, q2_all, r2 = _median_timing(q2)
    q2q_s, q2q_all, _ = _median_timing(q2_query_only)
    con.close()
    return {
        "q1": {
            "seconds": q1_s,
            "runs": q1_all,
            "rows": len(r1),
            "sum": float(r1["value"].sum()) if len(r1) else 0.0,
        },
        "q2": {
            "seconds": q2_s,
            "runs": q2_all,
            "rows": r2.num_rows,
            "count": int(r2.column("n").to_numpy().sum()),
            "note": "Lake.connect() + query + fetch as Arrow",
        },
        "q2_query_only": {
            "seconds": q2q_s,
            "runs": q2q_all,
            "note": "query + fetch on an open Lake.connect() connection",
        },
        "maxrss_mb": round(_maxrss_mb(), 1),
    }


def queries_postgres(dsn: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")

        def q1() -> Any:
            return conn.execute(PG_Q1, (Q1_ASSET, Q1_SIGNAL, Q1_START, Q1_END)).fetchall()

        def q2() -> Any:
            return conn.execute(PG_Q2).fetchall()

        q1_s, q1_all, r1 = _median_timing(q1)
        q2_s, q2_all, r2 = _median_timing(q2)
        plan1 = [
            r[0]
            for r in conn.execute(
                "EXPLAIN " + PG_Q1, (Q1_ASSET, Q1_SIGNAL, Q1_START, Q1_END)
            ).fetchall()
        ]
    return {
        "q1": {
            "seconds": q1_s,
            "runs": q1_all,
            "rows": len(r1),
            "sum": float(sum(r[2] for r in r1)),
            "plan": plan1[:4],
        },
        "q2": {"seconds": q2_s, "runs": q2_all, "rows": len(r2), "count": sum(r[3] for r in r2)},
    }


# -- orchestration ----------------------------------------------------------------------------
def _spawn(kind: str, *args: str, extra_pids: Any = None) -> dict[str, Any]:
    return run_worker(
        [str(Path(__file__).resolve()), "--worker", kind, *args], extra_pids=extra_pids
    )


def _rate(rows: int, result: dict[str, Any] | None) -> None:
    if result and result.get("seconds"):
        result["rows_per_s"] = rows / result["seconds"]


def _repeat(n: int, measure: Any) -> dict[str, Any]:
    """Run ``measure()`` n times; the fastest run is the headline (the least disturbed by
    other work on the machine), with every run's seconds, the median and the worst memory."""
    runs = [measure() for _ in range(n)]
    best = dict(min(runs, key=lambda r: r["seconds"]))
    if n > 1:
        best["runs_s"] = [r["seconds"] for r in runs]
        best["median_s"] = statistics.median(best["runs_s"])
        for key in ("peak_rss_mb", "peak_pss_mb", "maxrss_mb"):
            if key in best:
                best[key] = max(r.get(key, 0) for r in runs)
    best["repeat"] = n
    return best


def _pg_load(server: PgServer, csv: Path, rows: int) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS readings")
        conn.execute(
            "CREATE TABLE readings (asset text NOT NULL, signal text NOT NULL, "
            "ts timestamptz NOT NULL, value double precision)"
        )
        conn.execute("CREATE INDEX readings_key ON readings (asset, signal, ts)")
        conn.execute("CHECKPOINT")
    warm_file(csv)
    result = _spawn("postgres", str(csv), server.dsn(), extra_pids=server.pids)
    _rate(rows, result)
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE readings")
        result["vacuum_analyze_s"] = time.perf_counter() - started
        sizes = conn.execute(
            "SELECT pg_table_size('readings'), pg_indexes_size('readings')"
        ).fetchone()
        assert sizes is not None
        result["table_bytes"], result["index_bytes"] = int(sizes[0]), int(sizes[1])
    result["memory_note"] = (
        "peak of summed PSS (and RSS) of the COPY client process and "
        "every postgres server process, sampled every 0.1 s"
    )
    return result


def run_size(
    rows: int, work: Path, server: PgServer | None, keep: bool, repeat: int = 1
) -> dict[str, Any]:
    data_dir, run_dir = work / "data", work / "runs" / human(rows)
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    csv = data_dir / f"readings-{human(rows)}.csv"
    print(f"\n== {rows:,} rows ==", flush=True)
    gen = generate_csv(csv, rows)
    how = ", reused" if gen["reused"] else f", generated in {gen['seconds']:.1f} s"
    print(f"csv: {csv} ({gen['bytes'] / 2**20:,.0f} MiB, {gen['days']:.2f} days{how})", flush=True)
    out: dict[str, Any] = {"rows": rows, "csv": {"path": str(csv), **gen}}

    lake_dir = run_dir / "lake"

    def shopfloor_once() -> dict[str, Any]:
        shutil.rmtree(lake_dir, ignore_errors=True)
        warm_file(csv)
        return _spawn("shopfloor", str(csv), str(lake_dir))

    print("shopfloor ingest ...", flush=True)
    sf = _repeat(repeat, shopfloor_once)
    _rate(rows, sf)
    sf["row_count_ok"] = sf["count"] == rows
    out["shopfloor"] = sf
    print(
        f"  {sf['seconds']:.1f} s, {sf['rows_per_s']:,.0f} rows/s, "
        f"peak RSS {sf['peak_rss_mb']:,.0f} MB, count ok: {sf['row_count_ok']}",
        flush=True,
    )

    parquet = run_dir / "duckdb-limit.parquet"

    def duckdb_once() -> dict[str, Any]:
        parquet.unlink(missing_ok=True)
        warm_file(csv)
        return _spawn("duckdb", str(csv), str(parquet))

    print("duckdb limit ...", flush=True)
    dk = _repeat(repeat, duckdb_once)
    _rate(rows, dk)
    out["duckdb_limit"] = dk
    print(
        f"  {dk['seconds']:.1f} s, {dk['rows_per_s']:,.0f} rows/s, "
        f"peak RSS {dk['peak_rss_mb']:,.0f} MB",
        flush=True,
    )
    if not keep:
        parquet.unlink(missing_ok=True)

    pg: dict[str, Any] | None = None
    if server is not None:
        print("postgres COPY (indexed table) ...", flush=True)
        pg = _repeat(repeat, lambda: _pg_load(server, csv, rows))
        out["postgres"] = pg
        print(
            f"  {pg['seconds']:.1f} s, {pg['rows_per_s']:,.0f} rows/s, peak PSS "
            f"{pg['peak_pss_mb']:,.0f} MB (client+server), VACUUM ANALYZE "
            f"{pg['vacuum_analyze_s']:.1f} s",
            flush=True,
        )

    print("queries ...", flush=True)
    queries: dict[str, Any] = {"shopfloor": _spawn("queries", str(lake_dir))}
    if server is not None:
        queries["postgres"] = queries_postgres(server.dsn())
        for q in ("q1", "q2"):
            queries[f"{q}_speedup"] = (
                queries["postgres"][q]["seconds"] / queries["shopfloor"][q]["seconds"]
            )
        queries["results_agree"] = {
            "q1_rows": queries["postgres"]["q1"]["rows"] == queries["shopfloor"]["q1"]["rows"],
            "q1_sum": abs(queries["postgres"]["q1"]["sum"] - queries["shopfloor"]["q1"]["sum"])
            <= 1e-6 * max(1.0, abs(queries["postgres"]["q1"]["sum"])),
            "q2_rows": queries["postgres"]["q2"]["rows"] == queries["shopfloor"]["q2"]["rows"],
            "q2_count": queries["postgres"]["q2"]["count"] == queries["shopfloor"]["q2"]["count"],
        }
    out["queries"] = queries

    out["ratios"] = {
        "shopfloor_vs_duckdb_limit": sf["rows_per_s"] / dk["rows_per_s"],
        "shopfloor_vs_postgres": (sf["rows_per_s"] / pg["rows_per_s"]) if pg else None,
    }
    out["targets"] = {
        "ingest_vs_postgres_ge_3x": (out["ratios"]["shopfloor_vs_postgres"] >= 3) if pg else None,
        "ingest_vs_duckdb_limit_ge_0.6": out["ratios"]["shopfloor_vs_duckdb_limit"] >= 0.6,
        "peak_rss_lt_1gb": sf["peak_rss_mb"] < 1024,
        "row_count_ok": sf["row_count_ok"],
        "query_speedup_ge_10x": (
            {q: queries[f"{q}_speedup"] >= 10 for q in ("q1", "q2")} if pg else None
        ),
    }
    if server is not None:
        import psycopg

        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS readings")
            conn.execute("CHECKPOINT")
    if not keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    return out


def versions(server: PgServer | None, pg_note: str | None) -> dict[str, Any]:
    import deltalake
    import duckdb
    import psycopg
    import pyarrow

    return {
        "duckdb": duckdb.__version__,
        "deltalake": deltalake.__version__,
        "pyarrow": pyarrow.__version__,
        "psycopg": psycopg.__version__,
        "postgres": server.version if server else pg_note,
    }


def summary_tables(results: dict[str, Any]) -> str:
    load_rows, query_rows, ratio_rows = [], [], []
    for size in results["sizes"]:
        n = size["rows"]
        for name, key in (
            ("shopfloor", "shopfloor"),
            ("duckdb-limit", "duckdb_limit"),
            ("postgres", "postgres"),
        ):
            r = size.get(key)
            if r is None:
                continue
            load_rows.append(
                [
                    human(n),
                    name,
                    r["seconds"],
                    r.get("median_s"),
                    r["rows_per_s"],
                    r.get("tree_cpu_s"),
                    r["peak_rss_mb"],
                    r["peak_pss_mb"],
                    r.get("other_cpu_s"),
                ]
            )
        q = size["queries"]
        for qn in ("q1", "q2"):
            pgq = q.get("postgres", {}).get(qn, {}).get("seconds")
            query_rows.append(
                [human(n), qn, q["shopfloor"][qn]["seconds"], pgq, q.get(f"{qn}_speedup")]
            )
        t = size["targets"]
        ratio_rows.append(
            [
                human(n),
                size["ratios"]["shopfloor_vs_postgres"],
                size["ratios"]["shopfloor_vs_duckdb_limit"],
                size["shopfloor"]["peak_rss_mb"],
                _ok(t["ingest_vs_postgres_ge_3x"]),
                _ok(t["ingest_vs_duckdb_limit_ge_0.6"]),
                _ok(t["peak_rss_lt_1gb"]),
                _ok(t["row_count_ok"]),
            ]
        )
    parts = [
        fmt_table(
            [
                "rows",
                "system",
                "load s",
                "median s",
                "rows/s",
                "CPU s",
                "peak RSS MB",
                "peak PSS MB",
                "others' CPU s",
            ],
            load_rows,
        ),
        fmt_table(["rows", "query", "shopfloor s", "postgres s", "speed-up"], query_rows),
        fmt_table(
            ["rows", "sf/pg", "sf/duckdb", "sf RSS MB", ">=3x", ">=0.6", "<1GB", "count"],
            ratio_rows,
        ),
    ]
    lin = results.get("linearity")
    if lin:
        parts.append(
            fmt_table(
                ["system", "s/row small", "s/row large", "large/small"],
                [
                    [k, v["small_s_per_row"], v["large_s_per_row"], v["ratio"]]
                    for k, v in lin["systems"].items()
                ],
            )
        )
    return "\n\n".join(parts)


def _ok(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def linearity(sizes: list[dict[str, Any]]) -> dict[str, Any] | None:
    if len(sizes) < 2:
        return None
    small = min(sizes, key=lambda s: s["rows"])
    large = max(sizes, key=lambda s: s["rows"])
    systems = {}
    for key in ("shopfloor", "duckdb_limit", "postgres"):
        if key in small and key in large:
            a = small[key]["seconds"] / small["rows"]
            b = large[key]["seconds"] / large["rows"]
            systems[key] = {"small_s_per_row": a, "large_s_per_row": b, "ratio": b / a}
    return {
        "small_rows": small["rows"],
        "large_rows": large["rows"],
        "systems": systems,
        "note": "time per row at the largest size / at the smallest (1.0 = linear)",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--workdir", type=Path, default=REPO / ".bench")
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="result file (default: WORKDIR/results/ingest-<utc time>.json)",
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep CSVs, lakes and Parquet under WORKDIR (CSVs are then reused)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="load each system N times and report the fastest run (use 3 on a "
        "busy machine; every run is kept in the JSON)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("worker_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        workers: dict[str, Callable[..., dict[str, Any]]] = {
            "shopfloor": worker_shopfloor,
            "duckdb": worker_duckdb,
            "postgres": worker_postgres,
            "queries": worker_queries_shopfloor,
        }
        fn = workers[args.worker]
        # Every argument is a path, except the PostgreSQL connection string.
        wargs = [a if a.startswith("host=") else Path(a) for a in args.worker_args]
        print(json.dumps(fn(*wargs), default=str), flush=True)
        return 0

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below
    work: Path = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC)
    json_path: Path = args.json or work / "results" / f"ingest-{stamp:%Y%m%dT%H%M%SZ}.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(work).free
    need = sum(n * 160 for n in args.rows)  # CSV ~55 B/row + PG ~100 B/row + lake ~10 B/row
    print(
        f"workdir {work}: {free / 2**30:,.0f} GiB free, this run needs about "
        f"{need / 2**30:,.0f} GiB at peak",
        flush=True,
    )
    if free < need:
        print("WARNING: probably not enough disk space", flush=True)

    results: dict[str, Any] = {
        "machine": machine_info(),
        "date": stamp.isoformat(),
        "command": " ".join([sys.executable, *sys.argv]),
        "sizes": [],
    }
    with contextlib.ExitStack() as stack:
        server = None
        pg_note = "skipped (--skip-postgres)" if args.skip_postgres else None
        if not args.skip_postgres:
            server = stack.enter_context(postgres_server(ensure_pg_bin()))
            results["postgres_settings"] = __import__("common").PG_SETTINGS
            print(f"{server.version} on 127.0.0.1:{server.port} in {server.root}", flush=True)
        results["versions"] = versions(server, pg_note)
        try:
            for rows in args.rows:
                results["sizes"].append(run_size(rows, work, server, args.keep, args.repeat))
                results["linearity"] = linearity(results["sizes"])
                json_path.write_text(json.dumps(results, indent=2, default=str))
        finally:
            if not args.keep:
                shutil.rmtree(work / "data", ignore_errors=True)
                shutil.rmtree(work / "runs", ignore_errors=True)
    print("\n" + summary_tables(results))
    print(f"\nJSON: {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
