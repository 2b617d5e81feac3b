"""OPC UA ingest benchmark: 1,000 tags at 1 Hz for 10 minutes; does the lag grow?

A :class:`shopfloor.streaming.opcua_server.SimulatedOpcUaServer` (``--machines`` ×
``--signals`` Double variables, default 50 × 20 = 1,000, updated at ``--rate`` Hz with
source timestamps) runs in one process; an
:class:`shopfloor.streaming.opcua.OpcUaIngester` (``--mode subscribe`` or ``poll``) runs in
another, so the two do not share a GIL: the server's cost is not charged to the
ingester, and vice versa.  Both talk OPC UA binary over loopback TCP.

Usage::

    .venv/bin/python benchmarks/opcua_ingest.py                         # 10 min, subscribe
    .venv/bin/python benchmarks/opcua_ingest.py --minutes 1 --mode poll --json out.json

Measured in the ingester process, after ``--warmup`` seconds (connect, browse, first
notifications) are discarded:

* lag of every reading = time the sink receives its batch − the reading's source
  timestamp.  It therefore includes the publishing interval (the server holds changes
  for up to ``--publishing-interval`` s), the batch interval (``--batch-interval``) and
  the transport; p50 / p99 / max per minute.
* slope of lag over time: least squares over the per-second median lag, in ms per
  minute (no growth = about 0), and the same for the per-minute p99.
* readings/s per minute; received vs expected (tags × rate × measured seconds; readings
  deduplicated on (tag, source timestamp)); missed = expected − received.
* RSS of the ingester process at the end of every minute and its peak (``ru_maxrss``),
  CPU of both processes, server ticks that ran late.

The harness's own bookkeeping (per-second lag lists, reduced every minute) runs in the
ingester process and is included in its RSS and CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fmt_table, machine_info, run_worker

SCRIPT = str(Path(__file__).resolve())


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (0 when fewer than two points)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return sxy / sxx if sxx else 0.0


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- the server process ------------------------------------------------------------------
def serve(args: argparse.Namespace) -> None:
    from shopfloor.streaming.opcua_server import SimulatedOpcUaServer

    machines = {
        f"M{m:03d}": [f"s{s:02d}" for s in range(args.signals)] for m in range(args.machines)
    }
    server = SimulatedOpcUaServer(args.endpoint, machines, rate_hz=args.rate)
    server.start()
    cpu0 = time.process_time()
    started = time.monotonic()
    print("READY", flush=True)
    sys.stdin.read()  # the parent closes our stdin to stop us
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu0
    server.stop()
    print(
        json.dumps(
            {
                "ticks": server.ticks,
                "late_ticks": server.late_ticks,
                "writes": server.writes,
                "cpu_pct": round(100 * cpu / wall, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        ),
        flush=True,
    )


# -- the ingester process ----------------------------------------------------------------
class LagRecorder:
    """The sink: counts readings and keeps lag per second, reduced to figures every minute."""

    def __init__(self, measure_from: float, measure_to: float) -> None:
        self.measure_from = measure_from
        self.measure_to = measure_to
        self.lock = threading.Lock()
        self.seen: set[tuple[str, str, int]] = set()  # (tag, ts) of the current minute
        self.duplicates = 0
        self.outside = 0
        self.per_second: dict[int, list[float]] = {}
        self.second_medians: list[tuple[float, float]] = []
        self.minutes: list[dict[str, Any]] = []
        self.current_minute = 0
        self.minute_lags: list[float] = []
        self.minute_count = 0

    def __call__(self, batch: Any) -> None:
        now = time.time()
        now_us = now * 1e6
        lo_us, hi_us = self.measure_from * 1e6, self.measure_to * 1e6
        with self.lock:
            for asset, signal, ts in zip(batch.asset, batch.signal, batch.ts_us, strict=True):
                if not lo_us <= ts < hi_us:
                    self.outside += 1
                    continue
                key = (asset, signal, ts)
                if key in self.seen:
                    self.duplicates += 1
                    continue
                self.seen.add(key)
                lag = (now_us - ts) / 1e6
                second = int(ts / 1e6 - self.measure_from)
                self.per_second.setdefault(second, []).append(lag)
        self.roll(now)

    def roll(self, now: float, final: bool = False) -> None:
        """Close the seconds (and minutes) no reading can still arrive for."""
        with self.lock:
            horizon = now - self.measure_from - 10.0  # readings arrive within ~2 s
            for second in sorted(self.per_second):
                if not final and second > horizon:
                    break
                lags = sorted(self.per_second.pop(second))
                self.second_medians.append((second, _quantile(lags, 0.5)))
                minute = second // 60
                while minute > self.current_minute:
                    self._close_minute()
                self.minute_lags += lags
                self.minute_count += len(lags)
            if final:
                self._close_minute()

    def _close_minute(self) -> None:
        lags = sorted(self.minute_lags)
        span = min(60.0, self.measure_to - self.measure_from - 60.0 * self.current_minute)
        self.minutes.append(
            {
                "minute": self.current_minute + 1,
                "readings": self.minute_count,
                "readings_per_s": round(self.minute_count / span, 1) if span > 0 else None,
                "lag_p50_ms": round(1000 * _quantile(lags, 0.5), 1),
                "lag_p99_ms": round(1000 * _quantile(lags, 0.99), 1),
                "lag_max_ms": round(1000 * lags[-1], 1) if lags else None,
                "rss_mb": round(_rss_mb(), 1),
            }
        )
        self.current_minute += 1
        self.minute_lags = []
        self.minute_count = 0
        # (tag, ts) keys older than this minute cannot repeat: the server's ticks are unique
        cutoff = int((self.measure_from + 60.0 * (self.current_minute - 1)) * 1e6)
        self.seen = {k for k in self.seen if k[2] >= cutoff}


def ingest(args: argparse.Namespace) -> None:
    from shopfloor.streaming.opcua import OpcUaIngester

    start = time.time()
    measure_from = start + args.warmup
    measure_to = measure_from + 60.0 * args.minutes
    recorder = LagRecorder(measure_from, measure_to)
    ingester = OpcUaIngester(
        args.endpoint,
        None,  # browse: the benchmark includes discovering the 1,000 nodes
        recorder,
        mode=args.mode,
        publishing_interval_s=args.publishing_interval,
        batch_interval_s=args.batch_interval,
    )
    cpu0 = time.process_time()
    ingester.start()
    time.sleep(max(0.0, measure_to - time.time()) + 3.0)  # + the last readings in flight
    ingester.stop()
    ingester.join(30.0)
    wall = time.time() - start
    cpu = time.process_time() - cpu0
    recorder.roll(time.time(), final=True)
    stats = ingester.stats
    seconds = [s for s, _ in recorder.second_medians]
    medians = [m for _, m in recorder.second_medians]
    received = sum(m["readings"] for m in recorder.minutes)
    tags = args.machines * args.signals
    expected = round(tags * args.rate * 60.0 * args.minutes)
    p99s = [m["lag_p99_ms"] for m in recorder.minutes]
    result = {
        "mode": stats.mode,
        "tags": tags,
        "rate_hz": args.rate,
        "minutes_measured": args.minutes,
        "publishing_interval_s": args.publishing_interval,
        "batch_interval_s": args.batch_interval,
        "received": received,
        "expected": expected,
        "missed": expected - received,
        "duplicates": recorder.duplicates,
        "readings_per_s": round(received / (60.0 * args.minutes), 1),
        "lag_p50_ms": round(1000 * _quantile(sorted(medians), 0.5), 1),
        "lag_p99_ms_worst_minute": max(p99s) if p99s else None,
        "lag_max_ms": max((m["lag_max_ms"] or 0.0) for m in recorder.minutes),
        "lag_slope_ms_per_min": round(1000 * 60 * _slope(seconds, medians), 3),
        "lag_p99_slope_ms_per_min": round(
            _slope([float(m["minute"]) for m in recorder.minutes], p99s), 3
        ),
        "ingester_cpu_pct": round(100 * cpu / wall, 1),
        "ingester_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "reconnects": stats.reconnects,
        "batches": stats.batches,
        "per_minute": recorder.minutes,
    }
    print(json.dumps(result), flush=True)


# -- the driver ------------------------------------------------------------------------------
def drive(args: argparse.Namespace) -> dict[str, Any]:
    from shopfloor.streaming.broker import free_port

    endpoint = f"opc.tcp://127.0.0.1:{free_port()}"
    common = [
        "--endpoint",
        endpoint,
        "--machines",
        str(args.machines),
        "--signals",
        str(args.signals),
        "--rate",
        str(args.rate),
    ]
    server = subprocess.Popen(
        [sys.executable, SCRIPT, "--role", "server", *common],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    line = server.stdout.readline()
    if line.strip() != "READY":
        server.kill()
        raise SystemExit(f"the OPC UA server did not start: {line!r}")
    try:
        result = run_worker(
            [
                SCRIPT,
                "--role",
                "ingester",
                *common,
                "--mode",
                args.mode,
                "--minutes",
                str(args.minutes),
                "--warmup",
                str(args.warmup),
                "--publishing-interval",
                str(args.publishing_interval),
                "--batch-interval",
                str(args.batch_interval),
            ],
            timeout=60.0 * args.minutes + args.warmup + 180.0,
        )
    finally:
        server.stdin.close()
        out = server.stdout.read()
        server.wait(60)
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    result["server"] = json.loads(lines[-1]) if lines else {}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=["driver", "server", "ingester"], default="driver")
    parser.add_argument("--endpoint", default="")
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--signals", type=int, default=20, help="signals per machine")
    parser.add_argument("--rate", type=float, default=1.0, help="updates per tag per second")
    parser.add_argument("--minutes", type=float, default=10.0, help="measured minutes")
    parser.add_argument("--warmup", type=float, default=15.0, help="unmeasured first seconds")
    parser.add_argument("--mode", choices=["subscribe", "poll", "auto"], default="subscribe")
    parser.add_argument("--publishing-interval", type=float, default=1.0, help="seconds")
    parser.add_argument("--batch-interval", type=float, default=0.2, help="seconds")
    parser.add_argument("--json", type=Path, default=None, help="write the result here too")
    args = parser.parse_args()
    if args.role == "server":
        serve(args)
        return
    if args.role == "ingester":
        ingest(args)
        return
    result = drive(args)
    payload = {
        "benchmark": "opcua_ingest",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "command": " ".join(["benchmarks/opcua_ingest.py", *sys.argv[1:]]),
        "result": result,
    }
    per_minute = result.pop("per_minute", [])
    print(
        fmt_table(
            ["minute", "readings/s", "lag p50 ms", "lag p99 ms", "lag max ms", "RSS MB"],
            [
                [
                    m["minute"],
                    m["readings_per_s"],
                    m["lag_p50_ms"],
                    m["lag_p99_ms"],
                    m["lag_max_ms"],
                    m["rss_mb"],
                ]
                for m in per_minute
            ],
        )
    )
    print()
    server = result.pop("server", {})
    rows = [[k, v] for k, v in result.items()] + [[f"server_{k}", v] for k, v in server.items()]
    print(fmt_table(["figure", "value"], rows))
    result["per_minute"] = per_minute
    result["server"] = server
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
