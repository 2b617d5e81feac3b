"""Maintenance policies priced in the digital twin of the demo plant (issue 10's acceptance).

    .venv/bin/python benchmarks/twin_policies.py --lake /tmp/demo30 --replications 200

The lake is the default demo (``shopfloor demo --no-live --no-serve --lake /tmp/demo30``:
30 days, seed 7).  Prints the validation against the lake's history and, per policy, the
mean of every metric, then the co-optimised plan's paired differences against the other
three with 95 % confidence intervals, as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from shopfloor.config import Settings
from shopfloor.lake import Lake
from shopfloor.workflows import twin


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lake", type=Path, required=True)
    ap.add_argument("--replications", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    lake = Lake(args.lake, Settings(lake=args.lake))
    clock = time.perf_counter()
    check = twin.validate(lake, replications=10)
    validation_s = time.perf_counter() - clock
    clock = time.perf_counter()
    study = twin.compare_policies(lake, replications=args.replications, workers=args.workers)
    out = {
        "validation": {
            "seconds": round(validation_s, 1),
            "failures_lake": check.failures_lake,
            "failures_twin_mean": check.failures_twin,
            "lines": [
                {
                    "line": c.line,
                    "throughput_lake_h": round(c.lake_throughput_h, 2),
                    "throughput_twin_h": round(c.twin_throughput_h, 2),
                    "throughput_error": round(c.throughput_error, 4),
                    "oee_lake": round(c.lake_oee, 4),
                    "oee_twin": round(c.twin_oee, 4),
                    "oee_error": round(c.oee_error, 4),
                    "last_machine_lake_h": round(c.lake_output_h, 2),
                    "last_machine_twin_h": round(c.twin_output_h, 2),
                }
                for c in check.lines
            ],
        },
        "replications": study.replications,
        "horizon_days": study.horizon_days,
        "fixed_interval_h": round(study.fixed_interval_h, 1),
        "seconds": round(time.perf_counter() - clock, 1),
        "policies": {
            r.scenario.name: {k: round(float(np.mean(v)), 2) for k, v in r.metrics.items()}
            for r in study.results
        },
        "co_optimised_vs": {
            c.baseline: {
                k: {
                    "relative": round(c.relative[k], 4),
                    "diff_mean": round(c.difference[k].mean, 2),
                    "ci95": [round(c.difference[k].low, 2), round(c.difference[k].high, 2)],
                }
                for k in ("total_cost", "maintenance", "unplanned_downtime_h", "lost_output")
            }
            for c in study.comparisons
        },
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
