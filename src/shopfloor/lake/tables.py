"""Delta tables on local disk (or any path delta-rs understands).

Every commit a shopfloor process makes is tagged with the ingest or job that made it
(``shopfloor.ingest_id`` in the commit's metadata), so a crashed ingest can tell on
restart whether its commit landed: that is how re-running completes it exactly once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

INGEST_KEY = "shopfloor.ingest_id"


def open_table(path: Path, version: int | None = None) -> DeltaTable | None:
    try:
        return DeltaTable(str(path), version=version)
    except TableNotFoundError:
        return None


def write_table(
    path: Path,
    data: pa.Table | pa.RecordBatchReader,
    *,
    mode: Literal["append", "overwrite"] = "append",
    partition_by: tuple[str, ...] = (),
    ingest_id: int | None = None,
    operation: str | None = None,
) -> int:
    """Write in one atomic commit and return the new version."""
    metadata: dict[str, Any] = {}
    if ingest_id is not None:
        metadata[INGEST_KEY] = str(ingest_id)
    if operation:
        metadata["shopfloor.operation"] = operation
    write_deltalake(
        str(path),
        data,
        mode=mode,
        partition_by=list(partition_by) or None,
        commit_properties=CommitProperties(custom_metadata=metadata),
        schema_mode="merge" if mode == "append" else "overwrite",
    )
    table = DeltaTable(str(path))
    return int(table.version())


def version_committed_by(path: Path, ingest_id: int) -> int | None:
    """The version a given ingest committed, if it committed one (checked on recovery only)."""
    table = open_table(path)
    if table is None:
        return None
    for entry in table.history():
        if str(entry.get(INGEST_KEY)) == str(ingest_id):
            return int(entry["version"])
    return None


def duckdb_type(dtype: pa.DataType) -> str:
    """The DuckDB SQL type that holds values of an Arrow type of the data model."""
    if pa.types.is_date(dtype):
        return "DATE"
    if pa.types.is_integer(dtype):
        return "BIGINT"
    if pa.types.is_floating(dtype):
        return "DOUBLE"
    if pa.types.is_timestamp(dtype):
        return "TIMESTAMPTZ" if dtype.tz else "TIMESTAMP"
    return "VARCHAR"
