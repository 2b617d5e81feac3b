"""Supply on the lake: demand per period, inventory positions, supplier scorecards.

Hand-made CSV lakes pin every convention exactly (zeros inside a series' span, NaN
outside, incomplete periods dropped, the latest ingested row of a key wins); a small
demo-plant lake (6 items, two years of daily demand) checks the SQL against pandas.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shopfloor.config import Settings, SupplySettings
from shopfloor.demo_plant.supply import Supply
from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.supply.suppliers import lead_time_days, scorecards
from shopfloor.workflows import supply as workflow
from tests.workflows.supply_lake import demo_supply_lake, ingest_csv

NAN = np.nan

# 2026-01-05 is a Monday.  The table runs from Monday 5 to Wednesday 28 January: three
# complete weeks; the week of 26 January is incomplete.
DEMAND = """item,location,date,quantity
A,DC1,2026-01-05,3
A,DC1,2026-01-07,2
A,DC1,2026-01-21,4
B,DC1,2026-01-14,5
B,DC1,2026-01-25,1
A,DC2,2026-01-28,7
"""
INVENTORY = """item,location,ts,on_hand,on_order,allocated
A,DC1,2026-01-01T00:00:00Z,10,5,2
A,DC1,2026-01-02T00:00:00Z,8,,
A,DC2,2026-01-01T00:00:00Z,4,0,1
Z,DC1,2026-01-02T00:00:00Z,1,0,0
"""
ITEMS = """item,description,unit,unit_cost,pack_size,moq,supplier
A,bolt,pcs,2.5,10,20,S1
Z,nut,pcs,,,,
"""
DELIVERIES = """po,supplier,item,quantity_ordered,quantity_received,ordered,promised,received
P1,S1,A,10,10,2026-01-01T00:00:00Z,2026-01-08T00:00:00Z,2026-01-07T00:00:00Z
P2,S1,A,10,,2026-01-02T00:00:00Z,2026-01-09T00:00:00Z,
P3,S2,A,5,4,2026-01-01T00:00:00Z,2026-01-03T00:00:00Z,2026-01-16T00:00:00Z
P4,S3,A,5,,2026-01-05T00:00:00Z,,
"""


def _lake(root: Path, **tables: str) -> Lake:
    lake = Lake(root / "lake", Settings(lake=root / "lake"))
    for table, text in tables.items():
        ingest_csv(lake, table, text, table)
    return lake


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, Supply]:
    return demo_supply_lake(tmp_path_factory.mktemp("supply"))


# -- demand ------------------------------------------------------------------------------


def test_weekly_matrix_zeros_inside_the_span_nan_outside(tmp_path: Path) -> None:
    m = workflow.demand_matrix(_lake(tmp_path, demand=DEMAND), "week")
    assert list(zip(m.items, m.locations, strict=True)) == [
        ("A", "DC1"),
        ("A", "DC2"),
        ("B", "DC1"),
    ]
    assert [str(p) for p in m.periods] == ["2026-01-05", "2026-01-12", "2026-01-19"]
    assert m.dropped == (date(2026, 1, 26),)  # Monday 26 to Wednesday 28: incomplete
    np.testing.assert_array_equal(
        m.values,
        [
            [5.0, 0.0, 4.0],  # the week of 12 January has no row: inside the span, a zero
            [NAN, NAN, NAN],  # its only day lies in the incomplete week
            [NAN, 5.0, 1.0],  # starts in the second week: not observed before
        ],
    )
    assert (m.n_series, m.n_periods, m.period_days, m.version) == (3, 3, 7.0, 0)
    assert m.frame().loc[("B", "DC1"), pd.Timestamp("2026-01-19")] == 1.0


def test_default_period_comes_from_the_settings(tmp_path: Path) -> None:
    lake = _lake(tmp_path, demand=DEMAND)
    assert workflow.demand_matrix(lake).period == "week"
    monthly = Settings(lake=lake.path, supply=SupplySettings(period="month"))
    with pytest.raises(InputError, match="no complete month of demand"):
        workflow.demand_matrix(Lake(lake.path, monthly))


def test_daily_matrix_and_a_cut_off(tmp_path: Path) -> None:
    lake = _lake(tmp_path, demand=DEMAND)
    daily = workflow.demand_matrix(lake, "day")
    assert daily.n_periods == 24 and daily.dropped == ()
    assert daily.values[0, :3].tolist() == [3.0, 0.0, 2.0]
    assert np.isnan(daily.values[2, :9]).all() and daily.values[2, 9] == 5.0
    # Demand before 22 January only: the week of the 19th ends on the 21st, incomplete.
    cut = workflow.demand_matrix(lake, "week", end="2026-01-22")
    assert [str(p) for p in cut.periods] == ["2026-01-05", "2026-01-12"]
    assert cut.dropped == (date(2026, 1, 19),)
    np.testing.assert_array_equal(cut.values, [[5.0, 0.0], [NAN, 5.0]])


def test_a_later_ingest_supersedes_a_demand_day(tmp_path: Path) -> None:
    lake = _lake(tmp_path, demand=DEMAND)
    ingest_csv(lake, "demand", "item,location,date,quantity\nA,DC1,2026-01-21,9\n", "fix")
    assert workflow.demand_matrix(lake).values[0].tolist() == [5.0, 0.0, 9.0]


def test_demand_errors_name_the_table_or_field(tmp_path: Path) -> None:
    empty = Lake(tmp_path / "empty", Settings(lake=tmp_path / "empty"))
    with pytest.raises(InputError, match="field 'demand': the lake has no demand yet"):
        workflow.demand_matrix(empty)
    lake = _lake(tmp_path, demand=DEMAND)
    with pytest.raises(InputError, match="field 'period': must be one of day, week, month"):
        workflow.demand_matrix(lake, "fortnight")
    with pytest.raises(InputError, match="field 'demand': no demand rows before 2026-01-01"):
        workflow.demand_matrix(lake, end="2026-01-01")
    with pytest.raises(InputError, match="field 'end': cannot read"):
        workflow.demand_matrix(lake, end="soon")
    # Ingest quarantines negative quantities; a table written directly (no lineage
    # columns either) is still checked.
    direct = Lake(tmp_path / "direct", Settings(lake=tmp_path / "direct"))
    days = [date(2026, 1, 5) + timedelta(days=i) for i in range(7)]
    quantities = [1.0, 2.0, -2.0, 0.0, 1.0, 1.0, 1.0]
    frame = pa.table(
        {"item": ["B"] * 7, "location": ["DC1"] * 7, "date": days, "quantity": quantities}
    )
    direct.write("demand", frame)
    with pytest.raises(
        InputError, match=r"field 'demand.quantity': demand of -2 for B at DC1 on 2026-01-07"
    ):
        workflow.demand_matrix(direct)
    direct.write("demand", frame.set_column(3, "quantity", pa.array([1.0] * 7)), mode="overwrite")
    assert workflow.demand_matrix(direct).values.tolist() == [[7.0]]


def test_demo_plant_matrix_matches_pandas(demo: tuple[Lake, Supply]) -> None:
    lake, supply = demo
    m = workflow.demand_matrix(lake, "week")
    # Daily demand from Tuesday 2024-10-01 to Saturday 2026-10-31: both end weeks go.
    assert m.dropped == (date(2024, 9, 30), date(2026, 10, 26))
    assert str(m.periods[0]) == "2024-10-07" and str(m.periods[-1]) == "2026-10-19"
    assert (m.periods.astype("datetime64[D]").view("int64") % 7 == 4).all()  # Mondays
    days = supply.demand.assign(week=pd.to_datetime(supply.demand["date"]).dt.to_period("W"))
    expected = days.groupby(["item", "location", "week"])["quantity"].sum().unstack()
    columns = pd.PeriodIndex(pd.DatetimeIndex(m.periods.astype("datetime64[ns]")), freq="W")
    np.testing.assert_allclose(m.values, expected[columns].to_numpy())
    assert list(m.items) == list(expected.index.get_level_values("item"))
    monthly = workflow.demand_matrix(lake, "month")
    assert monthly.n_periods == 25 and monthly.dropped == ()  # Oct 2024 .. Oct 2026
    assert monthly.values.sum() == supply.demand["quantity"].sum()


# -- inventory ---------------------------------------------------------------------------


def test_inventory_position_latest_snapshot_with_the_item_master(tmp_path: Path) -> None:
    lake = _lake(tmp_path, inventory=INVENTORY, items=ITEMS)
    ingest_csv(lake, "items", ITEMS.replace("2.5,10,20,S1", "3.0,10,20,S1"), "items-2")
    result = workflow.inventory_position(lake)
    table = result.table.set_index(["item", "location"])
    assert list(table.columns) == [
        "ts", "on_hand", "on_order", "allocated", "position", "unit_cost", "pack_size",
        "moq", "supplier",
    ]  # fmt: skip
    a1 = table.loc[("A", "DC1")]
    assert a1["ts"] == pd.Timestamp("2026-01-02", tz="UTC")
    assert (a1["on_hand"], a1["on_order"], a1["allocated"], a1["position"]) == (8, 0, 0, 8)
    assert (a1["unit_cost"], a1["pack_size"], a1["moq"], a1["supplier"]) == (3.0, 10, 20, "S1")
    assert table.loc[("A", "DC2"), "position"] == 3.0
    z = table.loc[("Z", "DC1")]  # in the master without ordering data: no constraint
    assert np.isnan(z["unit_cost"]) and (z["pack_size"], z["moq"]) == (1, 0)
    assert z["supplier"] is None or pd.isna(z["supplier"])
    assert result.missing_items == () and result.versions == {"inventory": 0, "items": 1}


def test_inventory_position_as_of_and_missing_master(tmp_path: Path) -> None:
    lake = _lake(tmp_path, inventory=INVENTORY)
    result = workflow.inventory_position(lake, as_of="2026-01-01T12:00:00Z")
    assert result.as_of == pd.Timestamp("2026-01-01T12:00:00Z")
    assert result.table[["item", "location", "position"]].values.tolist() == [
        ["A", "DC1", 13.0],
        ["A", "DC2", 3.0],
    ]
    assert result.missing_items == ("A",)
    assert workflow.inventory_position(lake).missing_items == ("A", "Z")
    with pytest.raises(InputError, match="field 'inventory': no inventory snapshot at or before"):
        workflow.inventory_position(lake, as_of="2025-12-31")
    empty = Lake(tmp_path / "empty", Settings(lake=tmp_path / "empty"))
    with pytest.raises(InputError, match="field 'inventory': the lake has no inventory"):
        workflow.inventory_position(empty)


def test_demo_plant_inventory_position(demo: tuple[Lake, Supply]) -> None:
    lake, supply = demo
    table = workflow.inventory_position(lake).table
    last = supply.inventory[supply.inventory["ts"] == supply.inventory["ts"].max()]
    assert len(table) == len(last) and (table["ts"] == last["ts"].max()).all()
    merged = table.merge(last, on=["item", "location"], suffixes=("", "_demo"))
    expected = merged["on_hand_demo"] + merged["on_order_demo"] - merged["allocated_demo"]
    np.testing.assert_allclose(merged["position"], expected)
    assert table["supplier"].notna().all() and (table["pack_size"] >= 1).all()


# -- suppliers ---------------------------------------------------------------------------


def test_scorecards_and_lead_times_from_the_lake(tmp_path: Path) -> None:
    lake = _lake(tmp_path, deliveries=DELIVERIES)
    cards = workflow.supplier_scorecards(lake)
    assert cards.tolerance == 0.0 and list(cards.table.index) == ["S1", "S2"]
    assert cards.table.loc["S1", ["lines", "open_lines"]].tolist() == [1, 1]
    assert cards.table.loc["S2", "otif"] == 0.0
    # P2 arrives: the line is sent again with its receipt, and the newer row wins.
    ingest_csv(
        lake,
        "deliveries",
        "po,supplier,item,quantity_ordered,quantity_received,ordered,promised,received\n"
        "P2,S1,A,10,10,2026-01-02T00:00:00Z,2026-01-09T00:00:00Z,2026-01-10T00:00:00Z\n",
        "received",
    )
    cards = workflow.supplier_scorecards(lake, tolerance=0.25)
    assert cards.table.loc["S1", ["lines", "open_lines"]].tolist() == [2, 0]
    assert cards.table.loc["S2", "in_full"] == 1.0  # 4 of 5 is within 25 %
    weekly = workflow.lead_time_distribution(lake, "S1")  # 6 and 8 days
    assert (weekly.period, weekly.lines, weekly.version) == ("week", 2, 1)
    np.testing.assert_allclose(weekly.distribution.pmf, [0.0, 0.5, 0.5])
    daily = workflow.lead_time_distribution(lake, "S2", "day")
    assert daily.distribution.pmf.size == 16 and daily.distribution.pmf[15] == 1.0


def test_supplier_errors(tmp_path: Path) -> None:
    empty = Lake(tmp_path / "empty", Settings(lake=tmp_path / "empty"))
    with pytest.raises(InputError, match="field 'deliveries': the lake has no supplier"):
        workflow.supplier_scorecards(empty)
    lake = _lake(tmp_path, deliveries=DELIVERIES)
    with pytest.raises(InputError, match=r"field 'supplier': no delivery from 'S9' \(known: S1"):
        workflow.lead_time_distribution(lake, "S9")
    with pytest.raises(
        InputError, match="deliveries, field 'supplier': no received delivery from supplier 'S3'"
    ):
        workflow.lead_time_distribution(lake, "S3")
    with pytest.raises(InputError, match=r"field 'tolerance': must lie in \[0, 1\)"):
        workflow.supplier_scorecards(lake, tolerance=1.0)
    ingest_csv(
        lake,
        "deliveries",
        "po,supplier,item,quantity_ordered,quantity_received,ordered,promised,received\n"
        "P5,S2,A,5,5,2026-01-10T00:00:00Z,,2026-01-09T00:00:00Z\n",
        "bad",
    )
    with pytest.raises(
        InputError, match=r"^deliveries, field 'received': received before ordered \(po P5\)$"
    ):
        workflow.supplier_scorecards(lake)


def test_only_open_lines_have_no_scorecard(tmp_path: Path) -> None:
    lake = _lake(
        tmp_path,
        deliveries=DELIVERIES.splitlines()[0] + "\nP4,S3,A,5,,2026-01-05T00:00:00Z,,\n",
    )
    with pytest.raises(InputError, match=r"no received delivery to score yet \(1 open line"):
        workflow.supplier_scorecards(lake)


def test_demo_plant_scorecards_match_the_pure_function(demo: tuple[Lake, Supply]) -> None:
    lake, supply = demo
    cards = workflow.supplier_scorecards(lake, tolerance=0.05)
    expected = scorecards(supply.deliveries, 0.05).table
    pd.testing.assert_frame_equal(cards.table, expected, check_names=False)
    for supplier in expected.index:
        weekly = workflow.lead_time_distribution(lake, supplier, "week").distribution.pmf
        np.testing.assert_allclose(weekly, lead_time_days(supply.deliveries, supplier, 7.0).pmf)
