"""Forecasts, policies and the reorder list on small supply lakes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopfloor.config import Settings
from shopfloor.demo_plant.supply import Supply
from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.schema import TABLES
from shopfloor.supply.policies import reorder_quantity
from shopfloor.workflows import forecast_accuracy as backtest
from shopfloor.workflows import reorder as reordering
from shopfloor.workflows import supply_planning as workflow
from shopfloor.workflows.supply import inventory_position
from tests.workflows.supply_lake import demo_supply_lake, ingest_csv


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, Supply]:
    return demo_supply_lake(tmp_path_factory.mktemp("supply-planning"))


@pytest.fixture(scope="module")
def forecast(demo: tuple[Lake, Supply]) -> workflow.LakeForecast:
    return workflow.forecast_lake(demo[0], horizon=4)


def test_forecast_is_stored_with_its_lineage(
    demo: tuple[Lake, Supply], forecast: workflow.LakeForecast
) -> None:
    lake, supply = demo
    series = supply.demand[["item", "location"]].drop_duplicates()
    assert len(forecast.series) == len(series)
    assert forecast.period == "week" and forecast.horizon == 4
    # The history ends with the last complete week (the table ends on Saturday 2026-10-31).
    assert forecast.history_end == pd.Timestamp("2026-10-26").date()
    assert [d.isoformat() for d in forecast.starts] == [
        "2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16",
    ]  # fmt: skip
    stored = lake.sql("SELECT * FROM forecasts WHERE forecast_id = ?", [forecast.forecast_id])
    assert list(stored.columns) == TABLES["forecasts"].schema.names
    assert len(stored) == 4 * len(series)
    assert (stored["demand_version"] == lake.version("demand")).all()
    assert set(stored["step"]) == {1, 2, 3, 4}
    assert (stored["q50"] <= stored["q80"]).all() and (stored["q90"] <= stored["q95"]).all()
    assert stored["silence"].between(0, 1).all() and (stored["mean"] >= 0).all()
    assert set(stored["demand_class"]) <= {"smooth", "erratic", "intermittent", "lumpy", "none"}
    assert set(stored["abc"]) <= {"A", "B", "C"} and "A" in set(stored["abc"])
    assert set(stored["xyz"]) <= {"X", "Y", "Z"}
    assert stored["model"].notna().all() and "bootstrap" in set(stored["model"])
    # A holds the series worth most: its mean value per series beats C's
    costs = supply.items.set_index("item")["unit_cost"]
    value = forecast.series["mean"] * forecast.series["item"].map(costs)
    by_class = value.groupby(forecast.series["abc"]).mean()
    assert by_class["A"] > by_class.get("C", 0.0)
    first = forecast.series.iloc[0]
    pmf = forecast.distribution(first["item"], first["location"])
    assert pmf.pmf.sum() == pytest.approx(1.0)
    with pytest.raises(InputError, match="no forecast for X"):
        forecast.distribution("X", "Y")


def test_forecast_accuracy_against_the_baselines(demo: tuple[Lake, Supply]) -> None:
    lake, _ = demo
    acc = backtest.forecast_accuracy(lake, horizon=6)
    assert [s.method for s in acc.scores] == ["forecast", "zero", "naive"]
    assert acc.series > 0 and acc.horizon == 6
    ours, zero = acc.score("forecast"), acc.score("zero")
    # Every demo series sells: forecasting nothing is far worse than forecasting.
    assert ours.mase < zero.mase and ours.rmsse < zero.rmsse and ours.spl < zero.spl
    assert 0.6 <= ours.coverage_90 <= 1.0
    assert list(acc.frame().columns) == ["mase", "rmsse", "spl", "coverage_90"]
    assert acc.held_out[0] < acc.held_out[1]
    with pytest.raises(InputError, match="field 'horizon'"):
        backtest.forecast_accuracy(lake, horizon=500)


def test_policies_per_series_are_stored(
    demo: tuple[Lake, Supply], forecast: workflow.LakeForecast
) -> None:
    lake, supply = demo
    result = workflow.design_lake_policies(lake, forecast=forecast, fill_rate=0.9)
    assert result.forecast_id == forecast.forecast_id and result.no_policy == 0
    assert result.target.kind == "fill_rate" and result.target.level == 0.9
    stored = reordering.latest_policies(lake)
    assert list(stored.columns) == TABLES["policies"].schema.names
    assert stored["policy_id"].eq(result.policy_id).all() and len(stored) == len(forecast.series)
    assert (stored["expected_fill_rate"] >= 0.9 - 1e-9).all()
    assert stored["lead_time_source"].str.startswith("deliveries").all()
    # The item master's lot rules and the supplier are carried over.
    items = supply.items.set_index("item")
    for row in stored.itertuples():
        assert row.supplier == items.loc[row.item, "supplier"]
        assert row.order_quantity >= row.moq and row.order_quantity % row.pack_size == 0
    # Holding cost: unit cost x 25 % a year, per week.
    row = stored.iloc[0]
    assert row["holding_cost"] == pytest.approx(row["unit_cost"] * 0.25 * 7 / 365.25)
    assert row["order_cost"] == 50.0 and row["items_version"] == lake.version("items")


def test_cycle_service_level_and_kinds(
    demo: tuple[Lake, Supply], forecast: workflow.LakeForecast
) -> None:
    lake, _ = demo
    csl = workflow.design_lake_policies(
        lake, forecast=forecast, service_level=0.9, kind="RS", review_period=2, store=False
    )
    assert csl.target.kind == "csl" and csl.kind == "RS"
    rows = csl.rows
    assert rows["reorder_point"].isna().all() and rows["order_up_to"].notna().all()
    assert (rows["expected_csl"] >= 0.9 - 1e-9).all() and (rows["review_period"] == 2).all()
    min_max = workflow.design_lake_policies(lake, forecast=forecast, kind="sS", store=False)
    assert (min_max.rows["order_up_to"] > min_max.rows["reorder_point"]).all()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "EOQ"}, "field 'kind': must be one of sQ, sS, RS, not 'EOQ'"),
        ({"fill_rate": 1.0}, "field 'fill_rate': must lie in (0, 1), not 1"),
        ({"service_level": 0.0}, "field 'service_level': must lie in (0, 1), not 0"),
        ({"fill_rate": 0.9, "service_level": 0.9}, "field 'service_level': give a fill rate"),
    ],
)
def test_bad_policy_options(
    demo: tuple[Lake, Supply], options: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError) as info:
        workflow.check_policy_options(demo[0], **options)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


def test_reorder_list_matches_the_policies(demo: tuple[Lake, Supply]) -> None:
    lake, _ = demo
    workflow.design_lake_policies(lake, forecast=workflow.forecast_lake(lake, horizon=4))
    result = reordering.reorder_list(lake)
    stored = reordering.latest_policies(lake).set_index(["item", "location"])
    stock = inventory_position(lake).table.set_index(["item", "location"])
    assert result.policy_id == stored["policy_id"].iloc[0]
    assert result.series_checked == len(stored) and not result.unstocked and not result.unplanned
    due = 0
    for key, row in stored.iterrows():
        policy = reordering._stored_policy(row)
        assert policy is not None
        quantity = reorder_quantity(policy, int(stock.loc[key, "position"]))
        due += quantity > 0
        listed = result.table[
            (result.table["item"] == key[0]) & (result.table["location"] == key[1])  # type: ignore[index]
        ]
        assert len(listed) == (quantity > 0)
        if quantity:
            assert listed["quantity"].iloc[0] == quantity
            assert listed["position"].iloc[0] <= row["reorder_point"]
    assert len(result.table) == due
    assert result.table["cover_periods"].is_monotonic_increasing


def test_reorder_orders_what_falls_below_the_reorder_point(tmp_path: Path) -> None:
    """A snapshot at zero stock for every series: every series orders, lot-sized."""
    lake, supply = demo_supply_lake(tmp_path)
    workflow.design_lake_policies(lake, forecast=workflow.forecast_lake(lake, horizon=3))
    keys = supply.demand[["item", "location"]].drop_duplicates()
    lines = ["item,location,ts,on_hand,on_order,allocated"]
    lines += [f"{r.item},{r.location},2026-11-01T00:00:00Z,0,0,5" for r in keys.itertuples()]
    ingest_csv(lake, "inventory", "\n".join(lines) + "\n", "empty-shelves")
    result = reordering.reorder_list(lake)
    assert len(result.table) == len(keys)
    assert (result.table["position"] == -5).all() and (result.table["gap"] < 0).all()
    policies = reordering.latest_policies(lake).set_index(["item", "location"])
    for row in result.table.itertuples():
        moq, pack = policies.loc[(row.item, row.location), ["moq", "pack_size"]]
        assert row.quantity >= moq and row.quantity % pack == 0
    # The slowest mover has the most periods of cover at -5 units: it is listed last.
    cover = -5 / policies["demand_mean"]
    assert result.table["cover_periods"].iloc[-1] == pytest.approx(cover.max())


def test_lead_time_falls_back_for_a_supplier_without_deliveries(tmp_path: Path) -> None:
    lake, supply = demo_supply_lake(tmp_path, items=3)
    item = supply.items.iloc[0]
    ingest_csv(
        lake,
        "items",
        f"item,unit_cost,pack_size,moq,supplier\n{item['item']},,1,0,SUP-NEW\n",
        "new-supplier",
    )
    settings = Settings(lake=lake.path, supply={"default_lead_time_days": 20.0})  # type: ignore[arg-type]
    lake = Lake(lake.path, settings)
    result = workflow.design_lake_policies(lake, store=False)
    assert result.fallback_suppliers == ("SUP-NEW",)
    mine = result.rows[result.rows["item"] == item["item"]]
    assert (mine["lead_time_source"] == "default 20 days").all()
    assert (mine["lead_time_mean"] == 3.0).all()  # 20 days: 3 whole weeks
    assert mine["note"].str.contains("no unit cost").all()
    others = result.rows[result.rows["item"] != item["item"]]
    assert others["lead_time_source"].str.startswith("deliveries").all()


def test_a_series_without_demand_gets_no_policy(tmp_path: Path) -> None:
    lake, _ = demo_supply_lake(tmp_path, items=3)
    forecast = workflow.forecast_lake(lake, horizon=2, store=False)
    mean = forecast.forecast.mean.copy()
    pmfs = list(forecast.forecast.pmfs)
    pmfs[0] = np.array([1.0])  # silent for sure
    from dataclasses import replace

    silent = replace(forecast, forecast=replace(forecast.forecast, pmfs=pmfs, mean=mean))
    result = workflow.design_lake_policies(lake, forecast=silent)
    assert result.no_policy == 1
    row = result.rows.iloc[0]
    assert pd.isna(row["reorder_point"]) and "no demand expected" in row["note"]
    assert len(result.policies) == len(result.rows) - 1
    reorder = reordering.reorder_list(lake)
    first = (forecast.series["item"].iloc[0], forecast.series["location"].iloc[0])
    assert first not in set(zip(reorder.table["item"], reorder.table["location"], strict=True))


def test_empty_lake_names_the_table(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake", Settings(lake=tmp_path / "lake"))
    with pytest.raises(InputError, match="field 'demand'"):
        workflow.forecast_lake(lake)
    with pytest.raises(InputError, match="field 'policies': no inventory policy"):
        reordering.reorder_list(lake)
    with pytest.raises(InputError, match="field 'items'"):
        workflow.design_lake_policies(lake)
    with pytest.raises(InputError, match="field 'horizon'"):
        workflow.forecast_lake(lake, horizon=0)
