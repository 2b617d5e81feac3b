"""`shopfloor oee --backend`: the OEE command on a chosen compute backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopfloor.lake import Lake
from tests.workflows.supply_lake import ingest_csv

EVENTS = """asset,start,end,kind,code
M1,2024-01-01T06:00:00Z,2024-01-01T10:00:00Z,state,running
M1,2024-01-01T10:00:00Z,2024-01-01T11:00:00Z,state,down
M1,2024-01-01T11:00:00Z,2024-01-01T14:00:00Z,state,planned_stop
"""


def test_oee_on_the_local_backend(lake: Lake, capsys: pytest.CaptureFixture[str]) -> None:
    from shopfloor.cli.main import main

    ingest_csv(lake, "events", EVENTS, "events")
    with pytest.raises(SystemExit) as info:
        main(["oee", "--lake", str(lake.path), "--backend", "local", "--json"])
    assert info.value.code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["group"], r["planned_time_s"], r["run_time_s"]) for r in rows] == [
        ("M1", 5 * 3600.0, 4 * 3600.0)
    ]


def test_an_unknown_backend_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shopfloor.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(["oee", "--lake", str(tmp_path / "lake"), "--backend", "dask"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: field 'backend': backend must be local or spark, not 'dask'"
