"""What to order now: the latest inventory positions against the policies in force.

The policies come from :func:`~shopfloor.workflows.supply_planning.design_lake_policies`
(the ``policies`` table, latest run); the positions from
:func:`~shopfloor.workflows.supply.inventory_position`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.supply.policies import Policy, reorder_quantity
from shopfloor.workflows.supply import inventory_position

__all__ = ["ReorderList", "latest_policies", "reorder_list"]


def latest_policies(lake: Lake) -> pd.DataFrame:
    """The rows of the latest stored policy run; InputError when there is none."""
    if lake.version("policies") is None:
        raise InputError(
            "no inventory policy in the lake yet: run `shopfloor supply policy`", field="policies"
        )
    rows = lake.sql(
        "SELECT * FROM policies WHERE policy_id = (SELECT policy_id FROM policies "
        "ORDER BY created_at DESC, policy_id DESC LIMIT 1) ORDER BY item, location"
    )
    rows["created_at"] = pd.to_datetime(rows["created_at"], utc=True)
    return rows


def _stored_policy(row: pd.Series) -> Policy | None:
    """The :class:`Policy` a stored row describes (None: the series has none)."""

    def whole(name: str) -> int | None:
        value = row[name]
        return None if value is None or pd.isna(value) else int(value)

    if whole("reorder_point") is None and whole("order_up_to") is None:
        return None
    return Policy(
        kind=row["kind"],
        review_period=int(row["review_period"]),
        reorder_point=whole("reorder_point"),
        order_quantity=whole("order_quantity"),
        order_up_to=whole("order_up_to"),
        safety_stock=float(row["safety_stock"]),
        expected_fill_rate=float(row["expected_fill_rate"]),
        expected_cycle_service_level=float(row["expected_csl"]),
        expected_on_hand=float(row["expected_on_hand"]),
        orders_per_period=float(row["orders_per_period"]),
        method="exact",
        moq=int(row["moq"]),
        pack_size=int(row["pack_size"]),
    )


_REORDER_COLUMNS = (
    "item",
    "location",
    "supplier",
    "position",
    "reorder_point",
    "gap",
    "cover_periods",
    "quantity",
    "unit_cost",
    "value",
)


@dataclass(frozen=True)
class ReorderList:
    """What to order now.

    ``table`` (most urgent first): item, location, supplier, position (inventory
    position: on hand + on order - allocated), reorder_point (for RS: the order-up-to
    level: at a review every series below it orders), gap = position - reorder_point
    (negative: below it), cover_periods = position / expected demand per period,
    quantity to order (lot-sized), unit_cost and value = quantity x unit_cost.  Sorted by
    cover_periods (the series that runs out first on top), then by gap.
    ``unstocked``: series with a policy but no inventory snapshot (not listed);
    ``unplanned``: stocked series without a policy.
    """

    policy_id: str
    as_of: pd.Timestamp | None
    period: str
    table: pd.DataFrame
    series_checked: int
    unstocked: tuple[tuple[str, str], ...]
    unplanned: tuple[tuple[str, str], ...]
    versions: dict[str, int]


def reorder_list(lake: Lake, *, as_of: pd.Timestamp | str | None = None) -> ReorderList:
    """The latest inventory positions (at or before ``as_of``) against the policies in force."""
    stored = latest_policies(lake)
    stock = inventory_position(lake, as_of)
    merged = stored.merge(
        stock.table[["item", "location", "position"]],
        on=["item", "location"],
        how="outer",
        indicator=True,
    )
    unstocked = merged[(merged["_merge"] == "left_only") & merged["reorder_point"].notna()]
    unplanned = merged[merged["_merge"] == "right_only"]
    both = merged[merged["_merge"] == "both"]
    rows = []
    for _, row in both.iterrows():
        policy = _stored_policy(row)
        if policy is None:
            continue
        position = math.floor(float(row["position"]))
        quantity = reorder_quantity(policy, position)
        if quantity <= 0:
            continue
        level = policy.reorder_point if policy.reorder_point is not None else policy.order_up_to
        assert level is not None
        mean = float(row["demand_mean"])
        rows.append(
            {
                "item": row["item"],
                "location": row["location"],
                "supplier": row["supplier"],
                "position": position,
                "reorder_point": level,
                "gap": position - level,
                "cover_periods": position / mean if mean > 0 else math.inf,
                "quantity": quantity,
                "unit_cost": float(row["unit_cost"]),
                "value": quantity * float(row["unit_cost"]),
            }
        )
    table = pd.DataFrame(rows, columns=list(_REORDER_COLUMNS))
    table = table.sort_values(["cover_periods", "gap", "item", "location"], ignore_index=True)
    return ReorderList(
        policy_id=str(stored["policy_id"].iloc[0]),
        as_of=stock.as_of,
        period=str(stored["period"].iloc[0]),
        table=table,
        series_checked=len(both),
        unstocked=tuple(zip(unstocked["item"], unstocked["location"], strict=True)),
        unplanned=tuple(zip(unplanned["item"], unplanned["location"], strict=True)),
        versions={**stock.versions, "policies": int(lake.version("policies") or 0)},
    )
