"""C-MAPSS benchmark: protocol on small generated files, bad input, the real FD001 run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shopfloor.cli.main import main
from shopfloor.errors import InputError
from shopfloor.workflows.benchmarks.cmapss import nasa_score, read_trajectories, run_cmapss
from tests.conftest import SHARED_DATASETS

SMALL = {
    "n_folds": 3,
    "window": 12,
    "epochs": 10,
    "samples_per_epoch": 512,
    "batch_size": 64,
    "n_estimators": 60,
    "gbm_windows": (3, 8),
}


def _unit_rows(rng: np.random.Generator, unit: int, life: int, cycles: int) -> list[str]:
    lines = []
    for cycle in range(1, cycles + 1):
        wear = np.exp(4.0 * cycle / life) / np.e**4
        settings = [rng.normal(0, 0.002), rng.normal(0, 0.0003), 100.0]
        sensors = [518.67 + 0 * wear, 642 + 2 * wear + rng.normal(0, 0.3)]
        sensors += [1590 + 20 * wear + rng.normal(0, 3), 1400 + 30 * wear + rng.normal(0, 4)]
        sensors += [14.62] + [21.6 + rng.normal(0, 0.001) for _ in range(16)]
        values = [unit, cycle, *settings, *sensors]
        lines.append(" ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in values))
    return lines


@pytest.fixture
def cmapss_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    root = tmp_path / "cmapss"
    root.mkdir()
    train, test, truth = [], [], []
    for unit in range(1, 13):
        life = int(rng.integers(60, 110))
        train += _unit_rows(rng, unit, life, life)
    for unit in range(1, 9):
        life = int(rng.integers(60, 110))
        seen = int(rng.integers(15, life))
        test += _unit_rows(rng, unit, life, seen)
        truth.append(life - seen)
    # The NASA files end every line with two spaces.
    (root / "train_FD009.txt").write_text("\n".join(f"{r}  " for r in train) + "\n")
    (root / "test_FD009.txt").write_text("\n".join(f"{r}  " for r in test) + "\n")
    (root / "RUL_FD009.txt").write_text("\n".join(str(t) for t in truth) + "\n")
    return root


def test_run_on_generated_files(cmapss_dir: Path) -> None:
    messages: list[str] = []
    report = run_cmapss(cmapss_dir, "fd009", progress=messages.append, model_params=SMALL)
    payload = report.as_dict()
    assert set(payload) == {
        "subset",
        "rmse",
        "rmse_raw",
        "nasa_score",
        "coverage_90",
        "fit_seconds",
        "n_units",
        "baseline",
    }
    assert set(payload["baseline"]) == {"rmse", "nasa_score"}
    assert payload["subset"] == "FD009" and payload["n_units"] == 8
    assert messages and "FD009" in messages[0]
    assert report.rmse < 25 and 0.0 <= report.coverage_90 <= 1.0
    json.dumps(payload)  # plain JSON types only


def test_nasa_score_penalises_late_more_than_early() -> None:
    assert nasa_score([10.0], [10.0]) == 0.0
    assert nasa_score([20.0], [10.0]) == pytest.approx(np.e - 1)
    assert nasa_score([0.0], [13.0]) == pytest.approx(np.e - 1)
    assert nasa_score([20.0], [10.0]) > nasa_score([0.0], [10.0])


def test_bad_input_errors_name_the_file(cmapss_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown C-MAPSS subset"):
        run_cmapss(cmapss_dir, "FD1")
    with pytest.raises(InputError, match="directory not found"):
        run_cmapss(tmp_path / "nowhere", "FD001")
    with pytest.raises(InputError, match=r"train_FD001\.txt: file not found"):
        run_cmapss(cmapss_dir, "FD001")
    rul = cmapss_dir / "RUL_FD009.txt"
    rul.write_text("1\n2\n")
    with pytest.raises(InputError, match=r"RUL_FD009\.txt: expected 8 lines"):
        run_cmapss(cmapss_dir, "FD009", model_params=SMALL)
    train = cmapss_dir / "train_FD009.txt"
    lines = train.read_text().splitlines()
    lines[5] = lines[5].replace("100.0000", "abc", 1)
    train.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"train_FD009\.txt") as info:
        read_trajectories(train)
    assert "\n" not in str(info.value)
    short = tmp_path / "short.txt"
    short.write_text("1 1 0.0 0.0 100.0 1 2 3\n")
    with pytest.raises(InputError, match="expected 26 columns"):
        read_trajectories(short)


def _cli(*args: str) -> int:
    """Run the CLI in-process; its exit status (typer exits even on success)."""
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_reports_bad_input_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _cli("benchmark", "cmapss", "--data", str(tmp_path), "--subset", "FD001", "--json")
    assert code == 2
    assert "train_FD001.txt" in capsys.readouterr().err


CMAPSS = SHARED_DATASETS / "cmapss"


@pytest.mark.slow
def test_cmapss_fd001_acceptance_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli("benchmark", "cmapss", "--data", str(CMAPSS), "--subset", "FD001", "--json") == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["n_units"] == 100
    assert payload["rmse"] <= 11.5
    assert payload["nasa_score"] <= 230
    assert payload["rmse"] < payload["baseline"]["rmse"]
    assert 0.85 <= payload["coverage_90"] <= 0.95
