"""Energy workflow on the 7-day demo plant (read-only): machine power and kWh per good part."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from shopfloor.config import Settings
from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.workflows import energy as workflow

pytestmark = pytest.mark.slow  # the shared demo_week lake takes ~25 s to build


def test_machine_power_from_motor_current(demo_week: Lake) -> None:
    power = workflow.machine_power_from_lake(demo_week)
    frame = power.frame.set_index("asset")
    machines = demo_week.sql("SELECT asset FROM assets WHERE level = 'machine'")["asset"]
    assert sorted(frame.index) == sorted(machines)
    # The demo's drives: full load running, idling spindles when starved or blocked,
    # de-energised when down or off shift.
    assert (frame["running_kw"] > 3 * frame["idle_kw"]).all()
    assert (frame["idle_kw"] > 5 * frame["off_kw"]).all()
    assert (frame["running_h"] > 24).all() and (frame["idle_h"] > 1).all()
    # The conversion is the three-phase formula on the mean running current.
    current = demo_week.sql(
        "SELECT avg(r.value) FROM readings r JOIN events e ON r.asset = e.asset "
        "AND r.ts >= e.start AND r.ts < e.\"end\" WHERE r.asset = 'L1-M01' "
        "AND r.signal = 'motor_current' AND e.kind = 'state' AND e.code = 'running' "
        "AND r.value BETWEEN 0 AND 120"
    ).iloc[0, 0]
    expected = math.sqrt(3) * 400 * current * 0.85 / 1000
    assert frame.loc["L1-M01", "running_kw"] == pytest.approx(expected, rel=0.01)
    # Power is linear in the configured voltage.
    half = Settings(lake=demo_week.path, energy={"voltage_v": 200.0})
    halved = workflow.machine_power_from_lake(demo_week, half).frame.set_index("asset")
    np.testing.assert_allclose(halved["running_kw"], frame["running_kw"] / 2, rtol=1e-9)


def test_energy_report_adds_up(demo_week: Lake) -> None:
    result = workflow.energy_report(demo_week)
    by_asset, by_line, by_product = result.by_asset, result.by_line, result.by_product
    assert set(by_line["line"]) == {"L1", "L2"}
    assert by_asset["kwh"].sum() == pytest.approx(result.total_kwh)
    assert by_line["kwh"].sum() == pytest.approx(result.total_kwh)
    assert by_product["kwh"].sum() == pytest.approx(result.total_kwh)  # every machine made parts
    assert result.unallocated_kwh == 0.0
    # A line's good parts are those of its last machine; products add up to the lines.
    last = by_asset.set_index("asset").loc[["L1-M06", "L2-M06"], "good"]
    assert by_line["good"].tolist() == last.tolist()
    assert by_product["good"].sum() == pytest.approx(by_line["good"].sum())
    assert result.kwh_per_good == pytest.approx(result.total_kwh / result.good)
    assert 0.1 < result.kwh_per_good < 10
    assert result.currency == "EUR"
    assert result.cost is not None
    assert 0.0485 * result.total_kwh < result.cost < 0.06603 * result.total_kwh
    assert (by_asset["cost_per_good"] > 0).all()


def test_a_window_and_a_site_selection(demo_week: Lake) -> None:
    whole = workflow.energy_report(demo_week)
    day = workflow.energy_report(
        demo_week, start="2026-10-28", end="2026-10-29", assets=["L1-M01", "L1-M02"]
    )
    assert sorted(day.by_asset["asset"]) == ["L1-M01", "L1-M02"]
    assert 0 < day.total_kwh < whole.total_kwh / 5
    samples = workflow.power_samples(demo_week, start="2026-10-28", end="2026-10-29")
    assert samples["ts"].min() >= pd.Timestamp("2026-10-28", tz="UTC")
    assert samples["ts"].max() < pd.Timestamp("2026-10-29", tz="UTC")
    with pytest.raises(InputError, match="end"):
        workflow.energy_report(demo_week, start="2026-10-29", end="2026-10-28")
    nothing = Settings(lake=demo_week.path, energy={"power_signal": "no_such_signal"})
    # Without the signal nothing is measured (the demo has no 'power' signals).
    with pytest.raises(InputError, match=r"energy\.power_signal"):
        workflow.machine_power_from_lake(demo_week, nothing)
