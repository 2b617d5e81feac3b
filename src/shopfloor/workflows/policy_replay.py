"""Stored inventory policies replayed on the plant's own demand, against the stock it held.

The latest run of ``policies`` (:func:`~shopfloor.workflows.supply_planning.design_lake_policies`)
is played by :func:`~shopfloor.supply.simulation.simulate` on the last year of the
``demand`` table per period (after a warm-up of a quarter; seeded, orders not crossing),
with each supplier's lead-time pmf from its received deliveries (else the policy's mean
lead time, rounded up).  The stock the plant held is the mean ``on_hand`` of the
``inventory`` snapshots over the same periods.  Both at the policies' unit costs: the
value report's inventory lever (:mod:`shopfloor.workflows.value`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.supply.inventory import Distribution
from shopfloor.supply.policies import Costs, Policy
from shopfloor.supply.simulation import simulate
from shopfloor.twin.value import StockComparison
from shopfloor.workflows.supply import PERIOD_DAYS, demand_matrix, lead_time_distribution

__all__ = ["replay_stock"]


def _latest_policies(lake: Lake) -> pd.DataFrame:
    return lake.sql(
        "SELECT * FROM policies WHERE policy_id = (SELECT policy_id FROM policies "
        "ORDER BY created_at DESC LIMIT 1) AND (reorder_point IS NOT NULL OR "
        "order_up_to IS NOT NULL) ORDER BY item, location"
    )


def _policy(row: dict[Any, Any]) -> Policy:
    def whole(name: str) -> int | None:
        value = row[name]
        return None if value is None or pd.isna(value) else int(value)

    def real(name: str) -> float:
        value = row[name]
        return math.nan if value is None or pd.isna(value) else float(value)

    return Policy(
        kind=str(row["kind"]),  # type: ignore[arg-type]
        review_period=int(row["review_period"] or 1),
        reorder_point=whole("reorder_point"),
        order_quantity=whole("order_quantity"),
        order_up_to=whole("order_up_to"),
        safety_stock=real("safety_stock"),
        expected_fill_rate=real("expected_fill_rate"),
        expected_cycle_service_level=real("expected_csl"),
        expected_on_hand=real("expected_on_hand"),
        orders_per_period=real("orders_per_period"),
        method="exact",
        moq=whole("moq") or 0,
        pack_size=max(whole("pack_size") or 1, 1),
    )


def _lead(
    lake: Lake, supplier: Any, period: str, mean: float, cache: dict[str, Distribution]
) -> Distribution:
    """The supplier's lead-time pmf from its deliveries, else the policy's mean, rounded up."""
    key = str(supplier)
    if key not in cache:
        try:
            cache[key] = lead_time_distribution(lake, key, period).distribution
        except InputError:
            periods = max(math.ceil((0.0 if pd.isna(mean) else mean) - 1e-9), 0)
            cache[key] = Distribution(np.eye(periods + 1)[-1])
    return cache[key]


def replay_stock(lake: Lake) -> StockComparison | str:
    """The latest policies replayed on the last year of demand against the stock held over
    the same periods (module docstring); a string says why that cannot be measured."""
    for table, why in (
        ("policies", "no inventory policy designed yet (shopfloor supply policy)"),
        ("inventory", "no inventory snapshots: the stock held is unknown"),
        ("demand", "no demand history to replay the policies on"),
    ):
        if lake.version(table) is None:
            return why
    rows = _latest_policies(lake)
    if rows.empty:
        return "the latest policy run has no policy with a level"
    period = str(rows["period"].iloc[0])
    matrix = demand_matrix(lake, period)
    index = {
        (str(i), str(loc)): n
        for n, (i, loc) in enumerate(zip(matrix.items, matrix.locations, strict=True))
    }
    per_year = max(round(365.25 / PERIOD_DAYS[period]), 4)
    n = matrix.n_periods
    warm = min(per_year // 4, n // 3)
    counted = min(per_year, n - warm)
    if counted < 4:
        return f"{n} {period}s of demand: too short to replay"
    window = matrix.values[:, n - counted - warm :]
    # Inside a series' span a missing period sold nothing; before it, it was not stocked.
    started = np.maximum.accumulate(~np.isnan(matrix.values), axis=1)[:, n - counted - warm :]
    window = np.where(started & np.isnan(window), 0.0, window)
    first = pd.Timestamp(matrix.periods[n - counted]).tz_localize("UTC")
    last = pd.Timestamp(matrix.periods[-1]).tz_localize("UTC") + pd.Timedelta(
        days=PERIOD_DAYS[period]
    )
    held = lake.sql(
        "SELECT item, location, avg(on_hand) AS on_hand FROM inventory "
        "WHERE ts >= ? AND ts < ? GROUP BY item, location",
        [first, last],
    ).set_index(["item", "location"])["on_hand"]
    chosen, skipped = [], 0
    for row in rows.to_dict("records"):
        key = (str(row["item"]), str(row["location"]))
        at = index.get(key)
        if at is None or key not in held.index or np.isnan(window[at]).any():
            skipped += 1
            continue
        chosen.append((row, at, float(held.loc[key])))
    if not chosen:
        return "no policy with demand and stock over the same periods"
    leads: dict[str, Distribution] = {}
    replay = simulate(
        [_policy(r) for r, _, _ in chosen],
        np.rint(window[[at for _, at, _ in chosen]]),
        [_lead(lake, r["supplier"], period, r["lead_time_mean"], leads) for r, _, _ in chosen],
        [Costs(float(r["order_cost"] or 0.0), float(r["holding_cost"])) for r, _, _ in chosen],
        warmup=warm,
        seed=0,
    )
    first_row = chosen[0][0]
    target = f"{first_row['target_kind'].replace('_', ' ')} {100 * float(first_row['target']):g} %"
    return StockComparison.from_arrays(
        [float(r["unit_cost"]) for r, _, _ in chosen],
        [stock for _, _, stock in chosen],
        replay.mean_on_hand,
        fill_rate=replay.aggregate_fill_rate,
        target=target,
        periods=counted,
        period=period,
        source=f"policies {first_row['policy_id']} replayed on demand; inventory snapshots",
        note=f"{skipped} policies without demand or stock over those periods left out"
        if skipped
        else "",
    )
