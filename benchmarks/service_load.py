"""Service load: the dashboard's data endpoints under 50 concurrent keep-alive clients.

1. A 30-day demo lake (``run_demo(days=30, seed=7)`` + ``demo_planning``), built in a temp
   dir under ``--workdir`` (or ``--lake PATH`` to reuse one), and a viewer of every site
   with an API token;
2. the server in its own process: ``uvicorn --factory shopfloor.server:create_app`` on
   127.0.0.1 (a free port), ``--workers`` processes (default 1), rate limits raised through
   the settings' environment so that the load is not answered with 429;
3. every endpoint requested once, sequentially (the cold latency: caches empty), then
   ``wrk`` (``--connections`` keep-alive connections, ``--threads`` threads) for
   ``--seconds`` per endpoint, and once more over all endpoints in turn (the mixed run);
4. per run: requests, req/s, p50/p95/p99/max latency, errors (status >= 400, timeouts,
   socket errors), and the CPU seconds the server and wrk used; the server's peak memory
   (process tree, sampled every 0.1 s, and the kernel's VmHWM per process).

wrk and the server share the machine: on a 2-core box wrk's CPU is taken from the server.

Usage::

    bash scripts/ensure-system.sh wrk
    .venv/bin/python benchmarks/service_load.py --json .bench/results/service-load.json
    .venv/bin/python benchmarks/service_load.py --lake /tmp/plan-lake --seconds 5
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, MemoryPeak, fmt_table, machine_info

# The data the dashboard's pages ask for (name, path).
ENDPOINTS: list[tuple[str, str]] = [
    ("oee", "/api/production/oee?by=line"),
    ("losses", "/api/production/losses"),
    ("alerts", "/api/alerts"),
    ("assets", "/api/assets"),
    ("readings", "/api/assets/L1-M01/readings?every=1h&signal=temperature"),
    ("health", "/api/assets/L1-M01/health"),
    ("recommendations", "/api/maintenance/recommendations"),
    ("spc", "/api/quality/spc"),
    ("forecasts", "/api/supply/forecasts"),
    ("reorder", "/api/supply/reorder"),
    ("schedule", "/api/planning/schedules/latest"),
    ("data-quality", "/api/data-quality/report"),
]
USER = "loadtest"
PASSWORD = "load test password"
TARGET_P95_MS = 300.0

# wrk script: the token header, optionally a round robin over paths, and a JSON summary.
LUA = """
wrk.headers["Authorization"] = "Bearer {token}"
local paths = {{{paths}}}
if #paths > 0 then
  local n = 0
  request = function()
    n = n + 1
    return wrk.format("GET", paths[(n % #paths) + 1])
  end
  init = function(args)
    n = math.random(0, #paths - 1)
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {{"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}, ' ..
    '"latency_us": {{"min": %d, "mean": %.1f, "stdev": %.1f, "max": %d, ' ..
    '"p50": %d, "p90": %d, "p95": %d, "p99": %d}}}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99)))
end
"""


# -- lake and credentials --------------------------------------------------------------------
def build_lake(path: Path, days: int, seed: int, end: str) -> dict[str, float]:
    import pandas as pd

    from shopfloor.config import Settings
    from shopfloor.lake import Lake
    from shopfloor.workflows.demo import demo_planning, run_demo

    lake = Lake(path, Settings(lake=path))
    stop = pd.Timestamp(end, tz="UTC")
    began = time.perf_counter()
    run_demo(lake, days=days, seed=seed, end=stop)
    demo_s = time.perf_counter() - began
    began = time.perf_counter()
    demo_planning(lake, stop)
    return {"demo_s": round(demo_s, 1), "planning_s": round(time.perf_counter() - began, 1)}


def issue_token(lake_path: Path) -> tuple[str, list[str]]:
    """A viewer of every site of the lake (the dashboard's usual reader), and its token."""
    from shopfloor.config import Settings
    from shopfloor.lake import Lake
    from shopfloor.workflows.access import access_store, lake_sites

    lake = Lake(lake_path, Settings(lake=lake_path))
    sites = sorted(lake_sites(lake))
    store = access_store(lake)
    store.add_user(USER, PASSWORD, "viewer", sites, replace=True)
    return store.issue_token(USER, expires_in_s=3600, label="service_load").secret, sites


# -- server ----------------------------------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str, token: str | None, timeout: float = 120.0) -> tuple[int, int]:
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        con.request("GET", path, headers=headers)
        answer = con.getresponse()
        return answer.status, len(answer.read())
    finally:
        con.close()


@contextlib.contextmanager
def server(lake: Path, workers: int, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    env = {
        **os.environ,
        "SHOPFLOOR_LAKE": str(lake),
        # Far above what the run sends with one token: the limiter runs, never refuses.
        "SHOPFLOOR_SERVER__RATE_PER_MINUTE": "100000000",
        "SHOPFLOOR_SERVER__RATE_BURST": "10000000",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "shopfloor.server:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--no-server-header",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited ({proc.returncode}); see {log}")
            with contextlib.suppress(OSError):
                if _get(port, "/api/health", None, timeout=2)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not up after 120 s; see {log}")
            time.sleep(0.2)
        yield proc, port
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tree(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    return []


def vm_hwm_mb(pid: int) -> dict[int, float]:
    """The kernel's peak resident set (VmHWM) of every process of the server."""
    out = {}
    for proc in _tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out[proc.pid] = round(int(line.split()[1]) / 1024, 1)
    return out


def _busy_cpu_s() -> float:
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0))


def cpu_s(pid: int) -> float:
    total = 0.0
    for proc in _tree(pid):
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system
    return total


def _wrk_version() -> str:
    done = subprocess.run(["wrk", "-v"], check=False, capture_output=True, text=True)
    return (done.stdout + done.stderr).strip().split("\n")[0]


# -- load ------------------------------------------------------------------------------------
def drain(port: int) -> None:
    """Wait until the server has answered what an earlier run left queued (wrk stops
    sending at the deadline; the server still owes the requests in flight)."""
    for _ in range(600):
        began = time.perf_counter()
        _get(port, "/api/health", None)
        if time.perf_counter() - began < 0.05:
            return
        time.sleep(0.1)


def wrk(
    port: int,
    paths: list[str],
    token: str,
    seconds: float,
    connections: int,
    threads: int,
    server_pid: int,
    scratch: Path,
) -> dict[str, Any]:
    script = scratch / "load.lua"
    listed = ", ".join(json.dumps(p) for p in paths) if len(paths) > 1 else ""
    script.write_text(LUA.format(token=token, paths=listed), encoding="utf-8")
    script.chmod(0o600)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "60s",  # a slow answer is a slow answer: timed, not dropped as an error
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{paths[0]}",
    ]
    drain(port)
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = cpu_s(server_pid)
    busy_before = _busy_cpu_s()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    busy = _busy_cpu_s() - busy_before
    server_used = cpu_s(server_pid) - server_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    script.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"no summary from wrk:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(lines[-1])
    lat = raw["latency_us"]
    errors = raw["errors"]
    duration = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "seconds": round(duration, 2),
        "req_per_s": round(raw["requests"] / duration, 1),
        "mb_per_s": round(raw["bytes"] / duration / 2**20, 2),
        "p50_ms": lat["p50"] / 1000,
        "p90_ms": lat["p90"] / 1000,
        "p95_ms": lat["p95"] / 1000,
        "p99_ms": lat["p99"] / 1000,
        "max_ms": lat["max"] / 1000,
        "mean_ms": round(lat["mean"] / 1000, 2),
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
        "server_cpu_s": round(server_used, 2),
        "wrk_cpu_s": round(wrk_used, 2),
        # Contention: CPU the rest of the machine (other users' jobs) used meanwhile.
        "other_cpu_s": round(max(0.0, busy - server_used - wrk_used), 2),
        "loadavg_1m_before": round(load, 2),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: bash scripts/ensure-system.sh wrk")
    args.workdir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="service-load-", dir=args.workdir))
    result: dict[str, Any] = {
        "benchmark": "service_load",
        "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "versions": {
            p: version(p) for p in ("fastapi", "starlette", "uvicorn", "pydantic", "duckdb")
        },
        "wrk": _wrk_version(),
        "settings": {
            "connections": args.connections,
            "threads": args.threads,
            "seconds": args.seconds,
            "mixed_seconds": args.mixed_seconds,
            "workers": args.workers,
        },
        "loadavg_1m_before": round(os.getloadavg()[0], 2),
    }
    try:
        if args.lake is not None:
            lake = args.lake.resolve()
            result["lake"] = {"path": str(lake), "built": False}
        else:
            lake = scratch / "lake"
            print(f"building a {args.days}-day demo lake in {lake} ...", flush=True)
            result["lake"] = {"path": str(lake), "built": True, "days": args.days, "seed": 7}
            result["lake"].update(build_lake(lake, args.days, 7, args.end))
            print(f"  built in {sum(v for k, v in result['lake'].items() if k.endswith('_s'))} s")
        token, sites = issue_token(lake)
        result["user"] = {"name": USER, "role": "viewer", "sites": sites}
        endpoints = [(n, p) for n, p in ENDPOINTS if not args.only or n in args.only]
        with server(lake, args.workers, scratch / "server.log") as (proc, port):
            started = time.perf_counter()
            with MemoryPeak([proc.pid]) as mem:
                cold = {}
                for name, path in endpoints:
                    began = time.perf_counter()
                    status, size = _get(port, path, token)
                    cold[name] = {
                        "status": status,
                        "bytes": size,
                        "ms": round((time.perf_counter() - began) * 1000, 1),
                    }
                    print(f"  cold {name:16} {status} {size:>9,} B {cold[name]['ms']:>8.1f} ms")
                    if status != 200:
                        raise RuntimeError(f"{path} answered {status}; see the server log")
                if args.workers > 1:
                    # Each worker has its own caches: fill them all (unrecorded).
                    for _, path in endpoints:
                        wrk(port, [path], token, 3, args.connections, 1, proc.pid, scratch)
                runs = {}
                for name, path in endpoints:
                    runs[name] = wrk(
                        port,
                        [path],
                        token,
                        args.seconds,
                        args.connections,
                        args.threads,
                        proc.pid,
                        scratch,
                    )
                    r = runs[name]
                    print(
                        f"  {name:16} {r['req_per_s']:>8.1f} req/s  p50 {r['p50_ms']:7.1f}  "
                        f"p95 {r['p95_ms']:7.1f}  p99 {r['p99_ms']:7.1f} ms  errors {r['errors']}",
                        flush=True,
                    )
                if len(endpoints) > 1 and args.mixed_seconds > 0:
                    runs["mixed"] = wrk(
                        port,
                        [p for _, p in endpoints],
                        token,
                        args.mixed_seconds,
                        args.connections,
                        args.threads,
                        proc.pid,
                        scratch,
                    )
                hwm = vm_hwm_mb(proc.pid)
            result["server"] = {
                "pid": proc.pid,
                "processes": len(hwm),
                "peak_rss_mb": round(mem.peak_rss / 2**20, 1),
                "peak_pss_mb": round(mem.peak_pss / 2**20, 1),
                "vm_hwm_mb": hwm,
                "seconds_under_load": round(time.perf_counter() - started, 1),
            }
        result["cold"] = cold
        result["runs"] = runs
        result["paths"] = dict(endpoints)
        result["target_p95_ms"] = TARGET_P95_MS
        result["p95_within_target"] = {
            name: r["p95_ms"] <= TARGET_P95_MS for name, r in runs.items() if name != "mixed"
        }
    finally:
        log = scratch / "server.log"
        if log.exists():
            result["server_log_tail"] = log.read_text(errors="replace")[-4000:]
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return result


def report(result: dict[str, Any]) -> str:
    rows = []
    for name, r in result["runs"].items():
        rows.append(
            [
                name,
                r["requests"],
                r["req_per_s"],
                r["p50_ms"],
                r["p95_ms"],
                r["p99_ms"],
                r["max_ms"],
                r["errors"],
                result["cold"].get(name, {}).get("ms"),
                r["server_cpu_s"],
                r["wrk_cpu_s"],
                r["other_cpu_s"],
            ]
        )
    table = fmt_table(
        [
            "endpoint",
            "requests",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "errors",
            "cold ms",
            "server CPU s",
            "wrk CPU s",
            "others' CPU s",
        ],
        rows,
    )
    s = result["server"]
    misses = [n for n, ok in result["p95_within_target"].items() if not ok]
    return (
        f"{table}\n\nserver: {result['settings']['workers']} worker(s), peak RSS "
        f"{s['peak_rss_mb']} MB (PSS {s['peak_pss_mb']} MB; VmHWM {s['vm_hwm_mb']})\n"
        f"p95 <= {TARGET_P95_MS:.0f} ms: "
        + ("every endpoint" if not misses else f"missed by {', '.join(misses)}")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", type=Path, default=None, help="reuse this lake (else build)")
    parser.add_argument("--days", type=int, default=30, help="days of the built demo lake")
    parser.add_argument("--end", default="2026-11-01", help="last day of the built demo lake")
    parser.add_argument("--workdir", type=Path, default=REPO / ".bench" / "service-load")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--seconds", type=float, default=10, help="wrk run per endpoint")
    parser.add_argument("--mixed-seconds", type=float, default=15, help="0: no mixed run")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--only", nargs="*", default=None, help="endpoint names to run")
    parser.add_argument("--json", type=Path, default=None, help="write the result here too")
    parser.add_argument("--keep", action="store_true", help="keep the built lake and logs")
    args = parser.parse_args()
    began = time.perf_counter()
    result = run(args)
    result["total_s"] = round(time.perf_counter() - began, 1)
    print()
    print(report(result))
    print(f"total {result['total_s']} s")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
