"""Rescheduling benchmark: how much a repair keeps, and what it costs in makespan.

For every JSPLIB instance matching ``--instances`` (default: la01-la40 and ft10):

1. plan: CP-SAT (``--time-limit`` seconds, ``--workers``);
2. disrupt: the machine of median load breaks down at a third of the planned makespan
   for a tenth of it (``now`` = the breakdown);
3. repair three ways, each verified by the independent checker:
   - ``right_shift``: the previous schedule pushed later just enough (every machine
     sequence kept: the stability ceiling);
   - ``repair``: :func:`shopfloor.planning.reschedule` with its default stability weight;
   - ``from_scratch``: the same with ``stability_weight=0`` (objective only: what a
     fresh reschedule of the unstarted work gives).

Reported per strategy: the makespan increase over the plan (percent), ``kept_share``
(unaffected operations keeping their machine and relative order) and the solve time;
means over the instances.  The acceptance asks for kept_share >= 0.9 after a breakdown.

Usage::

    .venv/bin/python benchmarks/rescheduling.py --data ../shared/datasets/jobshop
    .venv/bin/python benchmarks/rescheduling.py --data ../shared/datasets/jobshop \\
        --instances 'la*' --time-limit 10 --json out.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from shopfloor.planning import (
    CpSatScheduler,
    MachineDown,
    check_schedule,
    read_instance,
    reschedule,
)
from shopfloor.planning.problem import Problem
from shopfloor.planning.reschedule import (
    compare,
    disrupted_problem,
    frozen_operations,
    kept_share,
    right_shift,
)


def run_instance(problem: Problem, time_limit: float, workers: int) -> dict[str, Any]:
    plan = CpSatScheduler(time_limit_s=time_limit, workers=workers).solve(problem)
    assert plan.feasible and plan.makespan is not None
    previous = plan.assignments
    load: dict[int, int] = {}
    for a in previous:
        load[a.machine] = load.get(a.machine, 0) + a.end - a.start
    # The median-loaded machine: the bottleneck's breakdown forces the whole delay on any
    # repair (nothing to compare), an idle machine's forces none.
    machine = sorted(load, key=lambda m: (load[m], m))[len(load) // 2]
    now = plan.makespan // 3
    down = MachineDown(machine, now, max(1, plan.makespan // 10))
    out: dict[str, Any] = {"instance": problem.name, "planned": plan.makespan}

    began = time.perf_counter()
    disrupted = disrupted_problem(problem, [down], now)
    frozen = frozen_operations(previous, [down], now)
    shifted = right_shift(disrupted, previous, frozen, now)
    assert check_schedule(disrupted, shifted).feasible
    out["right_shift"] = {
        "makespan": max(a.end for a in shifted),
        "kept_share": kept_share(previous, compare(previous, shifted), set(frozen), {machine}),
        "seconds": time.perf_counter() - began,
    }
    for name, weight in (("repair", None), ("from_scratch", 0.0)):
        result = reschedule(
            problem,
            previous,
            now=now,
            disruptions=[down],
            stability_weight=weight,
            time_limit_s=time_limit,
            workers=workers,
        )
        assert result.schedule.feasible
        out[name] = {
            "makespan": result.schedule.makespan,
            "kept_share": result.kept_share,
            "seconds": result.schedule.seconds,
        }
    for name in ("right_shift", "repair", "from_scratch"):
        entry = out[name]
        entry["increase_pct"] = 100.0 * (entry["makespan"] - plan.makespan) / plan.makespan
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="JSPLIB layout directory")
    parser.add_argument("--instances", default="la*,ft10", help="comma-separated globs")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    folder = args.data / "instances"
    if not folder.is_dir():
        print(f"error: {folder}: no instances/ folder (JSPLIB layout)", file=sys.stderr)
        return 2
    patterns = args.instances.split(",")
    names = sorted(
        p.name for p in folder.iterdir() if any(fnmatch.fnmatch(p.name, g) for g in patterns)
    )
    if not names:
        print(f"error: --instances: nothing matches {args.instances!r}", file=sys.stderr)
        return 2
    rows = []
    for name in names:
        row = run_instance(read_instance(folder / name, "jsplib"), args.time_limit, args.workers)
        rows.append(row)
        print(
            f"{name}: plan {row['planned']}  "
            + "  ".join(
                f"{k} {row[k]['increase_pct']:+.1f}% kept {row[k]['kept_share']:.2f}"
                for k in ("right_shift", "repair", "from_scratch")
            ),
            file=sys.stderr,
            flush=True,
        )
    summary = {
        k: {
            "mean_increase_pct": statistics.fmean(r[k]["increase_pct"] for r in rows),
            "mean_kept_share": statistics.fmean(r[k]["kept_share"] for r in rows),
            "min_kept_share": min(r[k]["kept_share"] for r in rows),
            "mean_seconds": statistics.fmean(r[k]["seconds"] for r in rows),
        }
        for k in ("right_shift", "repair", "from_scratch")
    }
    report = {
        "date": dt.date.today().isoformat(),
        "machine": platform.processor() or platform.machine(),
        "time_limit_s": args.time_limit,
        "workers": args.workers,
        "instances": rows,
        "summary": summary,
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
