"""Condition monitor: normal per speed band, calibrated threshold, explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError, NotFittedError
from shopfloor.maintenance.condition import ConditionMonitor, FleetConditionMonitor
from tests.maintenance.condition_data import machine_buckets


def test_normal_data_stays_below_threshold_and_wear_goes_above() -> None:
    normal = machine_buckets(seed=1)
    monitor = ConditionMonitor(false_alarm_rate=0.01, min_threshold=3.0).fit(normal)
    fresh = monitor.score(machine_buckets(seed=2))
    assert fresh.is_anomaly.mean() <= 0.02
    worn = monitor.score(machine_buckets(seed=3, wear_from=6 * 24 * 5))
    assert not worn.is_anomaly[:100].any()
    assert worn.is_anomaly[-24:].all()
    # Hourly smoothing: one row per hour of data.
    assert len(worn.index) == 24 * 10


def test_speed_changes_alone_raise_nothing() -> None:
    """A machine idling more than usual is not a fault: normal is per speed band."""
    normal = machine_buckets(seed=4)
    monitor = ConditionMonitor().fit(normal)
    idle = machine_buckets(seed=5)
    idle["speed"] = idle["speed"].clip(upper=600.0)
    idle[["vibration", "acoustic", "current"]] = machine_buckets(seed=5)[
        ["vibration", "acoustic", "current"]
    ].where(idle["speed"] < 600, np.nan)
    rows = idle.dropna()
    assert monitor.score(rows).is_anomaly.mean() < 0.05


def test_explanation_names_the_worn_signal_in_units_and_sigmas() -> None:
    monitor = ConditionMonitor().fit(machine_buckets(seed=6))
    data = machine_buckets(seed=7, wear_from=0, wear_gain=1.6)
    result = monitor.score(data)
    observed = monitor.smoothed(data)
    top = result.explain(len(result.index) - 1, observed, top=2, units={"vibration": "mm/s"})
    assert top[0].signal == "vibration" and top[0].sigma > 5
    assert top[0].value > top[0].expected
    text = top[0].describe()
    assert text.startswith("vibration ") and "above its normal" in text and "mm/s" in text


def test_one_faulty_sensor_cannot_raise_an_alarm_alone() -> None:
    monitor = ConditionMonitor().fit(machine_buckets(seed=8))
    data = machine_buckets(seed=9)
    data["acoustic"] = data["acoustic"] * 1.8  # a unit fault on one channel
    assert monitor.score(data).is_anomaly.mean() < 0.05


def test_errors() -> None:
    with pytest.raises(NotFittedError):
        ConditionMonitor().score(machine_buckets(hours=2))
    with pytest.raises(InputError, match="lacks column"):
        ConditionMonitor(context="rpm").fit(machine_buckets())
    with pytest.raises(InputError, match="indexed by timestamp"):
        ConditionMonitor().fit(machine_buckets().reset_index(drop=True))
    stopped = machine_buckets()
    stopped["speed"] = 0.0
    with pytest.raises(InputError, match="rows of normal operation"):
        ConditionMonitor().fit(stopped)


def test_fleet_scores_each_asset_with_its_own_monitor() -> None:
    a, b = machine_buckets(seed=10), machine_buckets(seed=11)
    b[["vibration", "current"]] *= 3.0  # a bigger machine: its own normal
    normal = pd.concat([a.assign(asset="A"), b.assign(asset="B")])
    fleet = FleetConditionMonitor(template=ConditionMonitor()).fit(normal)
    scores = fleet.score(normal)
    assert set(scores) == {"A", "B"}
    assert all(r.is_anomaly.mean() < 0.05 for r in scores.values())
    with pytest.raises(InputError, match="'asset' column"):
        FleetConditionMonitor().fit(a)
