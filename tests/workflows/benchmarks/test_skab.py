"""SKAB benchmark: protocol on small generated files, NAB maths, bad input, the real run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.workflows.benchmarks.skab import PROFILES, nab_file, read_experiment, run_skab
from tests.conftest import SHARED_DATASETS

SIGNALS = ["Accelerometer1RMS", "Current", "Pressure", "Volume Flow RateRMS"]


def _experiment_csv(
    path: Path, seed: int, *, rows: int = 1300, fault: tuple[int, int] = (700, 1000)
) -> None:
    rng = np.random.default_rng(seed)
    load = rng.normal(0, 1, rows)
    frame = pd.DataFrame(
        {
            "datetime": pd.date_range("2020-03-09 10:00:00", periods=rows, freq="1s").strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "Accelerometer1RMS": 0.2 + rng.normal(0, 0.005, rows),
            "Current": 2.0 + 0.3 * load + rng.normal(0, 0.05, rows),
            "Pressure": 1.0 + rng.normal(0, 0.05, rows),
            "Volume Flow RateRMS": 32.0 + 0.5 * load + rng.normal(0, 0.2, rows),
        }
    )
    start, stop = fault
    frame.loc[start : stop - 1, "Volume Flow RateRMS"] -= 3.0
    frame["anomaly"] = 0.0
    frame.loc[start : stop - 1, "anomaly"] = 1.0
    frame["changepoint"] = 0.0
    frame.loc[[start, stop - 1], "changepoint"] = 1.0
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep=";", index=False)


@pytest.fixture
def skab_dir(tmp_path: Path) -> Path:
    root = tmp_path / "skab"
    _experiment_csv(root / "valve1" / "0.csv", 1)
    _experiment_csv(root / "valve2" / "0.csv", 2)
    free = root / "anomaly-free" / "anomaly-free.csv"
    free.parent.mkdir(parents=True)
    pd.read_csv(root / "valve1" / "0.csv", sep=";").drop(columns=["anomaly", "changepoint"]).to_csv(
        free, sep=";", index=False
    )
    return root


def test_run_on_generated_files(skab_dir: Path) -> None:
    messages: list[str] = []
    report = run_skab(skab_dir, progress=messages.append)
    payload = report.as_dict()
    assert {"f1", "far", "mar", "nab_standard", "n_files", "baseline"} <= set(payload)
    assert set(payload["baseline"]) >= {"f1", "far", "mar", "nab_standard"}
    assert report.n_files == 2  # anomaly-free.csv skipped
    assert len(messages) == 2 and "valve1" in messages[0]
    assert report.f1 > 0.8 and report.far < 15
    assert report.nab_standard > report.baseline.nab_standard > 0
    assert report.as_dict() == run_skab(skab_dir).as_dict() | {"seconds": report.seconds}


def test_nab_scores_early_late_missed_and_false_detections() -> None:
    seconds = np.arange(300, dtype=float)
    truth = np.array([100])
    standard = PROFILES["standard"]
    perfect = nab_file(seconds, truth, np.array([100]), standard)
    assert perfect[0] == pytest.approx(perfect[2])  # S == S_perfect
    late = nab_file(seconds, truth, np.array([130]), standard)[0]
    assert 0 < late < 1
    # Near the window's end a detection is worth about a false positive.
    assert nab_file(seconds, truth, np.array([160]), standard)[0] == pytest.approx(-0.11)
    missed = nab_file(seconds, truth, np.array([], dtype=int), standard)
    assert missed[0] == missed[1] == -1.0 and missed[3] == 1
    noisy = nab_file(seconds, truth, np.array([10, 100, 110, 250]), standard)
    assert noisy[0] == pytest.approx(1.0 - 2 * 0.11)  # the second hit in the window is free
    assert noisy[4] == 2


def test_bad_input_errors_name_the_file(skab_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        run_skab(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no SKAB experiment"):
        run_skab(tmp_path / "empty")
    bad = skab_dir / "valve1" / "0.csv"
    frame = pd.read_csv(bad, sep=";", dtype=str)
    frame.loc[450, "Current"] = "n/a"
    frame.to_csv(bad, sep=";", index=False)
    with pytest.raises(InputError, match=r"0\.csv.*row 452.*Current") as info:
        run_skab(skab_dir)
    assert "\n" not in str(info.value)
    short = skab_dir / "valve2" / "0.csv"
    pd.read_csv(short, sep=";").iloc[:300].to_csv(short, sep=";", index=False)
    with pytest.raises(InputError, match="400"):
        read_experiment(short)
    no_cp = tmp_path / "nocp.csv"
    pd.read_csv(skab_dir / "anomaly-free" / "anomaly-free.csv", sep=";").assign(anomaly=0).to_csv(
        no_cp, sep=";", index=False
    )
    with pytest.raises(InputError, match="changepoint"):
        read_experiment(no_cp)


SKAB = SHARED_DATASETS / "skab"


@pytest.mark.slow
def test_skab_acceptance_figures() -> None:
    report = run_skab(SKAB)
    assert report.n_files == 20
    assert report.f1 >= 0.80
    assert report.far <= 15.0
    assert report.f1 > report.baseline.f1
    assert report.nab_standard > report.baseline.nab_standard
