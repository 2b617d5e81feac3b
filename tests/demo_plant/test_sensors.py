"""Simulated sensor readings: shape, physics, noise, limits, determinism and speed."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from shopfloor.demo_plant.layout import PlantLayout, default_layout
from shopfloor.demo_plant.sensors import AMBIENT_C, simulate_readings

START = pd.Timestamp("2025-03-03 06:00", tz="UTC")
Small = tuple[PlantLayout, dict[str, pd.DataFrame]]


def _events(layout: PlantLayout, spans: list[tuple[float, float, str]]) -> pd.DataFrame:
    """The same state timeline for every machine; spans in hours from START."""
    rows = [
        (m.asset, START + pd.Timedelta(hours=a), START + pd.Timedelta(hours=b), "state", code, "")
        for m in layout.machines
        for a, b, code in spans
    ]
    events = pd.DataFrame(rows, columns=["asset", "start", "end", "kind", "code", "detail"])
    for column in ("start", "end"):
        events[column] = events[column].astype("datetime64[us, UTC]")
    return events


def _health(layout: PlantLayout, hours: float, value: float | np.ndarray) -> pd.DataFrame:
    ts = pd.date_range(START, START + pd.Timedelta(hours=hours), freq="10min")
    return pd.concat(
        [
            pd.DataFrame({"asset": m.asset, "ts": ts, "health": np.broadcast_to(value, ts.shape)})
            for m in layout.machines
        ],
        ignore_index=True,
    )


def _series(frame: pd.DataFrame, signal: str) -> pd.Series:
    part = frame[frame["signal"] == signal]
    return pd.Series(part["value"].to_numpy(), index=part["ts"].to_numpy())


@pytest.fixture(scope="module")
def small() -> Small:
    layout = default_layout(lines=1, machines_per_line=2)
    events = _events(layout, [(0, 2, "running"), (2, 3, "down"), (3, 4, "starved")])
    frames = dict(
        simulate_readings(layout, events, _health(layout, 4, 0.0), START,
                          START + pd.Timedelta(hours=4), seed=3)
    )  # fmt: skip
    return layout, frames


def test_one_long_frame_per_machine_every_signal_every_period(small: Small) -> None:
    layout, frames = small
    assert list(frames) == [m.asset for m in layout.machines]
    for asset, frame in frames.items():
        assert list(frame.columns) == ["asset", "signal", "ts", "value"]
        assert str(frame["ts"].dtype) == "datetime64[us, UTC]"
        assert len(frame) == 6 * 4 * 360
        assert set(frame["asset"]) == {asset}
        assert (
            frame.groupby("signal")["ts"].apply(lambda t: t.diff().dropna().nunique()).eq(1).all()
        )
        assert frame["ts"].is_monotonic_increasing  # time-major, as a gateway sends


def test_values_are_noisy_plausible_and_never_repeat(small: Small) -> None:
    layout, frames = small
    limits = {s.name: (s.lower, s.upper) for s in layout.signals}
    for frame in frames.values():
        assert frame["value"].notna().all()
        for signal, (lower, upper) in limits.items():
            values = _series(frame, signal).to_numpy()
            assert values.min() >= lower and values.max() <= upper
            assert (np.diff(values) != 0).all(), signal


def test_states_drive_the_signals(small: Small) -> None:
    layout, frames = small
    machine = layout.machines[0]
    frame = frames[machine.asset]
    speed, current = _series(frame, "speed"), _series(frame, "motor_current")
    running, down = slice(3600, 7000), slice(7600, 10700)  # seconds from START, settled

    def at(series: pd.Series, seconds: slice) -> pd.Series:
        return series.iloc[seconds.start // 10 : seconds.stop // 10]

    assert at(speed, running).median() == pytest.approx(machine.nominal_speed_rpm, rel=0.02)
    assert at(speed, down).median() < 5.0 and at(speed, down).min() >= 0.0
    assert at(current, down).median() < 0.2 * at(current, running).median()
    idle = at(speed, slice(11600, 14300)).median()
    assert 0.2 * machine.nominal_speed_rpm < idle < 0.6 * machine.nominal_speed_rpm


def test_temperature_relaxes_towards_ambient_in_about_twenty_minutes(small: Small) -> None:
    _, frames = small
    temperature = _series(next(iter(frames.values())), "temperature")
    warm = temperature.iloc[710:720].mean()  # end of two hours running
    after = temperature.iloc[720 + 120 - 5 : 720 + 120 + 5].mean()  # 20 minutes later
    ambient = AMBIENT_C + 2.0 * np.sin(2 * np.pi * (8.3 - 9.0) / 24.0)
    remaining = (after - ambient) / (warm - ambient)
    assert 0.25 < remaining < 0.5  # e^-1 = 0.37 with a 20-minute time constant


def test_wear_raises_vibration_temperature_current_and_sound() -> None:
    layout = default_layout(lines=1, machines_per_line=1)
    events = _events(layout, [(0, 6, "running")])
    end = START + pd.Timedelta(hours=6)
    new = dict(simulate_readings(layout, events, _health(layout, 6, 0.0), START, end, seed=1))
    worn = dict(simulate_readings(layout, events, _health(layout, 6, 1.0), START, end, seed=1))
    asset = layout.machines[0].asset

    def late(frames: dict[str, pd.DataFrame], signal: str) -> float:
        return float(_series(frames[asset], signal).iloc[-360:].median())

    assert late(worn, "vibration_rms") / late(new, "vibration_rms") == pytest.approx(3.0, rel=0.1)
    assert late(worn, "temperature") > late(new, "temperature") + 10.0
    assert late(worn, "motor_current") > 1.1 * late(new, "motor_current")
    assert late(worn, "acoustic") > late(new, "acoustic") + 4.0


def test_seeded_and_deterministic(small: Small) -> None:
    layout, frames = small
    events = _events(layout, [(0, 2, "running"), (2, 3, "down"), (3, 4, "starved")])
    health, end = _health(layout, 4, 0.0), START + pd.Timedelta(hours=4)
    again = dict(simulate_readings(layout, events, health, START, end, seed=3))
    other = dict(simulate_readings(layout, events, health, START, end, seed=4))
    for asset, frame in frames.items():
        pd.testing.assert_frame_equal(frame, again[asset])
        assert not np.allclose(frame["value"], other[asset]["value"])


def test_time_outside_any_state_reads_as_a_switched_off_machine() -> None:
    layout = default_layout(lines=1, machines_per_line=1)
    empty = _events(layout, [])
    frames = dict(simulate_readings(layout, empty, _health(layout, 1, 0.0).iloc[0:0], START,
                                    START + pd.Timedelta(hours=1), seed=0))  # fmt: skip
    speed = _series(next(iter(frames.values())), "speed")
    assert speed.median() < 5.0


@pytest.mark.slow
def test_thirty_days_of_the_whole_plant_generate_quickly() -> None:
    layout = default_layout()
    end = START + pd.Timedelta(days=30)
    events = _events(layout, [(0, 24 * 30, "running")])
    clock = time.perf_counter()
    rows = sum(len(f) for _, f in simulate_readings(layout, events, _health(layout, 720, 0.2),
                                                    START, end, seed=2))  # fmt: skip
    elapsed = time.perf_counter() - clock
    assert rows == 12 * 6 * 30 * 8640
    assert elapsed < 30.0, elapsed
