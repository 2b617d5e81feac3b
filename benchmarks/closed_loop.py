"""The closed loop on the demo plant with a planted sensor drift, over several seeds.

The scenario of tests/workflows/test_model_loop.py (one line of four machines, the model
trained on the first week, L1-M02's pressure drifting by 0.2 bar a day from 00:00 on
2026-10-07, the plant replayed one simulated day at a time with a drift check after each
day), run for each seed.  Per seed it reports:

* ``daily_delay_h``: hours from the drift's start to the first daily check that flags it;
* ``earliest_h``: the first whole hour after the start at which a check (24 h window)
  flags it;
* ``false_alarms``: checks that flagged any machine before the drift, or another machine
  after it;
* champion and challenger held-out NLL for a challenger trained on the drifted days and
  for one trained on a stale window before the drift, and whether each was promoted.

    .venv/bin/python benchmarks/closed_loop.py --seeds 11,1,2,3,4,5,6,7,8 [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests/

import pandas as pd

from shopfloor.config import Settings
from shopfloor.lake import Lake
from shopfloor.workflows import model_loop
from tests.workflows.drift_lake import (
    DAY,
    DRIFT,
    END,
    START,
    TRAINED_UNTIL,
    drift_lake,
)


def run(seed: int, root: Path) -> dict[str, Any]:
    clock = time.perf_counter()
    plant = drift_lake(root, seed=seed)
    day, first, false_alarms = TRAINED_UNTIL, None, []
    while day < END:
        plant.replay(day, day + DAY)
        day += DAY
        report = model_loop.monitor_drift(plant.lake, until=day, backend="local")
        wrong = [a for a in report.drifted_assets if day <= DRIFT.start or a != DRIFT.asset]
        if wrong:
            false_alarms.append({"until": day.isoformat(), "assets": wrong})
        if first is None and DRIFT.asset in report.drifted_assets:
            first = day
    earliest = None
    for hours in range(1, 49):
        until = DRIFT.start + pd.Timedelta(hours=hours)
        if DRIFT.asset in model_loop.monitor_drift(plant.lake, until=until).drifted_assets:
            earliest = hours
            break
    report = model_loop.monitor_drift(plant.lake, until=END)
    out: dict[str, Any] = {
        "seed": seed,
        "daily_delay_h": None if first is None else (first - DRIFT.start) / pd.Timedelta(hours=1),
        "earliest_h": earliest,
        "false_alarms": false_alarms,
    }
    windows = {"drifted": (None, None), "stale": (START, START + 2 * DAY)}
    for label, (start, end) in windows.items():
        # Each on its own copy of the lake: one's promotion must not block the other's.
        copy = root / f"lake-{label}"
        shutil.copytree(plant.lake.path, copy)
        lake = Lake(copy, Settings(lake=copy))
        proposal = model_loop.propose_retraining(lake, report, train_start=start, train_end=end)
        decision = model_loop.promote_if_better(lake, proposal)
        out[label] = {
            "champion_nll": round(proposal.evaluation.champion, 3),
            "challenger_nll": round(proposal.evaluation.challenger, 3),
            "promoted": decision.promoted,
        }
    out["seconds"] = round(time.perf_counter() - clock, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="11,1,2,3,4,5,6,7,8")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            results.append(run(seed, Path(tmp) / f"seed-{seed}"))
            print(json.dumps(results[-1]), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
