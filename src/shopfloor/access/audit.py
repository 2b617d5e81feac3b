"""The audit log: every read of data or model output and every change, hash-chained.

Each row carries ``mac = HMAC-SHA256(key, previous mac || canonical row)``.  The key
lives in ``<lake>/.secrets/audit.key`` (mode 0600), outside the database, so whoever can
edit ``meta.sqlite`` but not read the key cannot forge a consistent chain; and the last
row's id and mac are mirrored to ``audit.head`` beside it, so that cutting rows off the
end is detected too.  ``verify`` walks the chain and names the first row at fault.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from shopfloor.access.sqlite import connection, open_database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    principal TEXT NOT NULL,      -- user name, or '-' before authentication
    action TEXT NOT NULL,         -- read | change | login | denied
    method TEXT NOT NULL,
    target TEXT NOT NULL,         -- path and query
    status INTEGER NOT NULL,
    sites TEXT NOT NULL,          -- the principal's sites ('*' every site)
    detail TEXT NOT NULL,
    mac TEXT NOT NULL
);
"""
_GENESIS = "0" * 64
_FIELDS = ("id", "at", "principal", "action", "method", "target", "status", "sites", "detail")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    principal: str
    action: str
    method: str
    target: str
    status: int
    sites: str
    detail: str
    mac: str


@dataclass(frozen=True)
class AuditVerification:
    rows: int
    ok: bool
    first_bad_id: int | None
    problem: str


def _canonical(values: dict[str, object]) -> bytes:
    return json.dumps([values[f] for f in _FIELDS], separators=(",", ":")).encode()


class AuditLog:
    """Append-only, chained audit rows in the lake's metadata database."""

    def __init__(self, database: Path, secrets_dir: Path) -> None:
        self.database = database
        self.secrets_dir = secrets_dir
        self._key = self._load_key()
        self._lock = threading.Lock()  # one writer per process; SQLite serialises processes
        self._writer: sqlite3.Connection | None = None  # kept open: a row costs 0.4 ms, not 2
        with self._connect() as con:
            con.executescript(_SCHEMA)

    @classmethod
    def for_lake(cls, lake_path: Path) -> AuditLog:
        return cls(lake_path / "meta.sqlite", lake_path / ".secrets")

    def _load_key(self) -> bytes:
        path = self.secrets_dir / "audit.key"
        if not path.exists():
            self.secrets_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.secrets_dir, 0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return bytes.fromhex(path.read_text().strip())

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connection(self.database)

    def _append_connection(self) -> sqlite3.Connection:
        """The writer's own connection, opened once (callers hold ``self._lock``)."""
        if self._writer is None:
            self._writer = open_database(self.database, shared=True)
        return self._writer

    def _mac(self, previous: str, values: dict[str, object]) -> str:
        return hmac.new(
            self._key, previous.encode() + _canonical(values), hashlib.sha256
        ).hexdigest()

    def _write_head(self, row_id: int, mac: str) -> None:
        head = self.secrets_dir / "audit.head"
        temporary = head.with_suffix(".tmp")
        temporary.write_text(f"{row_id} {mac}\n")
        os.replace(temporary, head)

    def _read_head(self) -> tuple[int, str] | None:
        head = self.secrets_dir / "audit.head"
        if not head.exists():
            return None
        number, _, mac = head.read_text().strip().partition(" ")
        return int(number), mac

    def append(
        self,
        *,
        principal: str,
        action: str,
        method: str,
        target: str,
        status: int,
        sites: str,
        detail: str = "",
    ) -> int:
        with self._lock:
            con = self._append_connection()
            con.execute("BEGIN IMMEDIATE")
            try:
                last = con.execute(
                    "SELECT id, mac FROM audit_log ORDER BY id DESC LIMIT 1"
                ).fetchone()
                row_id = (last["id"] + 1) if last else 1
                values: dict[str, object] = {
                    "id": row_id,
                    "at": round(time.time(), 6),
                    "principal": principal,
                    "action": action,
                    "method": method,
                    "target": target[:2000],
                    "status": int(status),
                    "sites": sites,
                    "detail": detail[:2000],
                }
                mac = self._mac(last["mac"] if last else _GENESIS, values)
                con.execute(
                    "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*(values[f] for f in _FIELDS), mac),
                )
                # The head is written before the commit: a crash between the two leaves a
                # head one row ahead, which verify reports rather than hides.
                self._write_head(row_id, mac)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return row_id

    def entries(
        self, *, limit: int = 100, principal: str | None = None, before_id: int | None = None
    ) -> list[AuditEntry]:
        where: list[str] = []
        params: list[object] = []
        if principal is not None:
            where.append("principal = ?")
            params.append(principal)
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self._connect() as con:
            rows = con.execute(
                f"SELECT * FROM audit_log {clause} ORDER BY id DESC LIMIT ?", (*params, limit)
            ).fetchall()
        return [AuditEntry(**dict(r)) for r in rows]

    def verify(self) -> AuditVerification:
        """Walk the whole chain; the first edited, inserted, removed or cut row fails it."""
        previous, expected_id, count = _GENESIS, 1, 0
        with self._connect() as con:
            for row in con.execute("SELECT * FROM audit_log ORDER BY id"):
                values = {f: row[f] for f in _FIELDS}
                if row["id"] != expected_id:
                    return AuditVerification(
                        count, False, row["id"], f"row {expected_id} is missing"
                    )
                if not hmac.compare_digest(self._mac(previous, values), row["mac"]):
                    return AuditVerification(
                        count, False, row["id"], f"row {row['id']} was altered"
                    )
                previous, expected_id, count = row["mac"], expected_id + 1, count + 1
        head = self._read_head()
        if head is None and count:
            return AuditVerification(count, False, count, "the head file is missing")
        if head is not None and (head[0] != count or head[1] != previous):
            return AuditVerification(
                count,
                False,
                min(head[0], count + 1),
                f"the log ends at row {count} but its head says row {head[0]}: "
                "rows were removed from the end",
            )
        return AuditVerification(count, True, None, "")
