"""Production analytics on the simulated plant: realistic figures, the designed bottleneck."""

from __future__ import annotations

import pandas as pd
import pytest

from shopfloor.demo_plant.layout import PlantLayout, default_layout
from shopfloor.demo_plant.operations import Operations, simulate_operations
from shopfloor.production import (
    GroupBy,
    compute_oee,
    downtime_pareto,
    find_bottlenecks,
    reliability,
    throughput,
)

START = pd.Timestamp("2024-03-04", tz="UTC")  # Monday


@pytest.fixture(scope="module")
def plant() -> tuple[PlantLayout, Operations]:
    layout = default_layout()
    return layout, simulate_operations(layout, START, START + pd.Timedelta(days=3), seed=5)


@pytest.mark.parametrize("by", ["asset", "line", "site"])
def test_oee_figures_are_realistic(plant: tuple[PlantLayout, Operations], by: GroupBy) -> None:
    layout, ops = plant
    assets = layout.assets_frame()
    daily = compute_oee(ops.events, ops.production, assets, by=by).frame
    assert len(daily) == {"asset": 12, "line": 2, "site": 1}[by] * 3
    for col in ("availability", "performance", "quality"):
        assert ((daily[col] > 0) & (daily[col] <= 1)).all(), col
    assert daily["oee"].between(0.3, 0.95).all()  # a bad day may dip lower
    # Over the three days (one week bucket) every asset, line and the site is in the band.
    weekly = compute_oee(ops.events, ops.production, assets, by=by, period="week")
    assert weekly.frame["oee"].between(0.4, 0.9).all()
    overall = weekly.overall
    assert 0.4 < overall.oee < 0.9
    assert overall.oee == pytest.approx(
        overall.availability * overall.performance * overall.quality
    )
    # Three weekdays of two 8 h shifts per machine, less planned maintenance.
    assert weekly.frame["planned_time_s"].sum() <= 12 * 3 * 16 * 3600


def test_shift_periods_cover_the_two_day_shifts(plant: tuple[PlantLayout, Operations]) -> None:
    layout, ops = plant
    table = compute_oee(ops.events, ops.production, layout.assets_frame(), period="shift").frame
    assert set(table["period_start"].dt.hour) == {6, 14}  # the night shift has no plan
    assert table["oee"].between(0.3, 1.0).all()


def test_the_designed_bottleneck_is_found(plant: tuple[PlantLayout, Operations]) -> None:
    layout, ops = plant
    result = find_bottlenecks(ops.events, layout.assets_frame())
    for line in layout.lines:
        assert result.bottleneck(line) == layout.bottleneck(line)
        row = result.frame.set_index("line").loc[line]
        assert row["momentary"] == layout.bottleneck(line)
        assert row["ratio"] > 5  # it stands out clearly


def test_losses_reliability_and_throughput_run_on_the_plant(
    plant: tuple[PlantLayout, Operations],
) -> None:
    layout, ops = plant
    pareto = downtime_pareto(ops.events)
    assert not pareto.empty and pareto["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    rel = reliability(ops.events)
    assert len(rel) == 12 and rel["failures"].sum() == (ops.events["kind"] == "failure").sum()
    out = throughput(ops.production, "day", by="line", assets=layout.assets_frame())
    assert set(out["group"]) == set(layout.lines)
    assert out["good_per_hour"].between(20, 120).all()  # about one part per 30-35 s in shift
