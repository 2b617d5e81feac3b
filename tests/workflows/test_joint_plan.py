"""The joint plan on a copy of the 7-day demo lake with a forecast of the lines' products."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa

from shopfloor.config import Settings
from shopfloor.lake import Lake
from shopfloor.schema import TABLES
from shopfloor.workflows import joint_plan


def _with_forecast(source: Lake, tmp_path: Path) -> Lake:
    path = tmp_path / "lake"
    shutil.copytree(source.path, path)
    lake = Lake(path, Settings(lake=path))
    end = pd.to_datetime(lake.table("events").to_pandas()["end"], utc=True).max()
    days = pd.date_range(end.normalize(), periods=6, freq="D")
    rows = pd.DataFrame(
        [
            {
                "forecast_id": "test-fc",
                "created_at": end,
                "period": "day",
                "period_start": day.date(),
                "step": k + 1,
                "item": item,
                "location": "DC-NORTH",
                "mean": 300.0,
                "q90": 360.0,
                "demand_version": 0,
            }
            for item in ("P1001", "P2003")
            for k, day in enumerate(days)
        ]
    )
    schema = TABLES["forecasts"].schema
    for name in schema.names:
        if name not in rows:
            rows[name] = None
    lake.write(
        "forecasts", pa.Table.from_pandas(rows[schema.names], schema=schema, preserve_index=False)
    )
    return lake


def test_forecast_becomes_production_orders_scheduled_with_the_maintenance(
    demo_week: Lake, tmp_path: Path
) -> None:
    lake = _with_forecast(demo_week, tmp_path)
    result = joint_plan.plan_jointly(lake, horizon_days=7, time_limit_s=2)
    made = result.production
    assert not made.note and set(made.orders["item"]) == {"P1001", "P2003"}
    # nothing on hand, 300 a day forecast beyond the open orders: orders keep the projected
    # stock at the safety stock (q90 - mean = 60) or above
    assert len(made.orders) >= 2 and (made.orders["quantity"] > 0).all()
    assert (made.projection["stock_end"] >= 60 - 1e-9).all()
    stored = lake.sql(
        'SELECT DISTINCT "order" FROM schedules WHERE schedule_id = ?', [result.schedule_id]
    )
    assert set(made.orders["order"]) <= set(stored["order"])
    for plan in (result.joint, result.sequential):
        assert plan.holding > 0 and plan.stockout >= 0
    # the joint plan's maintenance is never expected to cost more than the sequential one's
    assert result.joint.maintenance <= result.sequential.maintenance + 1e-6


def test_no_forecast_of_a_product_plans_the_open_orders_only(demo_week: Lake) -> None:
    origin = pd.Timestamp("2026-11-01", tz="UTC")
    made = joint_plan.production_orders(demo_week, origin, 7)
    assert made.orders.empty and made.note
