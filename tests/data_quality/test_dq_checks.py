"""Each data-quality check on small hand-made frames: what it flags and what it leaves alone."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from dq_frames import START, frame, noisy, signals, stamps

from shopfloor.config import QualitySettings
from shopfloor.data_quality import (
    ALL_CHECKS,
    QualityIssue,
    duplicate,
    future_timestamp,
    gap,
    missing,
    out_of_order,
    out_of_range,
    run_checks,
    spike,
    stale,
    stuck,
    unit_shift,
)

SIGNALS = signals()


def only(issues: list[QualityIssue]) -> QualityIssue:
    assert len(issues) == 1, issues
    return issues[0]


# ---------------------------------------------------------------- missing


def test_missing_reports_each_null_run_with_its_span() -> None:
    values = noisy(200)
    values[50:60] = np.nan
    values[120] = np.nan
    issues = missing(frame(values), SIGNALS)
    assert [i.rows for i in issues] == [10, 1]
    ts = stamps(200)
    assert issues[0].start == ts[50] and issues[0].end == ts[59]
    assert issues[0].check == "missing" and issues[0].signal == "temperature"


def test_missing_is_silent_without_nulls() -> None:
    assert missing(frame(noisy(200)), SIGNALS) == []


# ---------------------------------------------------------------- gap


def test_gap_reports_the_samples_around_each_hole() -> None:
    data = frame(noisy(300)).drop(index=range(100, 130)).reset_index(drop=True)
    issue = only(gap(data, SIGNALS))
    ts = stamps(300)
    assert issue.start == ts[99] and issue.end == ts[130]
    assert issue.rows == 30


def test_gap_infers_the_period_when_the_signal_table_has_none() -> None:
    data = frame(noisy(300)).drop(index=range(100, 110)).reset_index(drop=True)
    assert len(gap(data, signals(period_s=np.nan))) == 1
    assert len(gap(data, SIGNALS.iloc[0:0])) == 1


def test_gap_ignores_regular_spacing_duplicates_and_future_rows() -> None:
    data = frame(noisy(300))
    repeated = pd.concat([data, data.iloc[40:60]], ignore_index=True)
    future = frame([41.0], ts=pd.Series([START + pd.Timedelta(days=20)]))
    mixed = pd.concat([repeated, future], ignore_index=True)
    assert gap(mixed, SIGNALS, now=START + pd.Timedelta(hours=1)) == []


# ---------------------------------------------------------------- out of range


def test_out_of_range_merges_a_sentinel_run_and_counts_infinities() -> None:
    values = noisy(200)
    values[10:15] = -999.0
    values[100] = np.inf
    issues = out_of_range(frame(values), SIGNALS)
    assert [i.rows for i in issues] == [5, 1]
    assert issues[0].severity == "critical"


def test_out_of_range_skips_signals_without_limits_and_keeps_the_limits_themselves() -> None:
    values = noisy(200)
    values[10:15] = -999.0
    assert out_of_range(frame(values), signals(lower=np.nan, upper=np.nan)) == []
    values = noisy(200)
    values[20] = 150.0  # exactly the upper limit of temperature
    assert out_of_range(frame(values), SIGNALS) == []


# ---------------------------------------------------------------- stuck


def test_stuck_reports_a_flat_line_even_through_nulls() -> None:
    values = noisy(300)
    values[100:140] = values[100]
    values[120] = np.nan
    issue = only(stuck(frame(values), SIGNALS))
    assert issue.rows == 39
    assert issue.start == stamps(300)[100]


def test_stuck_needs_the_minimum_run_and_plausible_values() -> None:
    values = noisy(300)
    values[100:120] = values[100]  # 20 < 30 samples
    values[200:260] = -999.0  # a flat sentinel is an out-of-range fault
    assert stuck(frame(values), SIGNALS) == []
    assert len(stuck(frame(values), SIGNALS, QualitySettings(stuck_min_samples=10))) == 1


# ---------------------------------------------------------------- spike


def test_spike_finds_an_isolated_sample_far_from_its_neighbours() -> None:
    values = noisy(600)
    values[300] += 30.0
    issue = only(spike(frame(values), SIGNALS))
    assert issue.start == stamps(600)[300] and issue.rows == 1
    assert "temperature jumps to" in issue.detail


def test_spike_leaves_steps_ramps_and_wide_pulses_alone() -> None:
    step = noisy(600)
    step[300:] += 20.0
    ramp = noisy(600) + np.linspace(0.0, 30.0, 600)
    pulse = noisy(600)
    pulse[300:308] += 25.0  # eight samples: a state, not a spike
    for values in (step, ramp, pulse):
        assert spike(frame(values), SIGNALS) == []


def test_spike_is_excused_when_the_siblings_dip_at_the_same_moment() -> None:
    n = 600
    speed, current = noisy(n, 1500.0, 5.0, seed=1), noisy(n, 40.0, 0.3, seed=2)
    speed[300:302], current[300:302] = 300.0, 5.0  # a brief stop moves both
    both = pd.concat([frame(speed, signal="speed"), frame(current, signal="motor_current")])
    assert spike(both, SIGNALS) == []
    current[300:302] = noisy(2, 40.0, 0.3, seed=3)  # now the speed dips alone
    alone = pd.concat([frame(speed, signal="speed"), frame(current, signal="motor_current")])
    assert only(spike(alone, SIGNALS)).signal == "speed"


# ---------------------------------------------------------------- duplicate


def test_duplicate_reports_a_resent_block_once() -> None:
    data = frame(noisy(200))
    resent = pd.concat([data.iloc[:60], data.iloc[40:60], data.iloc[60:]], ignore_index=True)
    issue = only(duplicate(resent, SIGNALS))
    assert issue.rows == 20
    assert issue.start == stamps(200)[40] and issue.end == stamps(200)[59]
    assert duplicate(data, SIGNALS) == []


def test_duplicate_mentions_conflicting_values() -> None:
    data = frame(noisy(50))
    changed = data.iloc[[10]].assign(value=99.0)
    assert "conflicting" in only(duplicate(pd.concat([data, changed]), SIGNALS)).detail


# ---------------------------------------------------------------- out of order


def test_out_of_order_reports_a_late_block_in_row_order() -> None:
    data = frame(noisy(200))
    late = pd.concat([data.iloc[:50], data.iloc[60:90], data.iloc[50:60], data.iloc[90:]])
    issue = only(out_of_order(late, SIGNALS))
    assert issue.rows == 10
    assert issue.start == stamps(200)[50] and issue.end == stamps(200)[59]
    assert out_of_order(data, SIGNALS) == []


def test_out_of_order_follows_seq_within_each_source() -> None:
    data = frame(noisy(100)).assign(seq=np.arange(100), ingest_id=1)
    data.loc[20:29, "seq"] = np.arange(200, 210)  # delivered last, listed in time order
    assert only(out_of_order(data, SIGNALS)).rows == 10
    # Two sources each in order, interleaved in the frame: nothing is late.
    two = frame(noisy(100)).assign(ingest_id=np.where(np.arange(100) % 2 == 0, 1, 2))
    two = two.assign(seq=np.arange(100) // 2).iloc[::-1]
    assert out_of_order(two, SIGNALS) == []


def test_a_resent_block_is_a_duplicate_not_late() -> None:
    data = frame(noisy(200))
    resent = pd.concat([data.iloc[:60], data.iloc[40:60], data.iloc[60:]], ignore_index=True)
    assert out_of_order(resent, SIGNALS) == []


# ---------------------------------------------------------------- future timestamps


def test_future_timestamp_against_now_and_its_tolerance() -> None:
    data = frame(noisy(100))
    now = stamps(100).iloc[-1]
    ahead = frame([40.0, 40.1, 40.2], start=now + pd.Timedelta(days=10))
    issue = only(future_timestamp(pd.concat([data, ahead]), SIGNALS, now=now))
    assert issue.rows == 3 and issue.start == now + pd.Timedelta(days=10)
    slightly = frame([40.0], start=now + pd.Timedelta(seconds=100))
    assert future_timestamp(pd.concat([data, slightly]), SIGNALS, now=now) == []
    assert future_timestamp(pd.concat([data, slightly]), SIGNALS, now=now, tolerance_s=10) != []


def test_future_timestamp_uses_received_at_row_by_row() -> None:
    data = frame(noisy(100))
    data["received_at"] = data["ts"] + pd.Timedelta(seconds=30)
    data.loc[99, "received_at"] = data.loc[0, "ts"]  # stamped 990 s after it was received
    assert only(future_timestamp(data, SIGNALS)).rows == 1


# ---------------------------------------------------------------- unit shift


def _temperature(n: int = 4000, seed: int = 0) -> np.ndarray:
    hours = np.arange(n) * 10 / 3600
    return 40.0 + 5.0 * np.sin(2 * np.pi * hours / 8) + noisy(n, 0.0, 0.1, seed)


def test_unit_shift_finds_a_stretch_sent_in_degf() -> None:
    values = _temperature()
    values[1500:2700] = values[1500:2700] * 1.8 + 32.0
    issue = only(unit_shift(frame(values), SIGNALS))
    assert "degF instead of degC" in issue.detail
    ts = stamps(values.size)
    assert abs(issue.start - ts[1500]) <= pd.Timedelta(minutes=1)
    assert abs(issue.end - ts[2699]) <= pd.Timedelta(minutes=1)


def test_unit_shift_finds_vibration_in_inches_per_second() -> None:
    values = noisy(4000, 2.8, 0.15, seed=4)
    values[1000:2500] /= 25.4
    issue = only(unit_shift(frame(values, signal="vibration_rms"), SIGNALS))
    assert "in/s instead of mm/s" in issue.detail


def test_unit_shift_ignores_stops_and_wear() -> None:
    rng = np.random.default_rng(5)
    running = 2.8 + 0.15 * rng.standard_normal(4000)
    stopped = 0.35 + 0.05 * rng.standard_normal(4000)
    level_and_noise_apart = np.where((np.arange(4000) // 1000) % 2 == 1, stopped, running)
    wear = running * np.linspace(1.0, 3.0, 4000)
    for values in (level_and_noise_apart, wear):
        assert unit_shift(frame(values, signal="vibration_rms"), SIGNALS) == []
    assert unit_shift(frame(_temperature()), SIGNALS) == []


# ---------------------------------------------------------------- stale


def test_stale_flags_the_series_that_went_silent() -> None:
    quiet = frame(noisy(500), signal="pressure").iloc[:200]  # stops 50 min before the other
    data = pd.concat([frame(noisy(500)), quiet])
    issue = only(stale(data, SIGNALS, QualitySettings(stale_after_s=1200)))
    assert issue.signal == "pressure" and issue.start == stamps(500)[199]
    assert stale(data, SIGNALS) == []  # 50 minutes is within the default hour
    later = stamps(500).iloc[-1] + pd.Timedelta(hours=3)
    assert len(stale(data, SIGNALS, reference_end=later)) == 2


# ---------------------------------------------------------------- run_checks and the model


def test_run_checks_runs_every_check_and_rejects_unknown_names() -> None:
    values = noisy(400)
    values[50:55] = np.nan
    values[200] = -999.0
    issues = run_checks(frame(values), SIGNALS)
    assert {i.check for i in issues} == {"missing", "out_of_range"}
    assert run_checks(frame(values), SIGNALS, checks=["gap"]) == []
    assert set(ALL_CHECKS) == {
        "missing", "gap", "out_of_range", "stuck", "spike", "duplicate", "out_of_order",
        "future_timestamp", "unit_shift", "stale",
    }  # fmt: skip
    with pytest.raises(ValueError, match="unknown check"):
        run_checks(frame(values), SIGNALS, checks=["nonsense"])


def test_checks_handle_empty_and_tiny_frames() -> None:
    empty = frame([])
    for name in ALL_CHECKS:
        assert run_checks(empty, SIGNALS, checks=[name]) == []
    assert run_checks(frame([1.0]), SIGNALS) == []


def test_quality_issue_is_frozen_and_json_safe() -> None:
    values = noisy(100)
    values[3] = np.nan
    issue = only(missing(frame(values), SIGNALS))
    with pytest.raises(dataclasses.FrozenInstanceError):
        issue.rows = 3  # type: ignore[misc]
    record = json.loads(json.dumps(issue.to_dict()))
    assert list(record) == [
        "check",
        "asset",
        "signal",
        "start",
        "end",
        "severity",
        "rows",
        "detail",
    ]
    assert record["start"].endswith("+00:00")
