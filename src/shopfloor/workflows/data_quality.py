"""Data-quality workflow: run the checks over the lake, score, report and repair.

Readings stream from the lake one asset at a time (the Delta files' statistics on
``asset`` let DuckDB skip the others), so memory stays bounded by the largest asset.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from shopfloor.compute import Condition
from shopfloor.data_quality import (
    ALL_CHECKS,
    QualityIssue,
    issues_html,
    repair,
    run_checks,
)
from shopfloor.data_quality.grouped import (
    GROUP_SCHEMA,
    LINEAGE_COLUMNS,
    READING_COLUMNS,
    check_asset,
    split_results,
)
from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.workflows.compute import BackendChoice, lake_scan, using_backend

__all__ = [
    "ALL_CHECKS",
    "QualityReport",
    "RepairSummary",
    "check_quality",
    "issues_html",
    "latest_report",
    "repair_quality",
    "report_path",
]

StepProgress = Callable[[str, int, int], None]
"""Called with (what, done, total) as assets are processed."""


@dataclass(frozen=True)
class QualityReport:
    issues: tuple[QualityIssue, ...]
    scores: pd.DataFrame  # per signal: asset, signal, score, rows, ...
    table: str
    table_version: int | None
    assets: int

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ALL_CHECKS, 0)
        for issue in self.issues:
            counts[issue.check] = counts.get(issue.check, 0) + 1
        return counts


def _connection(lake: Lake) -> duckdb.DuckDBPyConnection:
    con = lake.connect()
    con.register("ingest_times", lake.meta.ingest_times())
    return con


def _assets(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.sql(f"SELECT DISTINCT asset FROM {table} ORDER BY 1").fetchall()]


def _reference_end(
    con: duckdb.DuckDBPyConnection, table: str, tolerance_s: float
) -> pd.Timestamp | None:
    """Latest plausible timestamp of the lake: future-dated rows are not evidence of freshness."""
    if table != "readings":
        return None
    row = con.sql(
        # epoch microseconds: fetching a TIMESTAMPTZ as a Python object would need pytz
        "SELECT epoch_us(max(ts)) FROM readings r LEFT JOIN ingest_times i USING (ingest_id) "
        "WHERE i.received_at IS NULL OR r.ts <= i.received_at + "
        f"INTERVAL {float(tolerance_s)} SECOND"
    ).fetchall()
    value = row[0][0] if row else None
    return None if value is None else pd.Timestamp(int(value), unit="us", tz="UTC")


def iter_asset_readings(
    con: duckdb.DuckDBPyConnection, table: str, assets: Sequence[str]
) -> Iterator[pd.DataFrame]:
    lineage = ", r.ingest_id, r.seq, i.received_at" if table == "readings" else ""
    join = " LEFT JOIN ingest_times i USING (ingest_id)" if table == "readings" else ""
    for asset in assets:
        yield con.sql(
            f"SELECT r.asset, r.signal, r.ts, r.value{lineage} FROM {table} r{join} "
            "WHERE r.asset = $asset",
            params={"asset": asset},
        ).df()


def check_quality(
    lake: Lake,
    table: str = "readings",
    checks: Sequence[str] = ALL_CHECKS,
    assets: Sequence[str] | None = None,
    progress: StepProgress | None = None,
    backend: BackendChoice = None,
) -> QualityReport:
    """Run the checks one asset at a time on ``backend`` (default: ``compute.backend``)."""
    if table not in ("readings", "readings_clean"):
        raise InputError(
            f"data-quality checks run on readings tables, not '{table}'", field="table"
        )
    unknown = [c for c in checks if c not in ALL_CHECKS]
    if unknown:
        raise InputError(
            f"unknown check '{unknown[0]}' (known: {', '.join(ALL_CHECKS)})", field="check"
        )
    settings = lake.settings
    signals = lake.table("signals").to_pandas()
    version = lake.version(table)
    con = _connection(lake)
    try:
        names = list(assets) if assets else _assets(con, table)
        reference_end = _reference_end(con, table, settings.ingest.future_tolerance_s)
    finally:
        con.close()
    lineage = table == "readings"
    columns = [*READING_COLUMNS, *(LINEAGE_COLUMNS if lineage else ())]
    where = [Condition("asset", "in", tuple(names))] if assets else []
    scan = lake_scan(lake, table, columns, where, version=version)
    if progress:
        progress("assets", 0, len(names))
    if scan is None or not names:
        issues: list[QualityIssue] = []
        scores = pd.DataFrame()
    else:
        fn = partial(
            check_asset,
            signals=signals,
            settings=settings.quality,
            checks=tuple(checks),
            reference_end=reference_end,
            tolerance_s=settings.ingest.future_tolerance_s,
            ingest_times=lake.meta.ingest_times().to_pandas() if lineage else None,
        )
        order = ["signal", "ts", *(LINEAGE_COLUMNS if lineage else ()), "value"]
        with using_backend(settings, backend) as runner:
            rows = runner.map_groups(scan, fn, ["asset"], GROUP_SCHEMA, order_by=order)
        issues, scores = split_results(rows)
    if progress:
        progress("assets", len(names), len(names))
    report = QualityReport(tuple(issues), scores, table, version, len(names))
    if assets is None and tuple(checks) == tuple(ALL_CHECKS):
        _store_report(lake, report)
    return report


def report_path(lake: Lake, table: str) -> Path:
    """Where the latest full data-quality report of ``table`` is kept."""
    return lake.path / "reports" / f"data-quality-{table}.json"


def _store_report(lake: Lake, report: QualityReport) -> None:
    """Keep the latest full report (the dashboard shows it; a check takes a while)."""
    path = report_path(lake, report.table)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "header": {
            "table": report.table,
            "table_version": report.table_version,
            "assets": report.assets,
            "checked_at": time.time(),
            "counts": report.counts(),
        },
        "issues": [issue.to_dict() for issue in report.issues],
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(temporary, path)  # readers see the old report or the new, never half of one


def latest_report(
    lake: Lake, table: str = "readings"
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """Header and issues of the latest full data-quality report of ``table``, if any."""
    path = report_path(lake, table)
    if not path.exists():
        return None
    payload = json.loads(path.read_text(encoding="utf-8"))
    return payload["header"], payload["issues"]


@dataclass(frozen=True)
class RepairSummary:
    table_version: int
    rows: int
    actions: pd.DataFrame


def repair_quality(
    lake: Lake,
    policies: Sequence[str] = ("dedupe", "interpolate", "clip", "unit_shift"),
    progress: StepProgress | None = None,
) -> RepairSummary:
    """Write a new version of ``readings_clean``; the raw ``readings`` stay as they came."""
    from shopfloor.schema import TABLES, delta_schema

    settings = lake.settings
    signals = lake.table("signals").to_pandas()
    schema = delta_schema(TABLES["readings_clean"])
    con = _connection(lake)
    actions: list[pd.DataFrame] = []
    rows = 0
    try:
        names = _assets(con, "readings")
        reference_end = _reference_end(con, "readings", settings.ingest.future_tolerance_s)

        def batches() -> Iterator[pa.RecordBatch]:
            nonlocal rows
            for done, frame in enumerate(iter_asset_readings(con, "readings", names), start=1):
                issues = run_checks(
                    frame,
                    signals,
                    settings.quality,
                    reference_end=reference_end,
                    tolerance_s=settings.ingest.future_tolerance_s,
                )
                result = repair(
                    frame,
                    issues,
                    signals,
                    policies=policies,
                    max_gap_s=settings.quality.interpolate_max_gap_s,
                )
                actions.append(result.actions)
                out = result.frame
                out = out.assign(day=out["ts"].dt.date)
                for column in schema.names:
                    if column not in out:
                        out[column] = None
                rows += len(out)
                if progress:
                    progress("assets", done, len(names))
                yield from pa.Table.from_pandas(
                    out[schema.names], schema=schema, preserve_index=False
                ).to_batches()

        version = lake.write(
            "readings_clean",
            pa.RecordBatchReader.from_batches(schema, batches()),
            mode="overwrite",
            operation="repair",
        )
    finally:
        con.close()
    action_frame = pd.concat(actions, ignore_index=True) if actions else pd.DataFrame()
    return RepairSummary(version, rows, action_frame)
