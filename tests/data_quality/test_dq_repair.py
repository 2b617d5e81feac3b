"""Repairs: what each policy changes, what it leaves alone, and what it reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dq_frames import frame, noisy, signals, stamps

from shopfloor.data_quality import repair, run_checks

SIGNALS = signals()


def test_dedupe_keeps_the_first_arrival() -> None:
    data = frame(noisy(200))
    changed = data.iloc[40:60].assign(value=99.0)
    result = repair(pd.concat([data, changed], ignore_index=True), [], SIGNALS, ["dedupe"])
    assert len(result.frame) == 200
    assert (result.frame["value"] != 99.0).all()
    assert result.actions[["policy", "rows"]].values.tolist() == [["dedupe", 20]]


def test_interpolate_fills_short_null_runs_and_short_gaps_only() -> None:
    values = noisy(600)
    values[100:105] = np.nan  # 50 s
    values[300:360] = np.nan  # 10 min: too long
    data = frame(values).drop(index=range(200, 210)).reset_index(drop=True)  # 110 s gap
    issues = run_checks(data, SIGNALS)
    result = repair(data, issues, SIGNALS, ["interpolate"])
    out = result.frame
    assert out["value"].isna().sum() == 60
    assert len(out) == 600  # the ten missing samples were inserted
    inserted = out[out["ts"].isin(stamps(600)[200:210])]
    assert len(inserted) == 10 and (inserted["quality"] == 1).all()
    filled = out.set_index("ts").loc[stamps(600)[100:105], "value"]
    assert filled.notna().all()
    assert sorted(result.actions["rows"]) == [5, 10]


def test_clip_clips_mild_values_and_nulls_sentinels() -> None:
    values = noisy(200)
    values[50] = 155.0  # 5 above the 150 limit: within 10 % of the span
    values[100:103] = -999.0
    data = frame(values)
    result = repair(data, run_checks(data, SIGNALS), SIGNALS, ["clip"])
    out = result.frame
    assert out.loc[50, "value"] == 150.0 and out.loc[50, "quality"] == 1
    assert out.loc[100:102, "value"].isna().all() and (out.loc[100:102, "quality"] == 2).all()
    both = repair(data, run_checks(data, SIGNALS), SIGNALS, ["clip", "interpolate"]).frame
    assert both["value"].notna().all()  # the nulled sentinel run is short enough to fill


def test_unit_shift_is_converted_back() -> None:
    hours = np.arange(4000) * 10 / 3600
    truth = 40.0 + 5.0 * np.sin(2 * np.pi * hours / 8) + noisy(4000, 0.0, 0.1)
    shifted = truth.copy()
    shifted[1500:2700] = shifted[1500:2700] * 1.8 + 32.0
    data = frame(shifted)
    result = repair(data, run_checks(data, SIGNALS), SIGNALS, ["unit_shift"])
    assert np.abs(result.frame["value"].to_numpy() - truth).max() < 1.0
    assert result.actions.loc[0, "policy"] == "unit_shift"
    assert "degF back to degC" in result.actions.loc[0, "detail"]


def test_repair_copies_and_rejects_unknown_policies() -> None:
    values = noisy(100)
    values[5] = np.nan
    data = frame(values)
    before = data.copy()
    repair(data, run_checks(data, SIGNALS), SIGNALS)
    pd.testing.assert_frame_equal(data, before)
    with pytest.raises(ValueError, match="unknown repair policy"):
        repair(data, [], SIGNALS, ["magic"])
