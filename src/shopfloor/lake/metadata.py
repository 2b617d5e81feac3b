"""Metadata store: asset hierarchy, signals and ingest lineage in SQLite (WAL mode).

Facts live in Delta tables; everything small, relational and frequently updated lives
here.  The SQL is plain enough to run on PostgreSQL for a multi-node server.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

_SCHEMA = """
CREATE TABLE IF NOT EXISTS assets (
    asset TEXT PRIMARY KEY,
    parent TEXT,
    level TEXT NOT NULL,
    name TEXT,
    site TEXT,
    line TEXT
);
CREATE TABLE IF NOT EXISTS signals (
    asset TEXT NOT NULL,
    signal TEXT NOT NULL,
    unit TEXT,
    kind TEXT,
    lower REAL,
    upper REAL,
    period_s REAL,
    PRIMARY KEY (asset, signal)
);
CREATE TABLE IF NOT EXISTS ingests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    checksum TEXT NOT NULL,
    table_name TEXT NOT NULL,
    mapping_hash TEXT NOT NULL,
    status TEXT NOT NULL,            -- pending | committed | rejected
    rows_read INTEGER,
    accepted INTEGER,
    rejected INTEGER,
    quarantined INTEGER,
    table_version INTEGER,
    quarantine_version INTEGER,
    started_at REAL NOT NULL,
    finished_at REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS ingests_by_content ON ingests (checksum, table_name, mapping_hash);
CREATE TABLE IF NOT EXISTS table_versions (
    table_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    operation TEXT NOT NULL,
    ingest_id INTEGER,
    at REAL NOT NULL,
    detail TEXT,
    PRIMARY KEY (table_name, version)
);
"""


@dataclass(frozen=True)
class IngestRecord:
    id: int
    source: str
    checksum: str
    table_name: str
    mapping_hash: str
    status: str
    rows_read: int | None
    accepted: int | None
    rejected: int | None
    quarantined: int | None
    table_version: int | None
    quarantine_version: int | None
    started_at: float
    finished_at: float | None
    error: str | None


class MetaStore:
    """Thin typed wrapper around the lake's SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            con.executescript(_SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA foreign_keys=ON")
            con.row_factory = sqlite3.Row
            yield con
        finally:
            con.close()

    # -- registry -----------------------------------------------------------------------
    def upsert(self, table: str, rows: pa.Table, key: tuple[str, ...]) -> int:
        """Insert or update rows of ``assets`` or ``signals`` by their key; returns rows written."""
        if rows.num_rows == 0:
            return 0
        names = rows.column_names
        cols = ", ".join(f'"{n}"' for n in names)
        marks = ", ".join("?" for _ in names)
        updates = ", ".join(f'"{n}"=excluded."{n}"' for n in names if n not in key)
        conflict = ", ".join(key)
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT({conflict}) {action}"
        data = list(zip(*(rows.column(n).to_pylist() for n in names), strict=True))
        with self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(sql, data)
            con.execute("COMMIT")
        return len(data)

    def insert_missing(
        self, table: str, rows: Iterable[tuple[Any, ...]], names: tuple[str, ...]
    ) -> None:
        cols = ", ".join(names)
        marks = ", ".join("?" for _ in names)
        with self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(f"INSERT OR IGNORE INTO {table} ({cols}) VALUES ({marks})", list(rows))
            con.execute("COMMIT")

    def read(self, table: str) -> pa.Table:
        from shopfloor.schema import TABLES

        schema = TABLES[table].schema
        with self.connect() as con:
            rows = con.execute(f"SELECT {', '.join(schema.names)} FROM {table}").fetchall()
        columns = {n: [r[i] for r in rows] for i, n in enumerate(schema.names)}
        return pa.table(columns, schema=schema)

    def count(self, table: str) -> int:
        with self.connect() as con:
            return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    # -- lineage ------------------------------------------------------------------------
    def find_ingest(self, checksum: str, table: str, mapping_hash: str) -> IngestRecord | None:
        """The latest committed or pending ingest of the same content into the same table."""
        with self.connect() as con:
            row = con.execute(
                "SELECT * FROM ingests WHERE checksum=? AND table_name=? AND mapping_hash=?"
                " AND status IN ('committed', 'pending') ORDER BY id DESC LIMIT 1",
                (checksum, table, mapping_hash),
            ).fetchone()
        return IngestRecord(**dict(row)) if row else None

    def begin_ingest(self, source: str, checksum: str, table: str, mapping_hash: str) -> int:
        with self.connect() as con:
            cur = con.execute(
                "INSERT INTO ingests (source, checksum, table_name, mapping_hash, status, "
                "started_at)"
                " VALUES (?, ?, ?, ?, 'pending', ?)",
                (source, checksum, table, mapping_hash, time.time()),
            )
            return int(cur.lastrowid or 0)

    def finish_ingest(self, ingest_id: int, status: str, **figures: Any) -> None:
        allowed = {
            "rows_read",
            "accepted",
            "rejected",
            "quarantined",
            "table_version",
            "quarantine_version",
            "error",
        }
        unknown = set(figures) - allowed
        if unknown:
            raise ValueError(f"unknown lineage fields {sorted(unknown)}")
        sets = ", ".join(f"{k}=?" for k in figures)
        values = [*figures.values(), status, time.time(), ingest_id]
        with self.connect() as con:
            con.execute(
                f"UPDATE ingests SET {sets}{', ' if sets else ''}status=?, finished_at=? "
                "WHERE id=?",
                values,
            )

    def ingests(self, limit: int | None = None) -> list[IngestRecord]:
        sql = "SELECT * FROM ingests ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        with self.connect() as con:
            return [IngestRecord(**dict(r)) for r in con.execute(sql).fetchall()]

    def ingest_times(self) -> pa.Table:
        """ingest_id -> received_at (UTC) for joining onto facts, e.g. future-timestamp checks."""
        with self.connect() as con:
            rows = con.execute(
                "SELECT id, coalesce(finished_at, started_at) FROM ingests WHERE status='committed'"
            ).fetchall()
        return pa.table(
            {
                "ingest_id": pa.array([r[0] for r in rows], pa.int64()),
                "received_at": pa.array([int(r[1] * 1_000_000) for r in rows], pa.int64()).cast(
                    pa.timestamp("us", tz="UTC")
                ),
            }
        )

    def record_version(
        self,
        table: str,
        version: int,
        operation: str,
        ingest_id: int | None = None,
        detail: str = "",
    ) -> None:
        with self.connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO table_versions VALUES (?, ?, ?, ?, ?, ?)",
                (table, version, operation, ingest_id, time.time(), detail),
            )
