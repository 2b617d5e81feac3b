"""Planted data-quality faults: every type present, where the truth says, nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopfloor.demo_plant.faults import FAULT_TYPES, TRUTH_COLUMNS, plant_faults
from shopfloor.demo_plant.layout import PlantLayout, default_layout
from shopfloor.demo_plant.sensors import simulate_readings

START = pd.Timestamp("2025-03-03", tz="UTC")
END = START + pd.Timedelta(days=2)
Planted = tuple[PlantLayout, pd.DataFrame, pd.DataFrame, pd.DataFrame]


def _running(layout: PlantLayout) -> tuple[pd.DataFrame, pd.DataFrame]:
    events = pd.DataFrame(
        [(m.asset, START, END, "state", "running", "") for m in layout.machines],
        columns=["asset", "start", "end", "kind", "code", "detail"],
    )
    ts = pd.date_range(START, END, freq="10min")
    health = pd.concat(
        [pd.DataFrame({"asset": m.asset, "ts": ts, "health": 0.3}) for m in layout.machines]
    )
    return events, health


@pytest.fixture(scope="module")
def planted() -> Planted:
    layout = default_layout(lines=1, machines_per_line=1)
    events, health = _running(layout)
    _, clean = next(simulate_readings(layout, events, health, START, END, seed=5))
    before = clean.copy()
    faulty, truth = plant_faults(clean, layout, START, END, seed=9)
    pd.testing.assert_frame_equal(clean, before)  # the input is left alone
    return layout, clean, faulty, truth


def _rows(frame: pd.DataFrame, signal: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    part = frame[(frame["signal"] == signal) & (frame["ts"] >= start) & (frame["ts"] <= end)]
    return part.sort_values("ts", kind="stable")


def test_truth_has_every_fault_type_and_its_columns(planted: Planted) -> None:
    _, _, faulty, truth = planted
    assert list(truth.columns) == list(TRUTH_COLUMNS)
    assert set(truth["check"]) == set(FAULT_TYPES)
    assert (truth.groupby("check").size() >= 1).all()
    assert str(truth["start"].dtype) == "datetime64[us, UTC]"
    assert list(faulty.columns) == ["asset", "signal", "ts", "value"]


def test_episodes_of_one_signal_never_overlap(planted: Planted) -> None:
    _, _, _, truth = planted
    for _, group in truth.groupby("signal"):
        group = group[group["check"] != "future_timestamp"].sort_values("start")
        assert (group["start"].iloc[1:].to_numpy() > group["end"].iloc[:-1].to_numpy()).all()


def test_each_fault_is_where_the_truth_says(planted: Planted) -> None:
    layout, clean, faulty, truth = planted
    limits = {s.name: (s.lower, s.upper) for s in layout.signals}
    for row in truth.itertuples():
        lower, upper = limits[row.signal]
        part = _rows(faulty, row.signal, row.start, row.end)
        if row.check == "missing":
            assert part["value"].isna().all() and len(part) == row.rows
        elif row.check in ("gap", "stale"):
            assert part.empty
        elif row.check == "out_of_range":
            assert ((part["value"] < lower) | (part["value"] > upper)).all()
        elif row.check == "stuck":
            assert part["value"].nunique() == 1 and len(part) >= 60
        elif row.check == "spike":
            original = _rows(clean, row.signal, row.start, row.end)["value"].to_numpy()
            assert 1 <= row.rows <= 3
            assert (np.abs(part["value"].to_numpy() - original) > 0.2 * (upper - lower)).all()
            assert part["value"].between(lower, upper).all()
        elif row.check == "unit_shift":
            original = _rows(clean, row.signal, row.start, row.end)["value"].to_numpy()
            ratio = part["value"].to_numpy() / original
            expected = 1 / 25.4 if row.signal == "vibration_rms" else None
            if expected is not None:
                assert np.allclose(ratio, expected)
            else:
                assert np.allclose(part["value"], original * 1.8 + 32.0)
            assert part["value"].between(lower, upper).all()
        elif row.check == "duplicate":
            assert len(part) == 2 * row.rows and part.duplicated(["ts"]).sum() == row.rows
        elif row.check == "future_timestamp":
            assert row.start >= END + pd.Timedelta(days=2) and len(part) == row.rows
        elif row.check == "out_of_order":
            assert len(part) == row.rows


def test_gaps_resume_and_stale_signals_stay_silent(planted: Planted) -> None:
    _, _, faulty, truth = planted
    for row in truth[truth["check"] == "gap"].itertuples():
        assert not _rows(faulty, row.signal, row.end, row.end + pd.Timedelta(minutes=5)).empty
    for row in truth[truth["check"] == "stale"].itertuples():
        later = faulty[(faulty["signal"] == row.signal) & (faulty["ts"] >= row.start)]
        assert later.empty
        assert row.end >= END - pd.Timedelta(minutes=1)


def test_late_blocks_arrive_after_later_samples(planted: Planted) -> None:
    _, _, faulty, truth = planted
    for row in truth[truth["check"] == "out_of_order"].itertuples():
        series = faulty[faulty["signal"] == row.signal].reset_index(drop=True)
        first_late = series.index[series["ts"] == row.start][0]
        assert series.loc[: first_late - 1, "ts"].max() > row.end


def test_counts_scale_with_the_length_of_the_plant() -> None:
    layout = default_layout(lines=1, machines_per_line=1)
    end = START + pd.Timedelta(days=30)
    events = pd.DataFrame(
        [(m.asset, START, end, "state", "running", "") for m in layout.machines],
        columns=["asset", "start", "end", "kind", "code", "detail"],
    )
    health = pd.DataFrame({"asset": layout.machines[0].asset, "ts": [START], "health": [0.1]})
    _, clean = next(simulate_readings(layout, events, health, START, end, seed=1))
    _, truth = plant_faults(clean, layout, START, end, seed=1)
    per_type = truth.groupby("check").size()
    assert per_type.drop("stale").min() >= 4 and per_type["stale"] == 1


def test_deterministic_for_a_seed(planted: Planted) -> None:
    layout, clean, faulty, truth = planted
    again, truth_again = plant_faults(clean, layout, START, END, seed=9)
    pd.testing.assert_frame_equal(faulty, again)
    pd.testing.assert_frame_equal(truth, truth_again)
    _, other = plant_faults(clean, layout, START, END, seed=10)
    assert not truth.equals(other)
