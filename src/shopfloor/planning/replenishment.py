"""Production orders from a demand forecast and the stock: period-by-period netting.

The classic MRP record (Orlicky 1975) per item: the projected stock of a period is the
stock before it, plus the orders due in it, less its forecast demand.  When it would fall
below the safety stock, a production order is planned, due at the start of that period,
for the shortfall (at least ``min_lot``, rounded up to ``lot_multiple``).  The projected
stock prices holding; an order the schedule finishes after its due date leaves that
period's demand short, which prices stock-outs (the joint plan does that part).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from shopfloor.errors import InputError


@dataclass(frozen=True)
class PlannedOrder:
    item: str
    quantity: float
    due: pd.Timestamp  # start of the period whose demand it covers
    shortfall: float  # what the stock would have lacked below the safety stock


@dataclass(frozen=True)
class ReplenishmentPlan:
    orders: tuple[PlannedOrder, ...]
    projection: pd.DataFrame  # item, period_start, demand, receipts, planned, stock_end
    holding_units: float  # sum over periods of the projected stock (unit-periods)


def net_requirements(
    forecast: pd.DataFrame,
    on_hand: Mapping[str, float],
    scheduled: pd.DataFrame | None = None,
    *,
    safety_stock: Mapping[str, float] | None = None,
    min_lot: float = 1.0,
    lot_multiple: float = 1.0,
) -> ReplenishmentPlan:
    """Plan production orders per item of ``forecast`` (item, period_start, demand).

    ``scheduled``: receipts already on the way (item, due, quantity), counted in the
    period they are due in (or the first period when already due).
    """
    missing = {"item", "period_start", "demand"} - set(forecast.columns)
    if missing:
        raise InputError(f"the forecast lacks {', '.join(sorted(missing))}", field="forecast")
    if min_lot <= 0 or lot_multiple <= 0:
        raise InputError("lot sizes must be positive", field="min_lot")
    if (forecast["demand"] < 0).any() or not forecast["demand"].map(math.isfinite).all():
        raise InputError("forecast demand must be finite and not negative", field="demand")
    safety = safety_stock or {}
    orders: list[PlannedOrder] = []
    rows = []
    holding = 0.0
    for item, group in forecast.groupby("item", sort=True):
        periods = group.sort_values("period_start")
        starts = pd.to_datetime(periods["period_start"], utc=True).reset_index(drop=True)
        receipts = [0.0] * len(starts)
        if scheduled is not None and len(scheduled):
            mine = scheduled[scheduled["item"] == item]
            for due, qty in zip(
                pd.to_datetime(mine["due"], utc=True), mine["quantity"], strict=True
            ):
                k = max(int(starts.searchsorted(due, side="right")) - 1, 0)
                receipts[k] += float(qty)
        stock = float(on_hand.get(str(item), 0.0))
        floor = float(safety.get(str(item), 0.0))
        for k, (start, demand) in enumerate(zip(starts, periods["demand"], strict=True)):
            stock += receipts[k] - float(demand)
            planned = 0.0
            if stock < floor:
                shortfall = floor - stock
                planned = max(shortfall, min_lot)
                planned = math.ceil(planned / lot_multiple - 1e-9) * lot_multiple
                orders.append(PlannedOrder(str(item), planned, start, shortfall))
                stock += planned
            holding += max(stock, 0.0)
            rows.append(
                {
                    "item": str(item),
                    "period_start": start,
                    "demand": float(demand),
                    "receipts": receipts[k],
                    "planned": planned,
                    "stock_end": stock,
                }
            )
    projection = pd.DataFrame(
        rows, columns=["item", "period_start", "demand", "receipts", "planned", "stock_end"]
    )
    return ReplenishmentPlan(tuple(orders), projection, holding)
