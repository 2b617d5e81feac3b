"""File ingest: source file -> validated canonical rows -> one atomic commit.

The steps, and why:

1. The file's checksum (plus table and mapping) identifies the ingest in the lineage
   table.  Already committed: nothing is written again (idempotent appends).  Still
   ``pending`` (a previous run was killed): the Delta history says which of its commits
   landed, and only the missing ones are made (exactly once).
2. One DuckDB query parses, converts and validates; its result streams in Arrow batches
   (bounded memory).  Rows with a reason are spooled to a temporary Parquet file.
3. Good rows go into the target table in a single Delta commit tagged with the ingest
   id; a process killed before that commit leaves the table at its previous version.
4. Quarantined rows are committed to ``quarantine``; assets and signals first seen are
   registered; the lineage row is marked committed with its counts and versions.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shopfloor.errors import InputError
from shopfloor.ingest.expressions import ident, table_query, wide_query
from shopfloor.ingest.mapping import DEFAULT_MAPPING, Mapping
from shopfloor.ingest.sources import Source, checksum, open_source
from shopfloor.lake import Lake
from shopfloor.lake.tables import version_committed_by
from shopfloor.schema import TABLES, TableSpec, delta_schema, table_spec

Progress = Callable[[int], None]
"""Called with the number of source rows just processed."""

_QUARANTINE = delta_schema(TABLES["quarantine"])


@dataclass(frozen=True)
class IngestResult:
    source: str
    table: str
    status: Literal["committed", "skipped", "rejected"]
    ingest_id: int | None = None
    accepted: int = 0
    rejected: int = 0
    quarantined: int = 0
    table_version: int | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass
class IngestSummary:
    results: list[IngestResult] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(r.accepted for r in self.results)

    @property
    def rejected(self) -> int:
        return sum(r.rejected for r in self.results)

    @property
    def quarantined(self) -> int:
        return sum(r.quarantined for r in self.results)

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.results if r.error]

    @property
    def table_version(self) -> int | None:
        versions = [r.table_version for r in self.results if r.table_version is not None]
        return max(versions) if versions else None

    def to_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "quarantined": self.quarantined,
            "table_version": self.table_version,
            "files": len(self.results),
            "skipped_files": sum(r.status == "skipped" for r in self.results),
            "errors": self.errors,
        }


def estimate_rows(source: Source, layout_width: int = 1) -> int:
    """Rough total for progress bars: Parquet metadata, or bytes / sampled line length."""
    if source.format == "parquet":
        return int(pq.ParquetFile(source.path).metadata.num_rows) * layout_width
    with source.path.open("rb") as handle:
        sample = handle.read(1 << 20)
    lines = max(sample.count(b"\n"), 1)
    return int(source.bytes / (len(sample) / lines)) * layout_width


def _file_is_tz_aware(con: duckdb.DuckDBPyConnection, source: Source, column: str) -> bool:
    """Whether the file's timestamps carry offsets, judged on its first rows."""
    if source.columns.get(column, "").upper() != "VARCHAR":
        return False
    col = ident(column)
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE right({col}, 1) IN ('Z', 'z') OR "
        f"substr({col}, -6, 1) IN ('+', '-') OR (length({col}) > 16 AND "
        f"substr({col}, -5, 1) IN ('+', '-'))), count({col}) "
        f"FROM (SELECT {col} FROM {source.relation} LIMIT 10000)"
    ).fetchall()[0]
    return bool(row and row[1] and row[0] * 2 > row[1])


def _wide_columns(source: Source, mapping: Mapping) -> dict[str, str] | None:
    """Source column -> signal for wide layout; None for long layout."""
    if mapping.signals:
        return {c: m.signal for c, m in mapping.signals.items()}
    if mapping.long is not None or {"signal", "value"} <= set(source.columns):
        return None
    skip = {mapping.timestamp.column, mapping.asset.column, "quality"}
    wide = {c: c for c in source.columns if c not in skip}
    if mapping.timestamp.column not in source.columns or not wide:
        raise InputError(
            "readings need columns asset, signal, ts, value (long layout), or ts plus one "
            "column per signal (wide layout), or a mapping file",
            source=str(source.path),
        )
    return wide


def _registered_units(lake: Lake) -> dict[str, str]:
    rows = lake.meta.read("signals").to_pylist()
    return {r["signal"]: r["unit"] for r in rows if r.get("unit")}


def _data_columns(spec: TableSpec) -> list[str]:
    return delta_schema(spec).names if spec.storage == "delta" else list(spec.schema.names)


class _Run:
    """State of one file's pass: counters, the quarantine spool, first-seen keys."""

    def __init__(
        self,
        spec: TableSpec,
        source: str,
        spool: Path,
        progress: Progress | None,
        known_assets: pa.ChunkedArray | None = None,
    ):
        self.known_assets = known_assets
        self.spec = spec
        self.source = source
        self.spool_path = spool
        self.progress = progress
        self.accepted = 0
        self.quarantined = 0
        self.read = 0
        self.keys: set[tuple[str, str]] = set()
        self._writer: pq.ParquetWriter | None = None
        self._now = pa.scalar(int(time.time() * 1_000_000), pa.int64()).cast(
            pa.timestamp("us", tz="UTC")
        )

    def quarantine(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.spool_path, _QUARANTINE)
        self._writer.write_table(rows.cast(_QUARANTINE))
        self.quarantined += rows.num_rows

    def _flag_unknown_assets(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Give rows of assets missing from the registry their reason (and raw row)."""
        asset = batch.column("asset")
        reason = batch.column("__reason")
        unknown = pc.and_(
            pc.is_null(reason), pc.invert(pc.is_in(asset, value_set=self.known_assets))
        )
        if not pc.any(unknown).as_py():
            return batch
        message = pc.binary_join_element_wise("unknown asset '", asset, "'", "")
        raw = batch.column("__raw").to_pylist()
        data_columns = [c for c in _data_columns(self.spec) if c in batch.schema.names]
        for i in pc.indices_nonzero(unknown).to_pylist():
            raw[i] = json.dumps({c: batch.column(c)[i].as_py() for c in data_columns}, default=str)
        columns = dict(zip(batch.schema.names, batch.columns, strict=True))
        columns["__reason"] = pc.if_else(unknown, message, reason)
        columns["__raw"] = pa.array(raw, pa.string())
        return pa.RecordBatch.from_pydict(columns)

    def split(self, batches: pa.RecordBatchReader, ingest_id: int) -> Iterator[pa.RecordBatch]:
        columns = _data_columns(self.spec)
        schema = delta_schema(self.spec) if self.spec.storage == "delta" else self.spec.schema
        for batch in batches:
            first = self.read + 1
            self.read += batch.num_rows
            if "__row" not in batch.schema.names:
                # The query leaves numbering to us (rows arrive in source order): 1-based.
                rownum = pa.array(np.arange(first, first + batch.num_rows, dtype=np.int64))
                batch = batch.append_column("__row", rownum).append_column("seq", rownum)
            if self.known_assets is not None:
                batch = self._flag_unknown_assets(batch)
            reason = batch.column("__reason")
            ok = None if reason.null_count == batch.num_rows else pc.is_null(reason)
            good = batch if ok is None else batch.filter(ok)  # all valid: no copy
            if ok is not None and good.num_rows < batch.num_rows:
                bad = batch.filter(pc.invert(ok))
                n = bad.num_rows
                self.quarantine(
                    pa.table(
                        {
                            "table": pa.array([self.spec.name] * n, pa.string()),
                            "source": pa.array([self.source] * n, pa.string()),
                            "row": bad.column("__row"),
                            "reason": bad.column("__reason"),
                            "raw": bad.column("__raw"),
                            "ingested_at": pa.array([self._now] * n),
                            "ingest_id": pa.array([ingest_id] * n, pa.int64()),
                            "seq": bad.column("__row"),
                        }
                    )
                )
            if good.num_rows:
                out = pa.RecordBatch.from_arrays(
                    [good.column(c) for c in columns], names=columns
                ).cast(schema.with_metadata(None))  # type: ignore[arg-type]
                if self.spec.name == "readings":
                    # Hash-group the two columns (3x cheaper than joining them into strings).
                    pairs = (
                        pa.table([out.column("asset"), out.column("signal")], names=["a", "s"])
                        .group_by(["a", "s"], use_threads=False)
                        .aggregate([])
                    )
                    self.keys.update(
                        zip(
                            pairs.column("a").to_pylist(),
                            pairs.column("s").to_pylist(),
                            strict=True,
                        )
                    )
                self.accepted += out.num_rows
                yield out
            if self.progress:
                self.progress(batch.num_rows)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _structural_rejects(
    con: duckdb.DuckDBPyConnection, run: _Run, source: Source, ingest_id: int
) -> None:
    """CSV lines DuckDB could not split into the header's columns go to quarantine."""
    if source.format != "csv":
        return
    try:
        rows = con.execute(
            "SELECT line, error_message, csv_line FROM reject_errors ORDER BY line"
        ).fetchall()
    except duckdb.Error:
        return
    if not rows:
        return
    n = len(rows)
    run.quarantine(
        pa.table(
            {
                "table": [run.spec.name] * n,
                "source": [run.source] * n,
                "row": pa.array([int(r[0]) - 1 for r in rows], pa.int64()),
                "reason": [f"line {r[0]}: {r[1]}" for r in rows],
                "raw": [r[2] for r in rows],
                "ingested_at": pa.array([run._now] * n),
                "ingest_id": pa.array([ingest_id] * n, pa.int64()),
                "seq": pa.array([int(r[0]) - 1 for r in rows], pa.int64()),
            }
        )
    )


def ingest_file(
    lake: Lake,
    path: Path,
    table: str,
    mapping: Mapping = DEFAULT_MAPPING,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> IngestResult:
    """Ingest one file into one canonical table; raises InputError for a refused file."""
    spec = table_spec(table)
    if spec.name == "quarantine":
        raise InputError("the quarantine table is written by shopfloor itself", field="table")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        source = open_source(con, path, mapping)
        digest = checksum(path)
        fingerprint = mapping.fingerprint()
        prior = lake.meta.find_ingest(digest, spec.name, fingerprint)
        if prior is not None and prior.status == "committed":
            return IngestResult(
                str(path),
                spec.name,
                "skipped",
                prior.id,
                table_version=lake.version(spec.name),
                warnings=("already ingested; nothing written",),
            )
        ingest_id = (
            prior.id
            if prior is not None
            else lake.meta.begin_ingest(str(path), digest, spec.name, fingerprint)
        )
        try:
            return _ingest(
                lake,
                con,
                source,
                spec,
                mapping,
                ingest_id,
                progress,
                on_total,
                recovering=prior is not None,
            )
        except InputError as exc:
            lake.meta.finish_ingest(ingest_id, "rejected", error=str(exc))
            raise
        except duckdb.Error as exc:
            message = str(exc).strip().splitlines()[0][:300]
            error = InputError(f"cannot read: {message}", source=str(path))
            lake.meta.finish_ingest(ingest_id, "rejected", error=str(error))
            raise error from None
    finally:
        con.close()


def _ingest(
    lake: Lake,
    con: duckdb.DuckDBPyConnection,
    source: Source,
    spec: TableSpec,
    mapping: Mapping,
    ingest_id: int,
    progress: Progress | None,
    on_total: Callable[[int], None] | None,
    recovering: bool,
) -> IngestResult:
    registry = lake.meta.read("assets").column("asset")
    policy = lake.settings.ingest.unknown_assets
    check_assets = policy == "quarantine" or (policy == "auto" and len(registry) > 0)
    # Checked per batch in Arrow, not in SQL: a join in the query would let DuckDB emit
    # rows out of source order, and `seq` is numbered by arrival.
    guarded = "asset" in spec.schema.names and spec.name not in ("assets", "signals")
    known = registry if check_assets and guarded else None
    registered = _registered_units(lake)
    ts_column = mapping.timestamp.column if spec.name == "readings" else None
    aware = _file_is_tz_aware(con, source, ts_column or _first_ts_column(spec, mapping, source))
    wide = _wide_columns(source, mapping) if spec.name == "readings" else None
    if wide is not None:
        query = wide_query(source, spec, mapping, wide, registered, ingest_id, aware)
    else:
        query = table_query(source, spec, mapping, ingest_id, aware, registered)
    if on_total:
        on_total(estimate_rows(source, len(wide) if wide else 1))

    data_version = (
        version_committed_by(lake.table_path(spec.name), ingest_id)
        if recovering and spec.storage == "delta"
        else None
    )
    q_version = (
        version_committed_by(lake.table_path("quarantine"), ingest_id) if recovering else None
    )

    spool_dir = lake.path / "tmp"
    spool_dir.mkdir(exist_ok=True)
    fd, spool_name = tempfile.mkstemp(
        prefix=f"quarantine-{ingest_id}-", suffix=".parquet", dir=spool_dir
    )
    os.close(fd)
    os.unlink(spool_name)
    spool = Path(spool_name)
    run = _Run(spec, str(source.path), spool, progress, known)
    if source.format == "csv":
        # The format sniff above already scanned the head: count each rejected line once.
        with contextlib.suppress(duckdb.Error):
            con.execute("DELETE FROM reject_errors").fetchall()
    try:
        reader = con.sql(query).to_arrow_reader(lake.settings.ingest.batch_rows)
        batches = run.split(reader, ingest_id)
        table_version: int | None = data_version
        if spec.storage == "sqlite":
            rows = list(batches)
            if rows:
                lake.meta.upsert(spec.name, pa.Table.from_batches(rows), spec.key)
        elif data_version is None:
            stream = pa.RecordBatchReader.from_batches(
                delta_schema(spec).with_metadata(None), batches
            )
            table_version = lake.write(spec.name, stream, ingest_id=ingest_id, operation="ingest")
        else:
            for _ in batches:  # already committed before a crash: only recount
                pass
        _structural_rejects(con, run, source, ingest_id)
        run.close()
        if spec.name == "readings" and run.keys:
            _register(lake, run.keys, mapping, registered)
        if run.quarantined and q_version is None:
            q_version = lake.write(
                "quarantine",
                pq.read_table(spool).cast(_QUARANTINE),
                ingest_id=ingest_id,
                operation="quarantine",
            )
    finally:
        run.close()
        with contextlib.suppress(FileNotFoundError):
            spool.unlink()
    lake.meta.finish_ingest(
        ingest_id,
        "committed",
        rows_read=run.read,
        accepted=run.accepted,
        rejected=0,
        quarantined=run.quarantined,
        table_version=table_version,
        quarantine_version=q_version,
    )
    warnings: tuple[str, ...] = ()
    if spec.name != "readings":
        used = set(mapping.columns.values()) | set(spec.schema.names)
        ignored = sorted(set(source.columns) - used)
        if ignored:
            warnings = (f"ignored columns not in table '{spec.name}': {', '.join(ignored)}",)
    return IngestResult(
        str(source.path),
        spec.name,
        "committed",
        ingest_id,
        run.accepted,
        0,
        run.quarantined,
        table_version,
        None,
        warnings,
    )


def _first_ts_column(spec: TableSpec, mapping: Mapping, source: Source) -> str:
    for f in spec.schema:
        if pa.types.is_timestamp(f.type):
            return str(mapping.columns.get(f.name, f.name))
    return ""


def _register(
    lake: Lake, keys: set[tuple[str, str]], mapping: Mapping, registered: dict[str, str]
) -> None:
    """Assets and signals seen for the first time join the registry (INSERT OR IGNORE)."""
    units = {m.signal: m.unit for m in mapping.signals.values() if m.unit} | dict(mapping.units)
    lake.meta.insert_missing("assets", {(a, "machine") for a, _ in keys}, ("asset", "level"))
    lake.meta.insert_missing(
        "signals",
        {(a, s, registered.get(s) or units.get(s)) for a, s in keys},
        ("asset", "signal", "unit"),
    )


def ingest_paths(
    lake: Lake,
    paths: Sequence[Path],
    table: str,
    mapping: Mapping = DEFAULT_MAPPING,
    progress: Progress | None = None,
    on_file: Callable[[Path, int], None] | None = None,
) -> IngestSummary:
    """Ingest many files; a refused file is reported and the others still go in."""
    summary = IngestSummary()
    for path in paths:

        def total(n: int, path: Path = path) -> None:
            if on_file:
                on_file(path, n)

        try:
            summary.results.append(ingest_file(lake, path, table, mapping, progress, total))
        except InputError as exc:
            summary.results.append(IngestResult(str(path), table, "rejected", error=str(exc)))
    return summary
