"""The twin over the 7-day demo lake (read-only: the twin never writes)."""

from __future__ import annotations

import numpy as np

from shopfloor.lake import Lake
from shopfloor.workflows import joint_plan, twin


def test_twin_is_calibrated_from_the_lake(demo_week: Lake) -> None:
    plant = twin.plant_from_lake(demo_week)
    assert [ln.line for ln in plant.lines] == ["L1", "L2"]
    for line in plant.lines:
        assert [m.position for m in line.machines] == list(range(6))
        assert line.bottleneck.asset.endswith("M04")  # the demo's designed bottleneck
        assert line.orders and all(o.quantity > 0 for o in line.orders)
    assert 0.05 < plant.detect_fraction < 0.95


def test_replayed_history_matches_the_lake_within_5_percent(demo_week: Lake) -> None:
    check = twin.validate(demo_week, replications=2)
    for line in check.lines:
        assert abs(line.throughput_error) <= 0.05, line
        assert abs(line.oee_error) <= 0.05, line
    assert check.within


def test_joint_planning_beats_run_to_failure_on_downtime(demo_week: Lake) -> None:
    study = twin.compare_policies(demo_week, replications=4, horizon_days=7, workers=1)
    names = [r.scenario.name for r in study.results]
    assert names == ["run_to_failure", "fixed_interval", "sequential", "co_optimised"]
    rtf = next(c for c in study.comparisons if c.baseline == "run_to_failure")
    assert rtf.difference["unplanned_downtime_h"].mean < 0
    assert np.isfinite(study.fixed_interval_h) and study.fixed_interval_h > 0


def test_plan_places_each_predicted_asset(demo_week: Lake) -> None:
    plan = joint_plan.plan_maintenance(demo_week)
    assert len(plan.frame) > 0
    assert (plan.frame["joint_start"] >= plan.origin).all()
    # an off-shift window is only chosen outside the working calendar (22:00-06:00, weekends)
    off = plan.frame[plan.frame["off_shift"]]
    for ts in off["joint_start"]:
        assert ts.hour >= 22 or ts.hour < 6 or ts.dayofweek >= 5
