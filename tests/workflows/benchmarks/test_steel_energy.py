"""Steel-plant energy benchmark: reading the file, input errors, the real run's figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.workflows.benchmarks.steel_energy import holdout_start, load_steel, run_steel_energy
from tests.conftest import SHARED_DATASETS

REAL = SHARED_DATASETS / "steel-energy" / "Steel_industry_data.csv"
HEADER = (
    "date,Usage_kWh,Lagging_Current_Reactive_Power_kVarh,Leading_Current_Reactive_Power_kVarh,"
    "CO2(tCO2),Lagging_Current_Power_Factor,Leading_Current_Power_Factor,NSM,WeekStatus,"
    "Day_of_week,Load_Type"
)


def _steel_csv(path: Path, days: int = 3, seed: int = 0) -> Path:
    """The file's own layout: interval ends, a day's last interval stamped 00:00 that day."""
    rng = np.random.default_rng(seed)
    lines = [HEADER]
    for day in pd.date_range("2018-01-01", periods=days, freq="D"):
        for quarter in range(1, 97):
            end = day + pd.Timedelta(minutes=15 * quarter)
            stamp = day if quarter == 96 else end  # 24:00 is written as 00:00 of the same day
            hour = (quarter - 1) / 4
            use = 3.0 + (40.0 if 8 <= hour < 18 else 0.0) + rng.uniform(0, 1)
            label = "Medium_Load" if 8 <= hour < 18 else "Light_Load"
            nsm = (quarter * 900) % 86400
            lines.append(
                f"{stamp:%d/%m/%Y %H:%M},{use:.2f},1,0,0,70,100,{nsm},Weekday,{day:%A},{label}"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reading_moves_the_midnight_stamps_and_indexes_by_start(tmp_path: Path) -> None:
    frame = load_steel(_steel_csv(tmp_path / "Steel_industry_data.csv"))
    assert len(frame) == 3 * 96
    assert frame.index[0] == pd.Timestamp("2018-01-01 00:00")
    assert frame.index[-1] == pd.Timestamp("2018-01-03 23:45")
    assert (np.diff(frame.index.asi8) == 15 * 60 * 10**9).all()
    assert list(frame.columns) == ["usage", "load_type"]
    assert set(frame["load_type"]) == {"Light_Load", "Medium_Load"}
    assert load_steel(tmp_path).equals(frame)  # the directory holding the file works too


def test_holdout_starts_at_a_midnight() -> None:
    index = pd.date_range("2018-01-01", periods=10 * 96, freq="15min")
    cut = holdout_start(index)
    assert index[cut] == pd.Timestamp("2018-01-09") and cut >= 0.8 * len(index)


def _rewrite(path: Path, row: int, column: str, value: str) -> None:
    frame = pd.read_csv(path, dtype=str)
    frame.loc[row - 1, column] = value
    frame.to_csv(path, index=False)


@pytest.mark.parametrize(
    ("column", "value", "row"),
    [
        ("date", "31/02/2018 10:00", 40),  # no such day
        ("date", "01/01/2018 10:05", 41),  # not 15 minutes after the row before
        ("Usage_kWh", "lots", 7),
        ("Usage_kWh", "-3", 8),
        ("Load_Type", "", 9),
    ],
)
def test_a_bad_value_names_file_row_and_field(
    tmp_path: Path, column: str, value: str, row: int
) -> None:
    path = _steel_csv(tmp_path / "bad.csv")
    _rewrite(path, row, column, value)
    with pytest.raises(InputError) as info:
        load_steel(path)
    message = str(info.value)
    assert info.value.field == column and info.value.row == row
    assert "bad.csv" in message and f"row {row}" in message and "\n" not in message


def test_missing_empty_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv.*no such file"):
        load_steel(tmp_path / "nope.csv")
    with pytest.raises(InputError, match=r"Steel_industry_data\.csv"):
        load_steel(tmp_path)  # a directory without the file
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match=r"empty\.csv.*empty"):
        load_steel(empty)
    header = tmp_path / "header.csv"
    header.write_text(HEADER + "\n")
    with pytest.raises(InputError, match="no data rows"):
        load_steel(header)
    wrong = tmp_path / "wrong.csv"
    pd.read_csv(_steel_csv(tmp_path / "ok.csv")).drop(columns="Usage_kWh").to_csv(wrong)
    with pytest.raises(InputError, match="Usage_kWh") as info:
        load_steel(wrong)
    assert info.value.field == "Usage_kWh"
    with pytest.raises(InputError, match="28 days"):
        run_steel_energy(_steel_csv(tmp_path / "short.csv", days=10))


@pytest.mark.slow
def test_real_file_beats_the_seasonal_naive_by_30_percent() -> None:
    report = run_steel_energy(REAL, seed=0)
    payload = report.as_dict()
    json.dumps(payload)  # what --json prints
    assert {"rmse", "mae", "cv_rmse", "load_type_accuracy", "baseline"} <= set(payload)
    assert report.n_train + report.n_test == 35_040 and report.n_test == 7_008
    assert payload["holdout"]["start"] == "2018-10-20T00:00:00"
    head = report.one_step
    assert head.baseline.season == "7D"  # a week back beats a day back, here and on training
    assert head.baseline.holdout_rmse_by_season["7D"] < head.baseline.holdout_rmse_by_season["1D"]
    assert head.baseline.improvement >= 0.30
    assert head.rmse < head.baseline.persistence_rmse  # better than the last value, too
    assert 0.0 < head.mae < head.rmse < 12.0
    assert head.load_type_accuracy >= 0.93 and head.load_type_macro_f1 >= 0.9
    day = report.day_ahead
    assert day.steps == 96 and day.baseline.rmse == pytest.approx(head.baseline.rmse)
    assert 0.15 <= day.baseline.improvement < head.baseline.improvement  # the honest gap
    assert day.load_type_accuracy >= 0.85
