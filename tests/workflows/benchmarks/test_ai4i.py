"""AI4I 2020 benchmark: protocol on a small generated CSV, input errors, the real file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shopfloor.errors import InputError
from shopfloor.workflows.benchmarks.ai4i import load_ai4i, run_ai4i
from tests.conftest import SHARED_DATASETS
from tests.maintenance.ai4i_frames import ai4i_frame

SMALL: dict[str, Any] = {
    "n_estimators": 30,
    "max_bin": 1023,
    "inner_folds": 2,
    "min_child_samples": 5,
}
REAL = SHARED_DATASETS / "ai4i2020" / "ai4i2020.csv"


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "ai4i2020.csv"
    ai4i_frame(500, seed=11).to_csv(path, index=False)
    return path


def test_report_on_generated_csv(csv: Path) -> None:
    messages: list[str] = []
    report = run_ai4i(csv, seed=3, progress=messages.append, model_params=SMALL)
    out = report.as_dict()
    json.dumps(out)  # what `--json` prints
    assert {"f1", "roc_auc", "pr_auc", "baseline", "n_rows", "n_failures", "fit_seconds"} <= set(
        out
    )
    assert set(out["baseline"]) >= {"f1", "roc_auc", "pr_auc"}
    assert out["n_rows"] == 500
    assert out["n_failures"] == int(ai4i_frame(500, seed=11)["Machine failure"].sum())
    assert len(out["thresholds"]) == 5
    assert set(out["modes"]) == {"TWF", "HDF", "PWF", "OSF", "RNF"}
    assert out["f1"] >= 0.7
    assert out["roc_auc"] >= 0.9
    assert any(m.startswith("fold 5/5") for m in messages)
    # the directory holding the file is accepted too, with the same result
    again = run_ai4i(csv.parent, seed=3, model_params=SMALL).as_dict()
    assert again["f1"] == out["f1"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv"):
        load_ai4i(tmp_path / "nope.csv")


@pytest.mark.parametrize("column", ["Torque [Nm]", "Type", "Machine failure", "OSF"])
def test_missing_column_is_named(tmp_path: Path, column: str) -> None:
    path = tmp_path / "a.csv"
    ai4i_frame(100).drop(columns=[column]).to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        load_ai4i(path)
    assert column in str(err.value)
    assert "a.csv" in str(err.value)


def test_malformed_value_names_column_and_row(tmp_path: Path) -> None:
    frame = ai4i_frame(100).astype({"Tool wear [min]": object})
    frame.loc[6, "Tool wear [min]"] = "twelve"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        load_ai4i(path)
    message = str(err.value)
    assert "bad.csv" in message
    assert "Tool wear [min]" in message
    assert "row 7" in message


def test_non_binary_label_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    ai4i_frame(100).assign(HDF=2).to_csv(path, index=False)
    with pytest.raises(InputError, match="HDF"):
        load_ai4i(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match=r"empty\.csv"):
        load_ai4i(empty)


def test_too_few_failures(tmp_path: Path) -> None:
    path = tmp_path / "few.csv"
    frame = ai4i_frame(100)
    frame["Machine failure"] = 0
    frame.loc[:2, "Machine failure"] = 1
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match="too few failures"):
        run_ai4i(path)


@pytest.mark.slow
def test_real_dataset_end_to_end() -> None:
    out = run_ai4i(REAL, seed=0).as_dict()
    assert out["n_rows"] == 10_000
    assert out["n_failures"] == 339
    assert out["f1"] >= 0.88
    assert out["f1"] > out["baseline"]["f1"]
