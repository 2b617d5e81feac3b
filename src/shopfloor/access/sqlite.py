"""One way to open the lake's metadata database for the access tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def open_database(path: Path, *, shared: bool = False) -> sqlite3.Connection:
    """WAL mode, autocommit (transactions are explicit), rows by name; ``shared``: the
    connection may be used from other threads (the caller serialises it)."""
    con = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=not shared)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.row_factory = sqlite3.Row
    return con


@contextmanager
def connection(path: Path) -> Iterator[sqlite3.Connection]:
    con = open_database(path)
    try:
        yield con
    finally:
        con.close()
