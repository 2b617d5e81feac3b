"""The value formulas on hand-computed numbers: levers, honesty about what is not measured,
totals and payback."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.twin.value import (
    AlertBacktest,
    AssetScrap,
    FailureHistory,
    ScrapEvidence,
    StockComparison,
    ValueCosts,
    inventory_lever,
    maintenance_levers,
    nonconforming_caught,
    not_measured,
    payback_months,
    scrap_lever,
    summarise,
    year_scale,
)

COSTS = ValueCosts(
    currency="EUR",
    downtime_per_hour=1000.0,
    scrap_per_part=20.0,
    holding_rate=0.2,
    investment=60_000.0,
    running_per_year=12_000.0,
)
# 73.05 days: a fifth of a year, so every count scales by exactly 5.
FIFTH = 365.25 / 5


def _history(**changes: object) -> FailureHistory:
    base: dict[str, object] = dict(
        days=FIFTH,
        failures=4,
        failure_downtime_h=8.0,
        planned_downtime_h=2.0,
        failure_cost=5000.0,
        planned_cost=1000.0,
        downtime_source="events",
        cost_source="work orders",
    )
    return FailureHistory(**(base | changes))  # type: ignore[arg-type]


def _backtest(caught: int = 3, false_alarms: int = 0, failures: int = 4) -> AlertBacktest:
    return AlertBacktest(
        model="condition:2",
        failures=failures,
        caught=caught,
        false_alarms=false_alarms,
        alerts=caught + false_alarms,
        lead_h=24.0,
        days=FIFTH,
        note="out of sample",
    )


def test_caught_failures_become_planned_repairs() -> None:
    downtime, upkeep = maintenance_levers(_history(), _backtest(caught=3), COSTS)
    # 4 failures x 5 = 20 a year, recall 3/4: 15 caught, each 8 h -> 2 h and 5000 -> 1000.
    assert downtime.quantity == pytest.approx(15 * 6.0)
    assert downtime.money == pytest.approx(15 * 6.0 * 1000.0)
    assert upkeep.quantity == pytest.approx(15.0)
    assert upkeep.money == pytest.approx(15 * 4000.0)
    assert downtime.measured and downtime.status == "measured"
    assert "recall 75 %: 3 of 4 failures" in downtime.metric
    assert "×5.0 to a year" in downtime.evidence
    assert downtime.source.startswith("condition:2")


def test_false_alarms_cost_a_planned_repair_each() -> None:
    clean, _ = maintenance_levers(_history(), _backtest(caught=4), COSTS)
    noisy, upkeep = maintenance_levers(_history(), _backtest(caught=4, false_alarms=2), COSTS)
    # Two false alarms in a fifth of a year: ten a year, 2 h and 1000 each.
    assert clean.quantity is not None and noisy.quantity is not None
    assert clean.quantity - noisy.quantity == pytest.approx(10 * 2.0)
    assert upkeep.money == pytest.approx(20 * 4000.0 - 10 * 1000.0)


def test_a_model_that_catches_nothing_only_costs() -> None:
    downtime, upkeep = maintenance_levers(_history(), _backtest(caught=0, false_alarms=1), COSTS)
    assert downtime.money is not None and downtime.money < 0
    assert upkeep.money == pytest.approx(-5 * 1000.0)


def test_backtests_and_costs_refuse_nonsense() -> None:
    with pytest.raises(InputError, match="caught"):
        _backtest(caught=5, failures=4)
    with pytest.raises(InputError, match="at least one failure"):
        _backtest(caught=0, failures=0)
    with pytest.raises(InputError) as info:
        ValueCosts("EUR", -1.0, 1.0, 0.2, 0.0, 0.0)
    assert info.value.field == "value.downtime_per_hour"
    with pytest.raises(InputError) as info:
        ValueCosts("EUR", 1.0, 1.0, 0.0, 0.0, 0.0)
    assert info.value.field == "value.holding_rate"
    with pytest.raises(InputError, match="cannot be scaled"):
        year_scale(0.0)
    with pytest.raises(InputError):
        _history(failure_cost=math.nan)


def _frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "asset": [r[0] for r in rows],
            "characteristic": [r[1] for r in rows],
            "ts": pd.to_datetime([r[2] for r in rows], utc=True),
        }
    )


def test_a_part_is_caught_after_the_reaction_time_and_within_the_lookback() -> None:
    alarms = _frame([("M1", "d", "2026-01-05 08:00"), ("M2", "d", "2026-01-05 08:00")])
    parts = _frame(
        [
            ("M1", "d", "2026-01-05 08:30"),  # before the reaction time is over
            ("M1", "d", "2026-01-05 09:00"),  # exactly one hour after: caught
            ("M1", "d", "2026-01-07 12:00"),  # within the week
            ("M1", "d", "2026-01-13 09:00"),  # more than a week after the alarm
            ("M1", "len", "2026-01-05 12:00"),  # another characteristic
            ("M3", "d", "2026-01-05 12:00"),  # another asset
            ("M1", "d", "2026-01-04 12:00"),  # before any alarm
        ]
    )
    caught = nonconforming_caught(parts, alarms, reaction_h=1.0, lookback_h=168.0)
    assert caught.tolist() == [False, True, True, False, False, False, False]
    assert not nonconforming_caught(parts, alarms.iloc[:0], reaction_h=1.0, lookback_h=1.0).any()


def test_scrap_avoided_is_the_caught_rate_of_the_parts_capped_by_the_scrap() -> None:
    drifting = AssetScrap("M1", parts=10_000, scrap=300, inspected=400, nonconforming=20, caught=8)
    capped = AssetScrap("M2", parts=10_000, scrap=50, inspected=100, nonconforming=10, caught=10)
    quiet = AssetScrap("M3", parts=10_000, scrap=90, inspected=100, nonconforming=0, caught=0)
    assert drifting.avoidable == pytest.approx(200.0)
    assert capped.avoidable == 50.0
    assert quiet.avoidable == 0.0
    evidence = ScrapEvidence(FIFTH, (drifting, capped, quiet), 1.0, "spc", "phase II alarms")
    lever = scrap_lever(evidence, COSTS)
    assert lever.quantity == pytest.approx(5 * 250.0)
    assert lever.money == pytest.approx(5 * 250.0 * 20.0)
    assert "18 of 30" in lever.metric and "60 %" in lever.metric


def test_inventory_reduction_is_worth_its_holding_cost() -> None:
    comparison = StockComparison.from_arrays(
        [10.0, 2.0],
        [100.0, 500.0],
        [60.0, 400.0],
        fill_rate=0.96,
        target="fill rate 95 %",
        periods=52,
        period="week",
        source="policies",
    )
    assert comparison.actual_value == 2000.0 and comparison.policy_value == 1400.0
    lever = inventory_lever(comparison, COSTS)
    assert lever.quantity == pytest.approx(600.0)
    assert lever.money == pytest.approx(0.2 * 600.0)
    assert lever.unit == "EUR of stock"
    assert "96.0 %" in lever.metric
    more = StockComparison.from_arrays(
        [1.0], [10.0], [30.0], fill_rate=0.99, target="x", periods=4, period="week", source=""
    )
    assert inventory_lever(more, COSTS).money == pytest.approx(-0.2 * 20.0)
    with pytest.raises(InputError):
        StockComparison.from_arrays(
            [1.0], [1.0, 2.0], [1.0], fill_rate=1.0, target="", periods=1, period="w", source=""
        )


def test_unmeasured_levers_are_shown_but_add_nothing() -> None:
    downtime, upkeep = maintenance_levers(_history(), _backtest(caught=4), COSTS)
    missing = not_measured("scrap", "no inspections in the lake")
    report = summarise([downtime, upkeep, missing], COSTS, ["linear scaling"])
    assert not missing.measured and missing.money is None and missing.quantity is None
    assert missing.status == "not measured" and missing.metric == "no inspections in the lake"
    assert downtime.money is not None and upkeep.money is not None
    assert report.annual_benefit == pytest.approx(downtime.money + upkeep.money)
    assert report.net_annual == pytest.approx(report.annual_benefit - 12_000.0)
    assert report.payback_months == pytest.approx(12 * 60_000.0 / report.net_annual)
    assert report.measured == (downtime, upkeep)
    frame = report.frame()
    assert frame["status"].tolist() == ["measured", "measured", "not measured"]
    assert report.to_dict()["levers"][2]["money"] is None
    with pytest.raises(InputError, match="twice"):
        summarise([missing, missing], COSTS)


def test_payback_needs_a_positive_net() -> None:
    assert payback_months(60_000.0, 120_000.0) == pytest.approx(6.0)
    assert payback_months(60_000.0, 0.0) is None
    assert payback_months(60_000.0, -5.0) is None
    assert payback_months(0.0, -5.0) == 0.0
    nothing = summarise([not_measured("inventory", "no policies")], COSTS)
    assert nothing.annual_benefit == 0.0 and nothing.payback_months is None
