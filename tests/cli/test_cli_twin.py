from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopfloor.cli.main import app, main
from shopfloor.lake import Lake

runner = CliRunner()


def test_twin_run_writes_json_and_a_plot(demo_week: Lake, tmp_path: Path) -> None:
    plot = tmp_path / "whatif.html"
    args = ["twin", "run", "--lake", str(demo_week.path), "--buffer-factor", "2"]
    args += ["--replications", "2", "--horizon-days", "3", "--plot", str(plot), "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert set(payload["scenarios"]) == {"as_is", "what_if"}
    assert payload["comparisons"][0]["baseline"] == "as_is"
    assert plot.exists() and "plotly" in plot.read_text()[:200000].lower()


def test_plan_json(demo_week: Lake, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(demo_week.path, lake)  # the plan stores its schedule
    res = runner.invoke(app, ["plan", "--lake", str(lake), "--json", "--time-limit", "2"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    windows = payload["windows"]
    assert payload["schedule_id"] and set(payload["plans"]) == {"joint", "sequential"}
    assert windows and {"asset", "joint_start", "sequential_start", "off_shift"} <= set(windows[0])


def test_unknown_policy_is_exit_2_with_one_line(
    demo_week: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["twin", "run", "--lake", str(demo_week.path), "--policy", "hope"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "policy" in err and "hope" in err and err.count("\n") == 1


def test_empty_lake_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["twin", "validate", "--lake", str(tmp_path / "empty")])
    assert exited.value.code == 2
    assert "events" in capsys.readouterr().err
