"""SIGKILL mid-file: the lake stays at its previous version; a re-run completes exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from shopfloor.config import Settings
from shopfloor.ingest import ingest_file
from shopfloor.lake import Lake
from tests.conftest import readings_csv

ROWS = 3_000_000

_CHILD = """
import sys
from pathlib import Path
from shopfloor.config import Settings
from shopfloor.ingest import ingest_file
from shopfloor.lake import Lake
lake = Lake(sys.argv[1], Settings(lake=sys.argv[1]))
ingest_file(lake, Path(sys.argv[2]), "readings")
"""


def _big_csv(path: Path) -> None:
    duckdb.sql(
        f"COPY (SELECT 'M' || (i % 50) AS asset, 's' || (i % 7) AS signal, "
        f"strftime(TIMESTAMP '2026-01-01' + INTERVAL (i) SECOND, '%Y-%m-%dT%H:%M:%SZ') AS ts, "
        f"round(random() * 100, 3) AS value FROM range({ROWS}) t(i)) TO '{path}' (HEADER)"
    )


def _pending(lake_dir: Path) -> bool:
    db = lake_dir / "meta.sqlite"
    if not db.exists():
        return False
    try:
        with sqlite3.connect(db) as con:
            return bool(
                con.execute("SELECT count(*) FROM ingests WHERE status='pending'").fetchone()[0]
            )
    except sqlite3.OperationalError:
        return False


@pytest.mark.slow
def test_sigkill_mid_ingest_then_rerun_completes_exactly_once(tmp_path: Path) -> None:
    lake_dir = tmp_path / "lake"
    lake = Lake(lake_dir, Settings(lake=lake_dir, ingest={"unknown_assets": "register"}))
    small = tmp_path / "small.csv"
    small.write_text(readings_csv(100, asset="M0", signal="s0"))
    ingest_file(lake, small, "readings")
    big = tmp_path / "big.csv"
    _big_csv(big)

    env = dict(
        os.environ,
        SHOPFLOOR_INGEST__BATCH_ROWS="50000",
        SHOPFLOOR_INGEST__UNKNOWN_ASSETS="register",
    )
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(lake_dir), str(big)], env=env)
    deadline = time.monotonic() + 60
    while not _pending(lake_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # well into the file: batches are being written
    assert child.poll() is None, "the ingest finished before it could be killed: use a bigger file"
    child.send_signal(signal.SIGKILL)
    child.wait()

    after_kill = Lake(lake_dir, Settings(lake=lake_dir))
    assert after_kill.version("readings") == 0
    assert after_kill.table("readings").num_rows == 100
    assert after_kill.sql("SELECT count(*) AS n FROM readings")["n"][0] == 100

    resumed = Lake(lake_dir, Settings(lake=lake_dir, ingest={"unknown_assets": "register"}))
    result = ingest_file(resumed, big, "readings")
    assert result.status == "committed"
    assert result.accepted == ROWS
    assert resumed.table("readings").num_rows == ROWS + 100
    assert resumed.version("readings") == 1
    assert ingest_file(resumed, big, "readings").status == "skipped"
    assert resumed.table("readings").num_rows == ROWS + 100
    statuses = [r.status for r in resumed.meta.ingests()]
    assert statuses.count("committed") == 2 and "pending" not in statuses


def test_recovery_after_commit_but_before_lineage_update(lake: Lake, write_file) -> None:
    """A crash between the Delta commit and the lineage update must not duplicate rows."""
    path = write_file("r.csv", readings_csv(30))
    ingest_file(lake, path, "readings")
    with sqlite3.connect(lake.path / "meta.sqlite") as con:
        con.execute("UPDATE ingests SET status='pending'")
    result = ingest_file(lake, path, "readings")
    assert result.status == "committed"
    assert lake.table("readings").num_rows == 30
    assert lake.version("readings") == 0
