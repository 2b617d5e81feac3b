"""Live scoring: the monitor's per-row statistic on arrays, and the alarm's hysteresis."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError, ModelError
from shopfloor.maintenance.condition import ConditionMonitor
from shopfloor.maintenance.live import AlarmRules, LiveAlarm, LiveModel, live_scores
from tests.maintenance.condition_data import machine_buckets


def _messy(seed: int) -> pd.DataFrame:
    """Worn test data with gaps, a machine at rest and values below the log floor."""
    frame = machine_buckets(seed=seed, wear_from=600)
    frame.iloc[5, 1] = np.nan
    frame.iloc[7, 1:3] = np.nan
    frame.iloc[8, 1:4] = np.nan  # no signal at all: no score
    frame.iloc[9, 0] = 10.0  # at rest: not scored
    frame.iloc[11, 0] = np.nan
    frame.iloc[13, 2] = 0.0  # below eps before the log
    frame.iloc[15, 0] = 2500.0  # beyond nominal: the top bin
    return frame


@pytest.mark.parametrize(("bins", "log_scale"), [(10, True), (4, False), (7, True)])
def test_live_scores_equal_the_monitors_unsmoothed_rows(bins: int, log_scale: bool) -> None:
    # 10-minute buckets smoothed over 10 minutes: each period is exactly one row.
    monitor = ConditionMonitor(bins=bins, log_scale=log_scale, smoothing="10min")
    monitor.fit(machine_buckets(seed=1))
    test = _messy(seed=3)
    model = LiveModel.from_monitor("M1", monitor)
    score, sigma = live_scores(model, test[list(model.signals)], test["speed"])

    expected = monitor.score(test)
    rows = test.index.isin(expected.index)
    assert (~rows).sum() == 2  # the rows at rest / without context
    assert np.isnan(score[~rows]).all() and np.isnan(sigma[~rows]).all()
    np.testing.assert_array_equal(sigma[rows], expected.deviation_sigma.to_numpy())
    np.testing.assert_array_equal(score[rows], expected.score)
    assert np.isnan(score[8]) and np.isfinite(score[5]) and np.isfinite(score[13])
    assert np.nanmax(score) > 3 * model.threshold  # the wear shows


def test_hourly_median_of_live_sigmas_is_the_monitors_smoothed_score() -> None:
    """Live = the monitor's statistic before smoothing, not some other statistic."""
    monitor = ConditionMonitor().fit(machine_buckets(seed=4))
    test = _messy(seed=5)
    model = LiveModel.from_monitor("M1", monitor)
    _, sigma = live_scores(model, test[list(model.signals)], test["speed"])
    frame = pd.DataFrame(sigma, index=test.index, columns=model.signals)
    frame = frame[np.isfinite(test["speed"]) & (test["speed"] >= model.min_usable)]
    hourly = frame.groupby(frame.index.floor("1h")).median()
    smoothed = hourly.clip(lower=0.0).median(axis=1, skipna=True).to_numpy()
    np.testing.assert_allclose(smoothed, monitor.score(test).score, rtol=0, atol=1e-12)


def test_live_model_round_trips_through_json() -> None:
    monitor = ConditionMonitor(bins=6).fit(machine_buckets(seed=6))
    model = LiveModel.from_monitor("press 7", monitor)
    data = json.loads(json.dumps(model.to_dict(), allow_nan=False))
    again = LiveModel.from_dict(data)
    assert again.to_dict() == model.to_dict()
    np.testing.assert_array_equal(again.centre, model.centre)
    assert again.centre.shape == (8, 3) and again.signals == ("vibration", "acoustic", "current")
    del data["scale"]
    with pytest.raises(InputError, match="field 'scale'"):
        LiveModel.from_dict(data, source="manifest.json")
    data["scale"] = [1.0, 2.0]  # one short
    with pytest.raises(InputError, match="do not fit"):
        LiveModel.from_dict(data)


def test_live_scores_refuse_wrong_shapes() -> None:
    model = LiveModel.from_monitor("M", ConditionMonitor().fit(machine_buckets(seed=7)))
    with pytest.raises(ModelError, match=r"\(n, 3\)"):
        live_scores(model, np.ones((4, 2)), np.ones(4))
    with pytest.raises(ModelError):
        live_scores(model, np.ones((4, 3)), np.ones(5))


SIGNALS = ("a", "b", "c", "d")


def _feed(alarm: LiveAlarm, scores: list[float]) -> list[tuple[int, str]]:
    out = []
    for i, value in enumerate(scores):
        sigma = np.array([value, -2 * value, 0.5, np.nan])
        change = alarm.update(1_000 * i, value, sigma)
        if change is not None:
            out.append((i, change.kind))
    return out


def test_alarm_needs_consecutive_rows_and_ignores_nan() -> None:
    alarm = LiveAlarm("M", 2.0, SIGNALS, on_after=3, off_after=4)
    # Two above, one below: the run restarts; NaN (at rest) neither counts nor resets.
    scores = [3, 3, 1, 3, np.nan, 3, 3.5, 1, 1, 1, 2.5, 1, 1, 1, 1]
    assert _feed(alarm, scores) == [(6, "raised"), (14, "cleared")]
    assert not alarm.on


def test_alarm_raises_at_once_far_above_and_names_the_top_signals() -> None:
    alarm = LiveAlarm("M", 2.0, SIGNALS, on_after=3, off_after=2)
    change = alarm.update(5, 4.5, np.array([4.5, -9.0, 0.5, np.nan]))
    assert change is not None and change.kind == "raised" and change.ts_us == 5
    # Ordered by |sigma|, signed values kept, NaN signals never named.
    assert change.top == (("b", -9.0), ("a", 4.5), ("c", 0.5))
    assert alarm.update(6, 7.0, None) is None
    assert alarm.update(7, 1.0, None) is None
    cleared = alarm.update(8, 0.5, None)
    assert cleared is not None and cleared.kind == "cleared"
    assert cleared.peak_score == 7.0 and cleared.top == change.top
    # A lone row above the threshold after clearing pages nobody.
    assert alarm.update(9, 3.0, None) is None and alarm.update(10, 1.0, None) is None


def test_alarm_rules_are_checked() -> None:
    with pytest.raises(ModelError):
        AlarmRules(on_after=0)
    with pytest.raises(ModelError):
        LiveAlarm("M", 1.0, SIGNALS, upper_factor=0.5)


def test_live_module_does_not_import_pandas() -> None:
    code = (
        "import sys, shopfloor.maintenance.live; "
        "print([m for m in ('pandas', 'pyarrow', 'duckdb') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
