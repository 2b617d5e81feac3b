"""Streaming anomaly-scoring benchmark: readings scored per second and batch latency.

A fleet of ``--assets`` assets × ``--signals`` signals at 1 Hz (default 100 × 10 =
1,000 signals).  Each asset has its own fitted detector (``--detector``, trained on
``--train`` seconds of normal data) wrapped in a
:class:`shopfloor.maintenance.anomaly.StreamingScorer`.  Every simulated second, one
batch = one row per asset goes through every asset's scorer (scores, hysteresis,
episodes); the time of that whole batch is one latency sample.  A fault is injected in
one signal of every tenth asset halfway through, so alarms and episodes are exercised.

Usage::

    .venv/bin/python benchmarks/streaming.py                       # 100 × 10, 300 s
    .venv/bin/python benchmarks/streaming.py --detector ensemble --json out.json

Measured, in this one process (BLAS pinned to one thread): fit seconds (all assets),
readings/s (signals × assets × timed seconds / time spent in ``update``), p50 / p99 /
max latency of a 1-s batch (all assets), peak RSS (``ru_maxrss``), and the 1-minute
load average as a contention hint (on a shared 2-core machine, anything above ~1 means
the timings are disturbed).  Scorers are primed with the tail of their training data,
so the stream starts with full rolling windows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

# One BLAS thread: the scorer's work per batch is tiny, threads only add contention
# (and the machine is shared).  Set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fmt_table, machine_info  # noqa: E402
from shopfloor.maintenance.anomaly import (  # noqa: E402
    AnomalyDetector,
    EnsembleDetector,
    Hysteresis,
    MsetDetector,
    PcaT2Q,
    RobustBaseline,
    StreamingScorer,
)

EPOCH = pd.Timestamp("2026-01-01", tz="UTC")


def make_detector(kind: str, window: int) -> AnomalyDetector:
    if kind == "robust":
        return RobustBaseline(window=window, false_alarm_rate=0.001)
    if kind == "mset":
        return MsetDetector(window=window, false_alarm_rate=0.001)
    if kind == "pca":
        return PcaT2Q(window=window, false_alarm_rate=0.001)
    if kind == "ensemble":
        return EnsembleDetector(window=window, false_alarm_rate=0.001)
    raise SystemExit(f"unknown detector {kind!r}")


def asset_frame(asset: int, signals: int, rows: int, fault_from: int | None) -> pd.DataFrame:
    """Correlated signals (a shared load drives half of them) with noise, 1 row per second."""
    rng = np.random.default_rng(asset)
    load = np.convolve(rng.normal(0, 1, rows + 29), np.ones(30) / 30, mode="valid")
    data = {}
    for j in range(signals):
        base = 10.0 * (j + 1)
        coupling = 2.0 if j % 2 == 0 else 0.0
        data[f"s{j:02d}"] = base + coupling * load + rng.normal(0, 0.3, rows)
    frame = pd.DataFrame(data, index=EPOCH + pd.to_timedelta(np.arange(rows), unit="s"))
    if fault_from is not None:
        frame.iloc[fault_from:, 1] += 3.0
    return frame


def run(args: argparse.Namespace) -> dict[str, Any]:
    total_rows = args.train + args.seconds
    frames = [
        asset_frame(
            a, args.signals, total_rows, args.train + args.seconds // 2 if a % 10 == 0 else None
        )
        for a in range(args.assets)
    ]
    started = time.perf_counter()
    scorers = []
    for frame in frames:
        train = frame.iloc[: args.train]
        scorer = StreamingScorer(
            make_detector(args.detector, args.window).fit(train),
            Hysteresis(on_after=3, off_after=30),
        )
        scorer.prime(train)
        scorers.append(scorer)
    fit_s = time.perf_counter() - started
    # One 1-row frame per asset per second, cut before timing: the timed part is scoring.
    batches = [
        [frame.iloc[args.train + t : args.train + t + 1] for frame in frames]
        for t in range(args.seconds)
    ]
    latencies = []
    episodes = alarm_rows = 0
    for t, batch in enumerate(batches):
        tick = time.perf_counter()
        for scorer, rows in zip(scorers, batch, strict=True):
            update = scorer.update(rows)
            episodes += len(update.closed)
            alarm_rows += int(update.alarm.sum())
        if t >= args.warmup:
            latencies.append(time.perf_counter() - tick)
    lat = np.asarray(latencies)
    scored_s = float(lat.sum())
    readings = args.assets * args.signals * len(lat)
    return {
        "assets": args.assets,
        "signals_per_asset": args.signals,
        "signals": args.assets * args.signals,
        "seconds_streamed": args.seconds,
        "timed_batches": len(lat),
        "detector": args.detector,
        "window": args.window,
        "train_rows": args.train,
        "fit_s": round(fit_s, 3),
        "readings_per_s": round(readings / scored_s, 1),
        "latency_p50_ms": round(1000 * float(np.percentile(lat, 50)), 2),
        "latency_p99_ms": round(1000 * float(np.percentile(lat, 99)), 2),
        "latency_max_ms": round(1000 * float(lat.max()), 2),
        "realtime_factor": round(1.0 / float(lat.mean()), 1),
        "alarm_rows": alarm_rows,
        "faulty_assets": len(range(0, args.assets, 10)),
        "episodes_closed": episodes,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=100)
    parser.add_argument("--signals", type=int, default=10, help="signals per asset")
    parser.add_argument("--seconds", type=int, default=300, help="seconds of data streamed")
    parser.add_argument("--train", type=int, default=600, help="training rows per asset")
    parser.add_argument(
        "--detector", default="robust", choices=["robust", "mset", "pca", "ensemble"]
    )
    parser.add_argument("--window", type=int, default=30, help="smoothing window (rows)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed first batches")
    parser.add_argument("--json", type=Path, default=None, help="write the result here too")
    args = parser.parse_args()
    result = run(args)
    payload = {
        "benchmark": "streaming",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "result": result,
    }
    print(
        fmt_table(
            ["figure", "value"],
            [[key, value] for key, value in result.items()],
        )
    )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
