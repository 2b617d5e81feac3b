"""`shopfloor benchmark neu | tep` through the CLI (the others are tested in workflows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopfloor.cli.benchmark_cmd import app
from shopfloor.quality.vision.dataset import NEU_CLASSES
from tests.conftest import SHARED_DATASETS
from tests.quality.vision.synthetic_images import write_neu_dir

runner = CliRunner()


@pytest.mark.slow
def test_tep_json_and_table() -> None:
    data = str(SHARED_DATASETS / "tep")
    result = runner.invoke(app, ["tep", "--data", data, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {"mean_fdr", "far", "per_fault"} <= set(payload)
    assert sorted(payload["per_fault"], key=int) == [str(f) for f in range(1, 22)]
    table = runner.invoke(app, ["tep", "--data", data], env={"COLUMNS": "120"})
    assert table.exit_code == 0 and "PCA T²+Q" in table.stdout and "15 *" in table.stdout


@pytest.mark.slow
def test_neu_on_a_tiny_split(tmp_path: Path) -> None:
    """Wiring only (a few synthetic images): the real figures are in BENCHMARKS.md."""
    train = write_neu_dir(tmp_path / "train", NEU_CLASSES, 3, 48, seed=0)
    test = write_neu_dir(tmp_path / "test", NEU_CLASSES, 1, 48, seed=1)
    result = runner.invoke(
        app, ["neu", "--train", str(train), "--test", str(test), "--epochs", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {"accuracy", "macro_f1", "images_per_second", "fit_seconds"} <= set(payload)
    assert payload["n_train"] == 18 and payload["n_test"] == 6
    assert payload["onnx_max_abs_diff"] <= 1e-4


def test_missing_tep_data_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shopfloor.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(["benchmark", "tep", "--data", str(tmp_path / "nowhere")])
    assert info.value.code == 2
    assert str(tmp_path / "nowhere") in capsys.readouterr().err
