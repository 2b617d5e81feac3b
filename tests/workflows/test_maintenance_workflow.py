"""Maintenance on the demo plant: the acceptance figures, alerts in the lake, the registry.

Shares the 30-day demo plant of ``tests/conftest.py`` (seed 11): ``run_demo`` already
trained, scored and stored alerts, and measured them against the simulator's failures.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.workflows import maintenance


@pytest.mark.slow
def test_demo_alerts_meet_the_acceptance_figures(demo_plant) -> None:  # type: ignore[no-untyped-def]
    _, summary = demo_plant
    ev = summary.maintenance.evaluation
    assert ev.failures >= 8, "too few planted failures to judge"
    assert ev.recall >= 0.80, f"{ev.detected}/{ev.failures} failures alerted 24 h ahead"
    assert ev.false_alarm_rate <= 0.025, f"false alarms {ev.false_alarm_rate:.2%} of asset-days"


@pytest.mark.slow
def test_alerts_are_stored_explained_and_managed(demo_plant) -> None:  # type: ignore[no-untyped-def]
    lake, summary = demo_plant
    stored = maintenance.alerts(lake)
    assert len(stored) >= len(summary.maintenance.alerts) > 0
    first = stored.iloc[0]
    assert first["model"] == "condition" and first["model_version"] >= 1
    assert "σ" in first["explanation"] and "normal" in first["explanation"]
    detail = json.loads(first["signals"])
    assert {"signal", "value", "normal", "sigma", "unit"} <= set(detail[0])
    # Scoring the same data twice stores nothing the second time. (Other tests may have
    # promoted another model or repaired the readings since the demo ran, so the first
    # pass may add or extend alerts.)
    maintenance.score(lake)
    count = len(maintenance.alerts(lake))
    assert maintenance.score(lake).alerts_written == 0
    assert len(maintenance.alerts(lake)) == count
    stored = maintenance.alerts(lake)
    first = stored.iloc[0]
    alert_id = str(first["alert_id"])
    maintenance.set_alert_state(lake, alert_id, "acknowledged", "planner: parts ordered")
    now = maintenance.alerts(lake, state="acknowledged")
    assert alert_id in set(now["alert_id"])
    assert now.set_index("alert_id").loc[alert_id, "note"] == "planner: parts ordered"
    # History is kept: two rows for that alert in the raw table.
    history = lake.sql("SELECT state FROM alerts WHERE alert_id = ?", [alert_id])
    assert sorted(history["state"]) == ["acknowledged", "open"]
    with pytest.raises(InputError, match="no alert"):
        maintenance.set_alert_state(lake, "nope", "closed")
    with pytest.raises(InputError, match="state must be"):
        maintenance.set_alert_state(lake, alert_id, "fixed")


@pytest.mark.slow
def test_models_record_their_training_data(demo_plant) -> None:  # type: ignore[no-untyped-def]
    lake, _ = demo_plant
    registry = maintenance.registry(lake)
    condition = registry.get("condition")
    assert condition.stage == "production"
    assert condition.training_data["work_orders"] == lake.version("work_orders")
    assert set(condition.training_data) & {"readings", "readings_clean"}
    rul = registry.get("rul")
    assert rul.metrics["failure_level"] > 0


@pytest.mark.slow
def test_rul_outlook_gives_a_safe_date_per_asset(demo_plant) -> None:  # type: ignore[no-untyped-def]
    _, summary = demo_plant
    outlook = summary.maintenance.outlook
    assert outlook is not None
    assert len(outlook.recommendations) == 12
    for r in outlook.recommendations:
        assert r.rul_lower <= r.rul_hours <= r.rul_upper
        assert outlook.now <= r.latest_safe <= outlook.now + pd.Timedelta(days=31)
        assert r.order_by == r.latest_safe - pd.Timedelta(hours=24)


def test_training_on_an_empty_lake_is_a_clear_error(lake) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="no readings"):
        maintenance.train(lake)
    assert maintenance.alerts(lake).empty
