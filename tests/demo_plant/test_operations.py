"""The simulated plant: tiling state timelines, shifts, failures, counts, quality, orders."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shopfloor.demo_plant.layout import PlantLayout, default_layout
from shopfloor.demo_plant.operations import GRID_S, STATES, Operations, simulate_operations
from shopfloor.errors import InputError
from shopfloor.schema import TABLES

START = pd.Timestamp("2024-03-04", tz="UTC")  # a Monday
END = START + pd.Timedelta(days=30)
CANONICAL = ("events", "production", "work_orders", "orders", "routings", "inspections")


@pytest.fixture(scope="module")
def layout() -> PlantLayout:
    return default_layout()


@pytest.fixture(scope="module")
def ops(layout: PlantLayout) -> Operations:
    return simulate_operations(layout, START, END, seed=7)


def _hours(frame: pd.DataFrame) -> pd.Series:
    return (frame["end"] - frame["start"]).dt.total_seconds() / 3600.0


def _states(ops: Operations) -> pd.DataFrame:
    return ops.events[ops.events["kind"] == "state"]


def _in_shift(ts: pd.Series) -> pd.Series:
    return (ts.dt.dayofweek < 5) & (ts.dt.hour >= 6) & (ts.dt.hour < 22)


@pytest.mark.parametrize("table", CANONICAL)
def test_frames_have_exactly_the_canonical_columns_and_types(ops: Operations, table: str) -> None:
    frame = getattr(ops, table)
    spec = TABLES[table]
    assert tuple(frame.columns) == spec.loadable
    schema = pa.schema([spec.schema.field(n) for n in spec.loadable])
    converted = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    assert converted.num_rows == len(frame) > 0
    for name in spec.required:  # required fields are never null
        assert frame[name].notna().all(), name
    for name in spec.loadable:
        if pa.types.is_timestamp(spec.schema.field(name).type):
            assert str(frame[name].dtype) == "datetime64[us, UTC]"


@pytest.mark.parametrize("table", CANONICAL)
def test_natural_keys_are_unique(ops: Operations, table: str) -> None:
    frame = getattr(ops, table)
    assert not frame.duplicated(list(TABLES[table].key)).any()


def test_states_tile_every_machine_timeline(ops: Operations, layout: PlantLayout) -> None:
    states = _states(ops)
    assert set(states["code"]) == set(STATES)
    assert set(states["asset"]) == {m.asset for m in layout.machines}
    for _, tl in states.groupby("asset"):
        tl = tl.sort_values("start")
        assert tl["start"].iloc[0] == START
        assert tl["end"].iloc[-1] == END
        assert (tl["end"].to_numpy()[:-1] == tl["start"].to_numpy()[1:]).all()  # no gap/overlap
        assert (tl["end"] > tl["start"]).all()


def test_nights_and_weekends_are_planned_stops(ops: Operations) -> None:
    states = _states(ops)
    planned = states[states["code"] == "planned_stop"]
    assert (~_in_shift(planned["start"])).all()
    others = states[states["code"] != "planned_stop"]
    assert _in_shift(others["start"]).all()
    # Per machine: every hour outside Mon-Fri 06:00-22:00 is a planned stop.
    weekdays = int((pd.date_range(START, END, inclusive="left").dayofweek < 5).sum())
    per_machine = _hours(planned).groupby(planned["asset"]).sum()
    assert np.allclose(per_machine, 30 * 24 - weekdays * 16)


def test_weekly_planned_maintenance_on_some_machines(ops: Operations) -> None:
    planned = ops.events[(ops.events["kind"] == "maintenance") & (ops.events["code"] == "planned")]
    per_machine = planned.groupby("asset").size()
    assert 1 <= per_machine.size < 12
    assert (per_machine >= 4).all()  # weekly over 30 days
    assert ((planned["start"].dt.hour == 6) & (planned["start"].dt.minute == 0)).all()
    assert _hours(planned).between(1.5, 2.5).all()


def test_bottleneck_almost_never_waits_others_wait_often_and_briefly(
    ops: Operations, layout: PlantLayout
) -> None:
    states = _states(ops)
    producing = states[states["code"].isin(["running", "starved", "blocked"])]
    share = (
        _hours(producing)
        .where(producing["code"] != "running", 0.0)
        .groupby(producing["asset"])
        .sum()
        / _hours(producing).groupby(producing["asset"]).sum()
    )
    for line in layout.lines:
        bottleneck = layout.bottleneck(line)
        assert share[bottleneck] < 0.03
        for m in layout.machines_on(line):
            if m.asset != bottleneck:
                assert share[m.asset] > 0.08
                waits = producing[
                    (producing["asset"] == m.asset) & (producing["code"] != "running")
                ]
                assert len(waits) > 500
                assert _hours(waits).median() * 60 < 5  # minutes
    # Upstream of the bottleneck machines wait for space, downstream for parts.
    first, last = ops.events["asset"] == "L1-M01", ops.events["asset"] == "L1-M06"
    assert "starved" not in set(states.loc[first, "code"])
    assert "blocked" not in set(states.loc[last, "code"])


def test_failures_are_down_states_with_events_and_corrective_work(ops: Operations) -> None:
    ev = ops.events
    fails = ev[ev["kind"] == "failure"]
    assert len(fails) >= 5  # several failures plant-wide in 30 days
    assert len(fails) == len(ops.failures)
    assert set(fails["code"]) <= {"bearing", "spindle", "hydraulic", "motor", "belt", "seal"}
    assert (ops.failures["health_before"] > 0.9).all()
    merged = fails.merge(ops.failures, left_on=["asset", "start"], right_on=["asset", "ts"])
    assert len(merged) == len(fails) and (merged["code"] == merged["mode"]).all()
    down = _states(ops)[_states(ops)["code"] == "down"]
    for row in fails.itertuples():
        at = down[(down["asset"] == row.asset) & (down["start"] == row.start)]
        assert len(at) == 1 and at["detail"].iloc[0] == row.code
        # 30 min to 8 h of repair, counted in shift time (a repair pauses overnight).
        pieces = down[(down["asset"] == row.asset) & (down["start"] >= row.start)]
        if pd.notna(row.end):
            pieces = pieces[pieces["end"] <= row.end]
            assert 0.5 <= _hours(pieces).sum() <= 8.0
    corrective = ops.work_orders[ops.work_orders["kind"] == "corrective"]
    assert len(corrective) == len(fails)
    maint = ev[(ev["kind"] == "maintenance") & (ev["code"] == "corrective")]
    assert len(maint) == len(fails)


def test_health_is_bounded_on_a_ten_minute_grid_and_resets(ops: Operations) -> None:
    h = ops.health
    assert h["health"].between(0.0, 1.0).all()
    assert len(h) == 12 * 30 * 24 * 3600 // GRID_S
    assert (h.groupby("asset")["ts"].diff().dropna() == pd.Timedelta(seconds=GRID_S)).all()
    for row in ops.failures.itertuples():
        mine = h[h["asset"] == row.asset].set_index("ts")["health"]
        assert mine[: row.ts].iloc[-1] > 0.9
        after = ops.events[
            (ops.events["asset"] == row.asset)
            & (ops.events["kind"] == "failure")
            & (ops.events["start"] == row.ts)
        ]["end"].iloc[0]
        if pd.notna(after):
            later = mine[after + pd.Timedelta(minutes=10) :]
            if len(later):
                assert later.iloc[0] < 0.2  # repaired as good as new (nearly)


def test_preventive_maintenance_resets_wear(ops: Operations) -> None:
    pm = ops.events[(ops.events["kind"] == "maintenance") & (ops.events["code"] == "preventive")]
    assert len(pm) >= 3
    states = _states(ops)
    for row in pm.itertuples():
        at = states[(states["asset"] == row.asset) & (states["start"] == row.start)]
        assert at["code"].iloc[0] == "maintenance" and at["detail"].iloc[0] == "preventive"
        mine = ops.health[ops.health["asset"] == row.asset].set_index("ts")["health"]
        if pd.notna(row.end) and len(mine[row.end + pd.Timedelta(minutes=10) :]):
            before = mine[: row.start].iloc[-1]
            after = mine[row.end + pd.Timedelta(minutes=10) :].iloc[0]
            assert after < before and after < 0.1


def test_changeovers_change_product_and_take_10_to_40_minutes(ops: Operations) -> None:
    co = ops.events[ops.events["kind"] == "changeover"]
    assert len(co) > 50
    pairs = co["code"].str.split("->", expand=True)
    assert (pairs[0] != pairs[1]).all()
    # In shift time: a changeover begun late in a shift finishes the next morning.
    same_shift = co["end"].notna() & (co["start"].dt.normalize() == co["end"].dt.normalize())
    assert (_hours(co[same_shift]) * 60).between(10, 40).all()
    assert same_shift.mean() > 0.8
    states = _states(ops)
    # A breakdown during a changeover hides it; otherwise each shows as a state.
    assert (states["code"] == "changeover").sum() >= 0.95 * len(co)


def test_counts_follow_running_time_slower_than_ideal(ops: Operations) -> None:
    prod = ops.production
    states = _states(ops)
    run = _hours(states[states["code"] == "running"]).groupby(states["asset"]).sum() * 3600
    total = prod["good"] + prod["scrap"]
    ideal = (total * prod["ideal_cycle_s"]).groupby(prod["asset"]).sum()
    ratio = ideal / run  # ideal cycle / actual cycle: 5-15 % slower
    assert ratio.between(1 / 1.16, 1 / 1.04).all(), ratio
    assert (prod["good"] >= 0).all() and (prod["scrap"] >= 0).all()
    assert (_hours(prod) <= 1.0 + 1e-9).all()  # hourly (or shorter, at order changes)


def test_scrap_and_inspections_worsen_with_wear(ops: Operations) -> None:
    prod = ops.production.copy()
    prod["mid"] = prod["start"] + (prod["end"] - prod["start"]) / 2
    h = ops.health.sort_values("ts")
    prod = pd.merge_asof(prod.sort_values("mid"), h, left_on="mid", right_on="ts", by="asset")
    worn = prod["health"] > 0.6
    rate = lambda p: p["scrap"].sum() / (p["good"] + p["scrap"]).sum()  # noqa: E731
    assert rate(prod[~worn & (prod["health"] < 0.2)]) < 0.02
    assert rate(prod[worn]) > 2 * rate(prod[~worn])
    insp = pd.merge_asof(
        ops.inspections.sort_values("ts"),
        h.rename(columns={"ts": "hts"}),
        left_on="ts",
        right_on="hts",
        by="asset",
    )
    fail = insp["verdict"] == "fail"
    assert fail[insp["health"] > 0.8].mean() > 5 * max(fail[insp["health"] < 0.3].mean(), 1e-3)


def test_inspections_verdicts_and_volume(ops: Operations) -> None:
    insp = ops.inspections
    inside = (insp["value"] >= insp["lsl"]) & (insp["value"] <= insp["usl"])
    assert ((insp["verdict"] == "pass") == inside).all()
    assert insp.loc[~inside, "label"].isin(["oversize", "undersize"]).all()
    assert insp.loc[inside, "label"].isna().all()
    per_weekday = insp[insp["ts"].dt.dayofweek < 5].groupby(insp["ts"].dt.date).size()
    assert per_weekday.between(150, 600).all()  # a few hundred a day
    assert set(insp["characteristic"]) == {"diameter_mm", "length_mm"}


def test_orders_and_routings_match_what_is_made(ops: Operations, layout: PlantLayout) -> None:
    prod, orders, routings = ops.production, ops.orders, ops.routings
    assert set(prod["order"]) <= set(orders["order"])
    made = prod.merge(orders, on="order")
    assert (made["product"] == made["item"]).all()
    assert set(orders["item"]) == set(routings["item"])
    assert set(orders["status"]) >= {"done", "planned"}
    done = orders[orders["status"] == "done"]
    assert (done["due"] > done["release"]).all()
    ops_per_item = routings.groupby("item")["op_seq"].nunique()
    assert (ops_per_item == 6).all()
    eligible = routings.groupby(["item", "op_seq"])["machine"].nunique()
    assert set(eligible) == {1, 2}  # some operations are flexible
    assert set(routings["machine"]) == {m.asset for m in layout.machines}
    # The home-line machine of each operation runs at its ideal cycle time.
    ideal = {m.asset: m.ideal_cycle_s for m in layout.machines}
    home = routings[routings["machine"].str[:2] == "L" + routings["item"].str[1]]
    assert np.allclose(home["processing_s"], home["machine"].map(ideal))
    assert routings["setup_s"].between(600, 2400).all()


def test_work_orders_one_per_maintenance(ops: Operations) -> None:
    wo = ops.work_orders
    maint = ops.events[ops.events["kind"] == "maintenance"]
    done_or_running = wo[wo["status"].isin(["done", "in_progress"])]
    assert len(done_or_running) == len(maint)
    assert set(wo["status"]) <= {"open", "in_progress", "done", "cancelled"}
    assert set(wo["kind"]) == {"corrective", "preventive"}
    done = wo[wo["status"] == "done"]
    assert (done["end"] > done["start"]).all() and (done["start"] >= done["created"]).all()
    assert (done["cost"] > 0).all()
    assert wo["work_order"].is_unique


def test_same_seed_same_plant_other_seed_other_plant(layout: PlantLayout) -> None:
    end = START + pd.Timedelta(days=3)
    a = simulate_operations(layout, START, end, seed=3)
    b = simulate_operations(layout, START, end, seed=3)
    c = simulate_operations(layout, START, end, seed=4)
    for name in ("events", "production", "health", "inspections", "work_orders", "orders"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.events.equals(c.events)


def test_naive_timestamps_are_utc_and_odd_starts_work(layout: PlantLayout) -> None:
    start = pd.Timestamp("2024-03-06 13:37:05")
    ops = simulate_operations(layout, start, start + pd.Timedelta(hours=30), seed=1)
    states = _states(ops)
    assert states.groupby("asset")["start"].min().eq(start.tz_localize("UTC")).all()
    assert np.allclose(_hours(states).groupby(states["asset"]).sum(), 30.0)


def test_end_before_start_is_refused(layout: PlantLayout) -> None:
    with pytest.raises(InputError, match="not after start"):
        simulate_operations(layout, START, START, seed=1)


@pytest.mark.slow
def test_twelve_machines_thirty_days_in_under_twenty_seconds(layout: PlantLayout) -> None:
    began = time.perf_counter()
    simulate_operations(layout, START, END, seed=11)
    assert time.perf_counter() - began < 20.0
