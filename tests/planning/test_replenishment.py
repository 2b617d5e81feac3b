import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.planning.replenishment import net_requirements

DAYS = pd.date_range("2026-03-02", periods=4, freq="D", tz="UTC")


def _forecast(item: str, demand: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"item": item, "period_start": DAYS[: len(demand)], "demand": demand})


def test_orders_are_planned_when_stock_would_fall_below_safety() -> None:
    plan = net_requirements(
        _forecast("P1", [40, 40, 40, 40]), {"P1": 100.0}, safety_stock={"P1": 20}
    )
    # 100 -> 60 -> 20 -> (-20: order 40) -> (-20: order 40)
    assert [(o.due, o.quantity) for o in plan.orders] == [(DAYS[2], 40.0), (DAYS[3], 40.0)]
    assert list(plan.projection["stock_end"]) == [60.0, 20.0, 20.0, 20.0]
    assert plan.holding_units == 120.0


def test_scheduled_receipts_and_lot_sizes_count() -> None:
    scheduled = pd.DataFrame({"item": ["P1"], "due": [DAYS[1]], "quantity": [50.0]})
    plan = net_requirements(
        _forecast("P1", [30, 30, 30]), {"P1": 10.0}, scheduled, min_lot=25, lot_multiple=10
    )
    # 10-30 = -20: order max(20, 25) -> 30 ; +50-30 -> 30 ; 30-30 = 0 (no order)
    assert [o.quantity for o in plan.orders] == [30.0]
    assert plan.projection["stock_end"].iloc[-1] == 0.0


def test_receipts_already_due_count_in_the_first_period_and_items_are_apart() -> None:
    late = pd.DataFrame(
        {"item": ["P1"], "due": [DAYS[0] - pd.Timedelta(days=3)], "quantity": [30.0]}
    )
    forecast = pd.concat([_forecast("P1", [30]), _forecast("P2", [5])])
    plan = net_requirements(forecast, {}, late)
    assert [o.item for o in plan.orders] == ["P2"]


def test_bad_forecasts_are_input_errors() -> None:
    with pytest.raises(InputError):
        net_requirements(pd.DataFrame({"item": ["P1"]}), {})
    with pytest.raises(InputError):
        net_requirements(_forecast("P1", [-1.0]), {})
    with pytest.raises(InputError):
        net_requirements(_forecast("P1", [1.0]), {}, min_lot=0)
