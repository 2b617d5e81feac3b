"""`shopfloor maintenance ...` and `shopfloor models ...` on the shared demo plant."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, lake: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shopfloor.cli.main", *args, "--lake", str(lake)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_train_score_alerts_ack_and_rul(demo_plant) -> None:  # type: ignore[no-untyped-def]
    lake, _ = demo_plant
    trained = run("maintenance", "train", "--candidate", "--json", lake=lake.path)
    assert trained.returncode == 0, trained.stderr
    payload = json.loads(trained.stdout)
    assert len(payload["assets"]) == 12 and payload["normal_rows"] > 0
    scored = run("maintenance", "score", "--dry-run", "--json", lake=lake.path)
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["alerts_written"] == 0
    listed = json.loads(run("maintenance", "alerts", "--json", lake=lake.path).stdout)
    assert listed and {"alert_id", "asset", "state", "explanation"} <= set(listed[0])
    target = listed[-1]["alert_id"]
    acked = run("maintenance", "close", target, "--note", "false alarm", lake=lake.path)
    assert acked.returncode == 0, acked.stderr
    closed = json.loads(
        run("maintenance", "alerts", "--state", "closed", "--json", lake=lake.path).stdout
    )
    assert target in {a["alert_id"] for a in closed}
    outlook = json.loads(run("maintenance", "rul", "--json", lake=lake.path).stdout)
    assert outlook["level"] == 0.9 and len(outlook["assets"]) == 12
    first = outlook["assets"][0]
    assert first["lower_h"] <= first["rul_h"] <= first["upper_h"]


@pytest.mark.slow
def test_models_list_show_promote(demo_plant) -> None:  # type: ignore[no-untyped-def]
    lake, _ = demo_plant
    models = json.loads(run("models", "list", "--json", lake=lake.path).stdout)
    names = {m["name"] for m in models}
    assert {"condition", "rul"} <= names
    shown = json.loads(run("models", "show", "condition", "--json", lake=lake.path).stdout)
    assert shown["stage"] == "production" and "work_orders" in shown["training_data"]
    latest = max(m["version"] for m in models if m["name"] == "condition")
    promoted = run("models", "promote", "condition", str(latest), "--json", lake=lake.path)
    assert promoted.returncode == 0, promoted.stderr
    assert json.loads(promoted.stdout)["stage"] == "production"


def test_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    for args, message in [
        (("models", "show", "nothing"), "no model 'nothing'"),
        (("maintenance", "train"), "no readings"),
        (("maintenance", "ack", "X@1"), "no alert 'X@1'"),
        (("maintenance", "alerts", "--state", "bogus"), "state must be one of"),
    ]:
        result = run(*args, lake=lake)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
