"""`shopfloor maintenance feedback | outcome | precision | drift | retrain`.

On the drifted demo plant of tests/workflows/drift_lake.py, replayed in full: the
pressure sensor of L1-M02 has drifted for three days by the end of the data.  Commands
run in-process through the CLI's entry point (exit codes and stderr as a shell sees
them); one runs as a real process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from shopfloor.cli.main import main
from shopfloor.lake import Lake
from shopfloor.schema import TABLES
from tests.workflows.drift_lake import DRIFT, END, TRAINED_UNTIL, drift_lake

ALERT = "L1-M02@20261008T1000"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    plant = drift_lake(tmp_path_factory.mktemp("cli-drift"))
    plant.replay(TRAINED_UNTIL, END)
    row = {
        "alert_id": ALERT,
        "asset": DRIFT.asset,
        "start": pd.Timestamp("2026-10-08T10:00", tz="UTC"),
        "state": "open",
        "model": "condition",
        "model_version": 1,
        "updated_at": pd.Timestamp("2026-10-08T10:00", tz="UTC"),
    }
    schema = TABLES["alerts"].schema
    plant.lake.write("alerts", pa.Table.from_pylist([row], schema=schema), operation="alerts")
    return plant.lake


def cli(capsys: pytest.CaptureFixture[str], lake: Lake, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main([*args, "--lake", str(lake.path)])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def as_json(out: str) -> Any:
    return json.loads(out)


def test_drift_reports_the_drifted_sensor(lake: Lake, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, lake, "maintenance", "drift", "--json")
    assert code == 0, err
    (report,) = as_json(out)
    assert report["model"] == "condition" and report["version"] == 1
    assert report["drifted_assets"] == [DRIFT.asset]
    asset = next(a for a in report["assets"] if a["asset"] == DRIFT.asset)
    pressure = next(f for f in asset["features"] if f["feature"] == DRIFT.signal)
    assert pressure["status"] == "drift" and pressure["psi"] >= 0.25
    assert pd.Timestamp(report["recent_end"]) == END
    code, out, _ = cli(capsys, lake, "maintenance", "drift", "--until", "2026-10-06")
    assert code == 0 and "no drift" in out  # the Monday before the drift
    code, _, err = cli(capsys, lake, "maintenance", "drift", "--model", "rul")
    assert code == 2 and "not a condition monitor fleet" in err


def test_retrain_promotes_only_when_asked_and_better(
    lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, lake, "maintenance", "retrain", "--no-promote", "--json")
    assert code == 0, err
    (result,) = as_json(out)
    proposal = result["proposal"]
    assert proposal["assets"] == [DRIFT.asset] and proposal["better"] is True
    assert proposal["challenger_score"] < proposal["champion_score"]
    assert result["promoted"] is False
    code, out, _ = cli(capsys, lake, "models", "show", "condition", "--json")
    assert as_json(out)["version"] == 1  # still the champion
    held = cli(capsys, lake, "models", "show", "condition", "--version", "2", "--json")[1]
    assert as_json(held)["stage"] == "candidate" and "--no-promote" in as_json(held)["notes"]
    code, out, err = cli(capsys, lake, "maintenance", "retrain", "--json")
    assert code == 0, err
    (result,) = as_json(out)
    assert result["promoted"] is True and result["reason"].startswith("promoted")
    shown = as_json(cli(capsys, lake, "models", "show", "condition", "--json")[1])
    assert shown["version"] == result["proposal"]["candidate"] == 3
    assert shown["stage"] == "production"


def test_feedback_outcome_and_precision(lake: Lake, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        capsys, lake, "maintenance", "feedback", ALERT, "--verdict", "false", "--by", "ana",
        "--note", "pressure transmitter drift, machine fine", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert as_json(out)["verdict"] == "false" and as_json(out)["model_version"] == 1
    code, _, err = cli(capsys, lake, "maintenance", "feedback", ALERT, "--verdict", "maybe")
    assert code == 2 and err.strip().splitlines() == [
        "error: field 'verdict': verdict must be one of true, false, unknown"
    ]
    work_order = str(lake.sql("SELECT work_order FROM work_orders LIMIT 1")["work_order"][0])
    code, out, err = cli(
        capsys, lake, "maintenance", "outcome", work_order, "--fault-found",
        "--failure-mode", "bearing", "--cost", "480", "--downtime-h", "2.5", "--json",
    )  # fmt: skip
    assert code == 0, err
    reported = as_json(out)
    assert reported["fault_found"] is True and reported["cost"] == 480.0
    code, _, err = cli(capsys, lake, "maintenance", "outcome", "WO-NONE", "--no-fault-found")
    assert code == 2 and "no work order 'WO-NONE'" in err
    code, _, err = cli(capsys, lake, "maintenance", "outcome", work_order, "--cost", "-1")
    assert code == 2 and "field 'cost'" in err
    code, out, _ = cli(capsys, lake, "maintenance", "precision", "--json")
    assert as_json(out) == [
        {"model": "condition", "version": 1, "true": 0, "false": 1, "unknown": 0, "precision": 0.0}
    ]


def test_an_unknown_alert_exits_2_with_one_line(lake: Lake) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shopfloor.cli.main", "maintenance", "feedback", "nope",
         "--verdict", "true", "--lake", str(lake.path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == "error: field 'alert_id': no alert 'nope'"
