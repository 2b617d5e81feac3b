"""The value report on the 7-day demo lake (read-only), and on a lake that lacks models."""

from __future__ import annotations

import pandas as pd
import pytest

from shopfloor.config import Settings
from shopfloor.errors import NotFoundError
from shopfloor.lake import Lake
from shopfloor.workflows.value import TABLES, value_report, value_view
from tests.workflows.supply_lake import ingest_csv

DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def week_report(demo_week: Lake):  # type: ignore[no-untyped-def]
    before = {t: demo_week.version(t) for t in TABLES}
    report = value_report(demo_week)
    assert {t: demo_week.version(t) for t in TABLES} == before, "the report wrote to the lake"
    return report


def _lever(report, name):  # type: ignore[no-untyped-def]
    return next(lv for lv in report.levers if lv.name == name)


def test_every_lever_is_measured_on_the_demo_plant(week_report) -> None:  # type: ignore[no-untyped-def]
    assert [lv.name for lv in week_report.levers] == [
        "downtime", "maintenance", "scrap", "inventory",
    ]  # fmt: skip
    assert all(lv.measured for lv in week_report.levers)
    assert week_report.annual_benefit == pytest.approx(sum(lv.money for lv in week_report.levers))
    net = week_report.annual_benefit - week_report.running_cost
    assert week_report.net_annual == pytest.approx(net)
    assert week_report.payback_months == pytest.approx(12 * week_report.investment / net)
    # 12 machines with sensors x 1500 + integration 25000 (the defaults).
    assert week_report.investment == pytest.approx(12 * 1500 + 25_000)


def test_downtime_and_repairs_follow_the_lakes_failures_alerts_and_work_orders(
    demo_week: Lake, week_report
) -> None:  # type: ignore[no-untyped-def]
    failures = demo_week.sql(
        "SELECT asset, start, \"end\" FROM events WHERE kind = 'failure' ORDER BY start"
    )
    alerts = demo_week.sql("SELECT DISTINCT alert_id, asset, start FROM alerts")
    lead = pd.Timedelta(hours=demo_week.settings.maintenance.lead_time_h)
    caught = sum(
        (
            (alerts["asset"] == f.asset)
            & (alerts["start"] <= f.start - lead)
            & (alerts["start"] >= f.start - 7 * DAY)
        ).any()
        for f in failures.itertuples()
    )
    span = demo_week.sql('SELECT min(start) AS a, max(coalesce("end", start)) AS b FROM events')
    days = (span["b"].iloc[0] - span["a"].iloc[0]) / DAY
    assert 6.9 < days <= 7.0
    per_year = len(failures) * 365.25 / days * caught / len(failures)
    down_h = ((failures["end"] - failures["start"]) / pd.Timedelta(hours=1)).mean()
    orders = demo_week.sql("SELECT * FROM work_orders WHERE status = 'done'")
    planned = orders[orders["kind"] != "corrective"]
    planned_h = ((planned["end"] - planned["start"]) / pd.Timedelta(hours=1)).mean()
    corrective = orders.loc[orders["kind"] == "corrective", "cost"].mean()
    downtime = _lever(week_report, "downtime")
    upkeep = _lever(week_report, "maintenance")
    assert caught == len(failures) == 3  # the demo's alerts warn of every failure in time
    assert f"{caught} of {len(failures)} failures" in downtime.metric
    assert "in sample" in downtime.metric
    assert downtime.quantity == pytest.approx(per_year * (down_h - planned_h))
    assert downtime.money == pytest.approx(downtime.quantity * 2000.0)
    assert upkeep.money == pytest.approx(per_year * (corrective - planned["cost"].mean()))


def test_scrap_rests_on_spc_alarms_before_out_of_spec_parts(demo_week: Lake, week_report) -> None:  # type: ignore[no-untyped-def]
    outside = demo_week.sql(
        "SELECT count(*) AS n FROM inspections WHERE value < lsl OR value > usl"
    )["n"].iloc[0]
    scrap = _lever(week_report, "scrap")
    assert f"of {outside} came" in scrap.metric and outside > 0
    recorded = demo_week.sql(
        "SELECT sum(scrap) AS s FROM production WHERE asset IN "
        "(SELECT DISTINCT asset FROM inspections)"
    )["s"].iloc[0]
    assert 0 < scrap.quantity <= recorded * 365.25 / 6.9
    assert scrap.money == pytest.approx(scrap.quantity * 25.0)


def test_inventory_compares_the_replayed_policies_with_the_stock_held(week_report) -> None:  # type: ignore[no-untyped-def]
    stock = _lever(week_report, "inventory")
    assert stock.unit == "USD of stock"
    assert stock.money == pytest.approx(0.25 * stock.quantity)
    assert "52 weeks" in stock.evidence and "fill rate 95 %" in stock.metric


def test_settings_price_the_levers(demo_week: Lake, week_report) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        lake=demo_week.path,
        value={"repair_costs": "settings", "downtime_cost_per_hour": 4000.0, "currency": "EUR"},
    )
    priced = value_report(demo_week, settings)
    before, after = _lever(week_report, "downtime"), _lever(priced, "downtime")
    assert after.money == pytest.approx(2 * before.money)
    upkeep = _lever(priced, "maintenance")
    assert upkeep.money == pytest.approx(upkeep.quantity * (10_000.0 - 2_000.0))
    assert "maintenance.cost_failure" in upkeep.source and priced.currency == "EUR"


def test_the_report_spans_every_site(demo_week: Lake) -> None:
    with pytest.raises(NotFoundError, match="every site"):
        value_view(demo_week, frozenset({"ELSEWHERE"}))


EVENTS = """asset,start,end,kind,code
M1,2026-01-01T00:00:00Z,2026-01-05T00:00:00Z,state,running
M1,2026-01-03T10:00:00Z,2026-01-03T14:00:00Z,failure,bearing
M1,2026-01-10T00:00:00Z,2026-01-11T00:00:00Z,state,running
"""


def test_levers_without_a_model_are_not_measured(lake: Lake) -> None:
    ingest_csv(lake, "events", EVENTS, "events")
    report = value_report(lake)
    reasons = {lv.name: lv.metric for lv in report.levers}
    assert not any(lv.measured for lv in report.levers)
    assert all(lv.money is None and lv.quantity is None for lv in report.levers)
    assert "no alerts stored" in reasons["downtime"] == reasons["maintenance"]
    assert "no inspections" in reasons["scrap"]
    assert "no inventory policy" in reasons["inventory"]
    assert report.annual_benefit == 0.0 and report.payback_months is None


def test_a_clock_faults_stray_readings_do_not_stretch_the_alerts_window(demo_week: Lake) -> None:
    from shopfloor.workflows.value import _readings_span

    stray = demo_week.sql("SELECT max(ts) AS b FROM readings")["b"].iloc[0]
    assert stray > pd.Timestamp("2027-01-01", tz="UTC")  # the demo plants clock faults
    start, end = _readings_span(demo_week)
    assert start == pd.Timestamp("2026-10-25", tz="UTC")
    assert end is not None and end < pd.Timestamp("2026-11-01", tz="UTC")


def test_an_alert_is_false_without_a_failure_in_a_week_unless_judged_true() -> None:
    from shopfloor.workflows.value import _false_alarms

    alerts = pd.DataFrame(
        {
            "alert_id": ["a", "b", "c", "d"],
            "asset": ["M1", "M1", "M2", "M3"],
            "start": pd.to_datetime(
                ["2026-01-01", "2026-01-20", "2026-01-01", "2026-01-01"], utc=True
            ),
        }
    )
    failures = pd.DataFrame(
        {"asset": ["M1", "M2"], "ts": pd.to_datetime(["2026-01-05", "2026-01-09"], utc=True)}
    )
    # a: M1 fails 4 days later; b: nothing after; c: M2 fails 8 days later; d: judged true.
    assert _false_alarms(alerts, failures, set()) == (3, 0)
    assert _false_alarms(alerts, failures, {"d", "a"}) == (2, 1)
