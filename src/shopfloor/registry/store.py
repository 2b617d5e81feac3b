"""Versioned model artefacts beside the lake.

Each registered version is a pickled estimator under ``<lake>/models/<name>/v<N>/``
plus one row in the lake's SQLite file: its class, hyperparameters, metrics, the Delta
version of every table it was trained on (so training is reproducible with
``Lake.table(name, version=...)``) and a stage.  One version per name may be in
``production``; promoting another archives the previous one.  Artefacts are written to
a temporary file and renamed, and their checksum is verified on load, so a crash never
leaves a half-written model that a scorer could pick up.

Pickle is only ever loaded from this registry's own directory: never point a registry
at artefacts you did not write yourself.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shopfloor.errors import InputError, ModelError

Stage = Literal["candidate", "production", "archived"]
STAGES: tuple[Stage, ...] = ("candidate", "production", "archived")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    estimator TEXT NOT NULL,         -- module:Class
    created_at REAL NOT NULL,
    params TEXT NOT NULL,            -- JSON
    metrics TEXT NOT NULL,           -- JSON
    training_data TEXT NOT NULL,     -- JSON {table: delta version}
    artefact TEXT NOT NULL,          -- path relative to the registry root
    checksum TEXT NOT NULL,
    stage TEXT NOT NULL,
    notes TEXT,
    PRIMARY KEY (name, version)
);
"""


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    estimator: str
    created_at: float
    params: dict[str, Any]
    metrics: dict[str, float]
    training_data: dict[str, int | None]
    artefact: str
    checksum: str
    stage: Stage
    notes: str = ""


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _checksum(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class ModelRegistry:
    """Models of one lake: ``register``, ``list``, ``get``, ``load``, ``promote``."""

    def __init__(self, root: Path, database: Path) -> None:
        self.root = root
        self.database = database
        database.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(_SCHEMA)

    @classmethod
    def for_lake(cls, lake_path: Path) -> ModelRegistry:
        return cls(lake_path / "models", lake_path / "meta.sqlite")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.database, timeout=30.0, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.row_factory = sqlite3.Row
            yield con
        finally:
            con.close()

    # -- writing ------------------------------------------------------------------------
    def register(
        self,
        name: str,
        model: object,
        *,
        metrics: dict[str, float] | None = None,
        training_data: dict[str, int | None] | None = None,
        notes: str = "",
        stage: Stage = "candidate",
    ) -> ModelVersion:
        """Store ``model`` as the next version of ``name``; returns its record."""
        if not _NAME.match(name):
            raise InputError(f"model name {name!r} must be letters, digits, '_', '.', '-'")
        if stage not in STAGES:
            raise InputError(f"stage must be one of {', '.join(STAGES)}", field="stage")
        payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        params = model.get_params() if hasattr(model, "get_params") else {}
        estimator = f"{type(model).__module__}:{type(model).__qualname__}"
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")  # one writer picks the next version number
            try:
                row = con.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM models WHERE name = ?", (name,)
                ).fetchone()
                version = int(row[0]) + 1
                relative = Path(name) / f"v{version}" / "model.pkl"
                target = self.root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_suffix(".tmp")
                with open(tmp, "wb") as handle:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
                if stage == "production":
                    con.execute(
                        "UPDATE models SET stage = 'archived' "
                        "WHERE name = ? AND stage = 'production'",
                        (name,),
                    )
                con.execute(
                    "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        version,
                        estimator,
                        time.time(),
                        _json(params),
                        _json(metrics or {}),
                        _json(training_data or {}),
                        relative.as_posix(),
                        _checksum(payload),
                        stage,
                        notes,
                    ),
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return self.get(name, version)

    def promote(self, name: str, version: int) -> ModelVersion:
        """Make ``version`` the production model of ``name`` (the previous one is archived)."""
        self.get(name, version)  # one-line error when it does not exist
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            con.execute(
                "UPDATE models SET stage = 'archived' WHERE name = ? AND stage = 'production'",
                (name,),
            )
            con.execute(
                "UPDATE models SET stage = 'production' WHERE name = ? AND version = ?",
                (name, version),
            )
            con.execute("COMMIT")
        return self.get(name, version)

    def annotate(self, name: str, version: int, text: str) -> ModelVersion:
        """Append a line to a version's notes (why it was or was not promoted, say)."""
        record = self.get(name, version)
        notes = f"{record.notes}\n{text}" if record.notes else text
        with self._connect() as con:
            con.execute(
                "UPDATE models SET notes = ? WHERE name = ? AND version = ?",
                (notes, name, version),
            )
        return self.get(name, version)

    # -- reading ------------------------------------------------------------------------
    def list(self, name: str | None = None) -> list[ModelVersion]:
        query = "SELECT * FROM models"
        args: tuple[str, ...] = ()
        if name is not None:
            query += " WHERE name = ?"
            args = (name,)
        with self._connect() as con:
            rows = con.execute(query + " ORDER BY name, version", args).fetchall()
        return [self._record(r) for r in rows]

    def get(self, name: str, version: int | None = None) -> ModelVersion:
        """One version; without ``version`` the production one, else the latest."""
        with self._connect() as con:
            if version is not None:
                row = con.execute(
                    "SELECT * FROM models WHERE name = ? AND version = ?", (name, version)
                ).fetchone()
            else:
                row = con.execute(
                    "SELECT * FROM models WHERE name = ? "
                    "ORDER BY stage = 'production' DESC, version DESC LIMIT 1",
                    (name,),
                ).fetchone()
        if row is None:
            known = sorted({m.name for m in self.list()})
            what = f"{name!r} version {version}" if version is not None else repr(name)
            hint = f" (known models: {', '.join(known)})" if known else " (the registry is empty)"
            raise ModelError(f"no model {what}{hint}")
        return self._record(row)

    def load(self, name: str, version: int | None = None) -> Any:
        """The estimator of a version (production, else latest), checksum verified."""
        record = self.get(name, version)
        path = self.root / record.artefact
        try:
            payload = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"{path}: model artefact missing ({exc.strerror})") from exc
        if _checksum(payload) != record.checksum:
            raise ModelError(f"{path}: checksum mismatch, the artefact was changed or damaged")
        return pickle.loads(payload)  # our own artefact, checksum verified above

    @staticmethod
    def _record(row: sqlite3.Row) -> ModelVersion:
        return ModelVersion(
            name=row["name"],
            version=int(row["version"]),
            estimator=row["estimator"],
            created_at=float(row["created_at"]),
            params=json.loads(row["params"]),
            metrics=json.loads(row["metrics"]),
            training_data=json.loads(row["training_data"]),
            artefact=row["artefact"],
            checksum=row["checksum"],
            stage=row["stage"],
            notes=row["notes"] or "",
        )
