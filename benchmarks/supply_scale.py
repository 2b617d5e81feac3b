"""Forecast and policy for tens of thousands of series: time and peak memory.

The car-parts series (2,674 monthly series) repeated ``--copies`` times, each copy's
demand thinned independently (binomial, keep probability 0.9) so that no two series are
the same; forecast 6 months on from the first 45 months with the default configuration,
then an exact (s, Q) policy per series (the setup of ``benchmarks/carparts_inventory.py``).
Peak memory is the process's peak resident set size (``ru_maxrss``) at the end.

Usage::

    .venv/bin/python benchmarks/supply_scale.py \\
        --data ../shared/datasets/carparts/carparts.csv --copies 10 --json
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import numpy as np

    from shopfloor.supply.forecasting import ForecastConfig, forecast_demand
    from shopfloor.supply.inventory import Distribution
    from shopfloor.supply.policies import Costs, ServiceTarget, design_policies
    from shopfloor.workflows.benchmarks.carparts import load_carparts

    rng = np.random.default_rng(args.seed)
    base = load_carparts(args.data)[:, :45]
    copies = []
    for _ in range(args.copies):
        thinned = rng.binomial(np.nan_to_num(base).astype(np.int64), 0.9).astype(np.float64)
        copies.append(np.where(np.isnan(base), np.nan, thinned))
    history = np.vstack(copies)
    started = time.perf_counter()
    forecast = forecast_demand(history, ForecastConfig(horizon=6, seed=args.seed))
    forecast_seconds = time.perf_counter() - started
    started = time.perf_counter()
    sells = [i for i in range(len(history)) if forecast.distribution(i).mean > 0]
    design_policies(
        [forecast.distribution(i) for i in sells],
        Distribution(np.array([0.0, 0.5, 0.3, 0.2])),
        ServiceTarget("fill_rate", 0.95),
        Costs(order_cost=10.0, holding_cost=1.0),
    )
    policy_seconds = time.perf_counter() - started
    out = {
        "series": int(history.shape[0]),
        "periods": int(history.shape[1]),
        "policies": len(sells),
        "forecast_seconds": round(forecast_seconds, 1),
        "policy_seconds": round(policy_seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(out) if args.json else out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
