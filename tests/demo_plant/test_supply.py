"""The simulated supply side: demand patterns, stock that adds up, supplier behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shopfloor.demo_plant.supply import PATTERNS, Supply, simulate_supply
from shopfloor.errors import InputError
from shopfloor.schema import TABLES

START = pd.Timestamp("2024-03-04", tz="UTC")
END = START + pd.Timedelta(days=30)
CANONICAL = ("items", "demand", "inventory", "deliveries")


@pytest.fixture(scope="module")
def supply() -> Supply:
    return simulate_supply(START, END, seed=7)


def _day_index(ts: pd.Series) -> pd.Series:
    return ts.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()


@pytest.mark.parametrize("table", CANONICAL)
def test_frames_have_exactly_the_canonical_columns_and_types(supply: Supply, table: str) -> None:
    frame = getattr(supply, table)
    spec = TABLES[table]
    assert tuple(frame.columns) == spec.loadable
    schema = pa.schema([spec.schema.field(n) for n in spec.loadable])
    assert pa.Table.from_pandas(frame, schema=schema, preserve_index=False).num_rows == len(frame)
    for name in spec.required:
        assert frame[name].notna().all(), name
    assert not frame.duplicated(list(spec.key)).any()


def test_demand_is_daily_over_two_years_of_history(supply: Supply) -> None:
    demand = supply.demand
    days = pd.date_range(START - pd.DateOffset(years=2), END, inclusive="left").date
    for _, series in demand.groupby(["item", "location"]):
        assert list(series["date"]) == list(days)
    assert (demand["quantity"] >= 0).all()
    assert demand["item"].nunique() == 40
    keys = supply.patterns[["item", "location"]].drop_duplicates()
    assert len(keys) == len(supply.patterns) == demand.groupby(["item", "location"]).ngroups


def _adi_cv2(q: np.ndarray) -> tuple[float, float]:
    nonzero = q[q > 0]
    return q.size / nonzero.size, float((nonzero.std() / nonzero.mean()) ** 2)


def test_each_series_shows_its_designed_pattern(supply: Supply) -> None:
    """Syntetos-Boylan classes (ADI 1.32, CV^2 0.49) match the designed patterns."""
    assert set(supply.patterns["pattern"]) == set(PATTERNS)
    merged = supply.demand.merge(supply.patterns, on=["item", "location"])
    for (_, _, pattern), g in merged.groupby(["item", "location", "pattern"]):
        adi, cv2 = _adi_cv2(g["quantity"].to_numpy())
        intermittent = adi >= 1.32
        variable = cv2 >= 0.49
        expected = {
            "smooth": (False, False),
            "trending": (False, False),
            "erratic": (False, True),
            "intermittent": (True, False),
            "lumpy": (True, True),
        }[pattern]
        assert (intermittent, variable) == expected, (pattern, adi, cv2)
        if pattern == "trending":
            q = g["quantity"].to_numpy()
            slope = np.polyfit(np.arange(q.size), q, 1)[0] * 365.25
            designed = float(g["trend_per_year"].iloc[0])
            assert np.sign(slope) == np.sign(designed)
            assert abs(slope - designed) < 0.5 * abs(designed)


def test_inventory_adds_up_with_demand_and_receipts(supply: Supply) -> None:
    inv = supply.inventory.sort_values(["item", "location", "ts"])
    d = supply.demand.sort_values(["item", "location", "date"])
    rec = supply.deliveries.dropna(subset=["received"])
    for (item, loc), stock in inv.groupby(["item", "location"]):
        demand = d[(d["item"] == item) & (d["location"] == loc)]["quantity"].to_numpy()
        # Deliveries carry no location: check the items stocked at a single location.
        if inv[inv["item"] == item]["location"].nunique() > 1:
            continue
        got = rec[rec["item"] == item]
        per_day = got.groupby(_day_index(got["received"]))["quantity_received"].sum()
        days = _day_index(stock["ts"])
        received = per_day.reindex(days.to_numpy(), fill_value=0.0).to_numpy()
        on_hand = stock["on_hand"].to_numpy()
        shipped = np.minimum(demand, on_hand + received)
        assert np.allclose(on_hand[1:], (on_hand + received - shipped)[:-1])
        assert (on_hand >= 0).all()
        assert (stock["allocated"].to_numpy() <= on_hand).all()


def test_on_order_is_the_open_purchase_orders(supply: Supply) -> None:
    inv = supply.inventory
    po = supply.deliveries
    item = po["item"].value_counts().index[0]
    if inv[inv["item"] == item]["location"].nunique() > 1:
        item = next(
            i for i in po["item"].unique() if inv[inv["item"] == i]["location"].nunique() == 1
        )
    stock = inv[inv["item"] == item].set_index("ts")["on_order"]
    mine = po[po["item"] == item]
    ordered_day = _day_index(mine["ordered"])
    arrive_day = _day_index(mine["received"]).fillna(pd.Timestamp.max.normalize())
    for ts, value in stock.items():
        day = ts.tz_localize(None)
        open_qty = mine["quantity_ordered"][(ordered_day < day) & (arrive_day >= day)].sum()
        assert value == pytest.approx(open_qty)


def test_suppliers_are_late_and_short_sometimes(supply: Supply) -> None:
    po = supply.deliveries
    done = po.dropna(subset=["received"])
    late = done["received"] > done["promised"]
    short = done["quantity_received"] < done["quantity_ordered"]
    assert 0.05 < late.mean() < 0.5
    assert 0.01 < short.mean() < 0.3
    assert (done["quantity_received"] <= done["quantity_ordered"]).all()
    assert (po["promised"] > po["ordered"]).all()
    assert po["supplier"].nunique() >= 3
    assert po["received"].isna().any()  # some are still open at the end
    assert (po.loc[po["received"].isna(), "quantity_received"].isna()).all()
    # The least punctual supplier by design is also the latest in the data.
    worst = supply.suppliers.sort_values("on_time_rate")["supplier"].iloc[0]
    by_supplier = late.groupby(done["supplier"]).mean()
    assert by_supplier.idxmax() == worst
    items = supply.items
    assert (items["moq"] % items["pack_size"] == 0).all() and (items["moq"] > 0).all()
    assert set(items["supplier"]) <= set(supply.suppliers["supplier"])


def test_deterministic_and_sized_by_items() -> None:
    a = simulate_supply(START, START + pd.Timedelta(days=5), seed=2, items=7)
    b = simulate_supply(START, START + pd.Timedelta(days=5), seed=2, items=7)
    for name in ("items", "demand", "inventory", "deliveries", "patterns"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert len(a.items) == 7 and set(a.patterns["pattern"]) == set(PATTERNS)
    c = simulate_supply(START, START + pd.Timedelta(days=5), seed=3, items=7)
    assert not a.demand.equals(c.demand)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InputError, match="not after start"):
        simulate_supply(START, START, seed=1)
    with pytest.raises(InputError, match="items"):
        simulate_supply(START, END, seed=1, items=0)
