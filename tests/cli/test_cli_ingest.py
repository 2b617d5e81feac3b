"""The CLI contract: JSON shapes, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import readings_csv


def run(*args: str, lake: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shopfloor.cli.main", *args, "--lake", str(lake)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_ingest_json_and_idempotence(tmp_path: Path) -> None:
    data = tmp_path / "r.csv"
    data.write_text(readings_csv(100) + "M1,temp,2026-01-05T00:00:00Z,oops\n")
    first = run("ingest", str(data), "--table", "readings", "--json", lake=tmp_path / "lake")
    assert first.returncode == 0, first.stderr
    payload = json.loads(first.stdout)
    assert {k: payload[k] for k in ("accepted", "rejected", "quarantined", "table_version")} == {
        "accepted": 100,
        "rejected": 0,
        "quarantined": 1,
        "table_version": 0,
    }
    second = run("ingest", str(data), "--table", "readings", "--json", lake=tmp_path / "lake")
    assert json.loads(second.stdout)["accepted"] == 0
    info = json.loads(run("lake", "info", "--json", lake=tmp_path / "lake").stdout)
    readings = next(t for t in info["tables"] if t["name"] == "readings")
    assert readings["rows"] == 100 and readings["version"] == 0


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = run("ingest", str(empty), "--table", "readings", lake=tmp_path / "lake")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "empty.csv" in lines[0] and "empty" in lines[0]
    unknown = run("ingest", str(empty), "--table", "sensors", lake=tmp_path / "lake")
    assert unknown.returncode == 2
    assert "unknown table 'sensors'" in unknown.stderr
    bad_option = run("oee", "--by", "planet", lake=tmp_path / "lake")
    assert bad_option.returncode == 2


def test_glob_with_one_bad_file_keeps_the_good_ones(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text(readings_csv(10))
    (folder / "b.csv").write_bytes(b"\x00\x01garbage")
    result = run(
        "ingest", str(folder / "*.csv"), "--table", "readings", "--json", lake=tmp_path / "lake"
    )
    assert result.returncode == 2
    assert json.loads(result.stdout)["accepted"] == 10
    assert "b.csv" in result.stderr


def test_lake_compact_vacuum_lineage(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    for i in range(3):
        path = tmp_path / f"{i}.csv"
        path.write_text(readings_csv(20, start=20 * i))
        assert run("ingest", str(path), "--table", "readings", lake=lake).returncode == 0
    compact = json.loads(run("lake", "compact", "--json", lake=lake).stdout)
    assert compact["readings"]["version"] == 3
    assert run("lake", "vacuum", "--retention-hours", "0", lake=lake).returncode == 0
    lineage = json.loads(run("lake", "lineage", "--json", lake=lake).stdout)
    assert [r["status"] for r in lineage] == ["committed"] * 3
    assert all(len(r["checksum"]) == 40 for r in lineage)
