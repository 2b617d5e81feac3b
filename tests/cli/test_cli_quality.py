"""`shopfloor quality spc | capability` (its sub-app; main.py registers it as `quality`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopfloor.cli.quality_cmd import app
from shopfloor.lake import Lake
from tests.workflows.inspections_lake import inspections_lake

runner = CliRunner()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return inspections_lake(tmp_path_factory.mktemp("quality-cli"))


def test_spc_json_has_every_series_and_violation(lake: Lake) -> None:
    result = runner.invoke(app, ["spc", "--lake", str(lake.path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [s["product"] for s in payload["series"]] == ["P1", "P2", "P1"]
    p1 = [v for v in payload["violations"] if v["product"] == "P1" and v["asset"] == "M1"]
    assert {"WE1", "WE2", "WE3", "WE4"} <= {v["rule"] for v in p1}
    assert all(v["ts"].endswith("+00:00") for v in p1)


def test_spc_table_and_html(lake: Lake, tmp_path: Path) -> None:
    html = tmp_path / "spc.html"
    result = runner.invoke(
        app,
        [
            "spc",
            "--lake",
            str(lake.path),
            "--asset",
            "M1",
            "--rules",
            "nelson",
            "--html",
            str(html),
        ],
        env={"COLUMNS": "120"},
    )
    assert result.exit_code == 0, result.output
    assert "SPC (nelson rules)" in result.stdout and "phase II violations" in result.stdout
    assert "N1" in result.stdout and html.stat().st_size > 1_000_000  # plotly.js inside


def test_capability_table_and_json(lake: Lake) -> None:
    where = ["--lake", str(lake.path)]
    result = runner.invoke(app, ["capability", *where], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Cpk 95% CI" in result.stdout and "skipped M2/P1/weight_g" in result.stdout
    payload = json.loads(runner.invoke(app, ["capability", *where, "--json"]).stdout)
    rows = payload["capability"]
    assert [r["product"] for r in rows] == ["P1", "P2"]
    assert all(r["cpk_lower"] < r["cpk"] < r["cpk_upper"] for r in rows)


def test_the_group_lists_its_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("spc", "capability"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["spc"], "error: field 'inspections': no measured inspections in the lake: ingest "
         "measurements into 'inspections' (value, lsl, usl)"),
        (["spc", "--subgroup-size", "0"],
         "error: field 'subgroup_size': must be 1 (individuals) to 25, got 0"),
        (["capability", "--asset", "M7"], "error: field 'inspections': no measured inspections "
         "in the lake for asset=M7: ingest measurements into 'inspections' (value, lsl, usl)"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    from shopfloor.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(["quality", *args, "--lake", str(tmp_path / "lake")])
    assert info.value.code == 2
    assert capsys.readouterr().err.strip() == message


def test_train_vision_then_inspect(tmp_path: Path) -> None:
    from tests.quality.vision.synthetic_images import write_neu_dir

    images = write_neu_dir(tmp_path / "train", ("ok", "blob", "scratch"), 6, 48, seed=1)
    where = ["--lake", str(tmp_path / "lake")]
    result = runner.invoke(
        app,
        ["train-vision", str(images), "--classes", "ok,blob,scratch", "--epochs", "1", *where],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "registered defect-classifier:1 (3 classes, 18 images" in result.stdout
    assert "validation accuracy" in result.stdout
    result = runner.invoke(
        app, ["inspect", str(images), "--asset", "M1", "--product", "P1", "--json", *where]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["model"] == "defect-classifier:1" and len(payload["verdicts"]) == 18
    row = payload["verdicts"][0]
    assert row["verdict"] in ("pass", "fail") and row["map"].endswith(".png")
    assert Path(row["image"]).is_file() and row["characteristic"] == "surface"


def test_inspect_without_a_model_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shopfloor.cli.main import main

    (tmp_path / "img").mkdir()
    with pytest.raises(SystemExit) as info:
        main(
            [
                "quality",
                "inspect",
                str(tmp_path / "img"),
                "--asset",
                "M1",
                "--lake",
                str(tmp_path / "lake"),
            ]
        )
    assert info.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: no model 'defect-classifier' (the registry is empty)"
    )
