"""The audit log's chain detects edits, inserts, deletions and a cut-off end."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from shopfloor.access import AuditLog


def _log(tmp_path: Path, rows: int = 5) -> AuditLog:
    log = AuditLog(tmp_path / "meta.sqlite", tmp_path / ".secrets")
    for i in range(rows):
        log.append(
            principal=f"user{i % 2}",
            action="read",
            method="GET",
            target=f"/api/assets/M{i}",
            status=200,
            sites="A",
        )
    return log


def _sql(log: AuditLog, statement: str, *params: object) -> None:
    with sqlite3.connect(log.database) as con:
        con.execute(statement, params)


def test_an_untouched_log_verifies(tmp_path: Path) -> None:
    log = _log(tmp_path)
    found = log.verify()
    assert found.ok and found.rows == 5
    assert [e.id for e in log.entries(limit=2)] == [5, 4]
    assert {e.principal for e in log.entries(principal="user1")} == {"user1"}


def test_the_key_stays_outside_the_database_and_private(tmp_path: Path) -> None:
    log = _log(tmp_path, 1)
    key = tmp_path / ".secrets" / "audit.key"
    assert key.stat().st_mode & 0o077 == 0
    assert key.read_text().strip() not in log.database.read_bytes().decode("latin-1")


@pytest.mark.parametrize(
    ("statement", "params", "bad"),
    [
        ("UPDATE audit_log SET target='/api/nothing' WHERE id=3", (), 3),
        ("UPDATE audit_log SET status=500 WHERE id=1", (), 1),
        ("DELETE FROM audit_log WHERE id=2", (), 3),
        ("UPDATE audit_log SET principal='someone' WHERE id=5", (), 5),
    ],
)
def test_editing_or_deleting_a_row_is_detected(
    tmp_path: Path, statement: str, params: tuple[object, ...], bad: int
) -> None:
    log = _log(tmp_path)
    _sql(log, statement, *params)
    found = log.verify()
    assert not found.ok and found.first_bad_id == bad, found


def test_recomputing_the_chain_without_the_key_is_detected(tmp_path: Path) -> None:
    import hashlib
    import json

    log = _log(tmp_path, 3)
    # An attacker who knows the scheme but not the key rewrites row 3 with a plain hash.
    _sql(
        log,
        "UPDATE audit_log SET target='/api/x', mac=? WHERE id=3",
        hashlib.sha256(json.dumps(["forged"]).encode()).hexdigest(),
    )
    assert not log.verify().ok


def test_cutting_rows_off_the_end_is_detected(tmp_path: Path) -> None:
    log = _log(tmp_path)
    _sql(log, "DELETE FROM audit_log WHERE id >= 4")
    found = log.verify()
    assert not found.ok and "removed from the end" in found.problem


def test_concurrent_writers_keep_one_unbroken_chain(tmp_path: Path) -> None:
    log = _log(tmp_path, 0)
    other = AuditLog(log.database, log.secrets_dir)  # a second process's view of the log

    def write(target: AuditLog, n: int) -> None:
        for i in range(n):
            target.append(
                principal="t", action="read", method="GET", target=f"/{i}", status=200, sites="*"
            )

    threads = [threading.Thread(target=write, args=(x, 40)) for x in (log, other, log)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = log.verify()
    assert found.ok and found.rows == 120
