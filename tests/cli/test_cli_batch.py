"""`shopfloor batch`: the batch pipeline from the command line (the Spark runs and their
comparison with local ones are in tests/workflows/test_backend_batch.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shopfloor.lake import Lake


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shopfloor.cli.main", "batch", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
def test_batch_runs_every_step_locally(demo_week: Lake, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(demo_week.path, lake)
    result = run("--lake", str(lake), "--backend", "local", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["backend"] == "local"
    assert payload["quality_issues"] > 0
    assert payload["condition_model"]["version"] >= 2  # the demo registered version 1
    assert payload["rul_assets"] == 12
    assert payload["forecast_id"]
    assert set(payload["seconds"]) == {"quality", "oee", "train", "score", "rul", "forecast"}


def test_unknown_backend_is_a_one_line_error(tmp_path: Path) -> None:
    result = run("--lake", str(tmp_path / "lake"), "--backend", "dask")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "backend must be local or spark, not 'dask'" in lines[0]
    assert not (tmp_path / "lake" / "tables").exists()


def test_backend_setting_is_read_from_the_environment(tmp_path: Path) -> None:
    result = run("--lake", str(tmp_path / "lake"), env={"SHOPFLOOR_COMPUTE__BACKEND": "dask"})
    assert result.returncode == 2
    assert "compute.backend" in result.stderr
