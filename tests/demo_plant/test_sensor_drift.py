"""The planted sensor drift: only its sensor, from its start, growing linearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopfloor.demo_plant.sensor_drift import SensorDrift, apply_sensor_drift
from shopfloor.errors import InputError


def readings() -> pd.DataFrame:
    ts = pd.date_range("2026-10-01", periods=4 * 24, freq="h", tz="UTC")
    frames = [
        pd.DataFrame({"asset": asset, "signal": signal, "ts": ts, "value": 5.0})
        for asset in ("M1", "M2")
        for signal in ("pressure", "temperature")
    ]
    return pd.concat(frames, ignore_index=True)


def test_only_the_named_sensor_drifts_from_its_start() -> None:
    drift = SensorDrift("M1", "pressure", pd.Timestamp("2026-10-02"), per_day=0.5)
    assert drift.start.tzinfo is not None  # naive times are UTC
    before = readings()
    after = apply_sensor_drift(before, drift)
    mine = (after["asset"] == "M1") & (after["signal"] == "pressure")
    pd.testing.assert_frame_equal(after[~mine], before[~mine])
    moved = after[mine].set_index("ts")["value"] - 5.0
    assert (moved[moved.index <= drift.start] == 0).all()
    assert moved[pd.Timestamp("2026-10-03", tz="UTC")] == pytest.approx(0.5)
    assert moved[pd.Timestamp("2026-10-04 12:00", tz="UTC")] == pytest.approx(1.25)
    assert np.all(np.diff(moved.to_numpy()) >= 0)
    assert (before["value"] == 5.0).all()  # the input is not changed
    assert drift.as_row()["per_day"] == 0.5


def test_a_drift_of_nothing_is_refused() -> None:
    with pytest.raises(InputError, match="no readings of M9 / pressure"):
        apply_sensor_drift(readings(), SensorDrift("M9", "pressure", pd.Timestamp("2026-10-02"), 1))
    with pytest.raises(InputError, match="finite"):
        SensorDrift("M1", "pressure", pd.Timestamp("2026-10-02"), float("nan"))
