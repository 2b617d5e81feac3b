"""Ingest workflow: expand paths and globs, load the mapping, ingest every file."""

from __future__ import annotations

import glob
from collections.abc import Callable, Sequence
from pathlib import Path

from shopfloor.errors import InputError
from shopfloor.ingest import IngestSummary, ingest_paths, load_mapping
from shopfloor.ingest.pipeline import Progress
from shopfloor.lake import Lake


def expand_paths(patterns: Sequence[str | Path]) -> list[Path]:
    """Files named directly, by glob, or inside a directory; in a stable order."""
    paths: list[Path] = []
    for pattern in patterns:
        text = str(pattern)
        if any(ch in text for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True))
            if not matches:
                raise InputError("no file matches this pattern", source=text)
            paths += [p for p in matches if p.is_file()]
        elif Path(text).is_dir():
            paths += sorted(p for p in Path(text).rglob("*") if p.is_file())
        else:
            paths.append(Path(text))
    return paths


def ingest(
    lake: Lake,
    patterns: Sequence[str | Path],
    table: str,
    mapping: Path | None = None,
    progress: Progress | None = None,
    on_file: Callable[[Path, int], None] | None = None,
) -> IngestSummary:
    return ingest_paths(
        lake, expand_paths(patterns), table, load_mapping(mapping), progress, on_file
    )


# Tables whose rows name the site they belong to, and through which column.
_SITE_COLUMN = {
    "readings": "asset",
    "events": "asset",
    "work_orders": "asset",
    "production": "asset",
    "inspections": "asset",
    "signals": "asset",
    "assets": "site",
    "inventory": "location",
    "demand": "location",
}


def check_upload_sites(lake: Lake, path: Path, table: str, sites: frozenset[str] | None) -> None:
    """Refuse a file that names anything outside ``sites`` (None: every site may be written).

    Rows are attributed as the views attribute them: by their asset's (or location's)
    registered site, or for ``assets`` rows by their own site column.  Tables that name
    no site (orders, routings, items, deliveries) need a principal of every site.
    """
    import duckdb

    from shopfloor.ingest.mapping import DEFAULT_MAPPING
    from shopfloor.ingest.sources import open_source
    from shopfloor.workflows.views import site_map

    if sites is None:
        return
    found = site_map(lake)
    column = _SITE_COLUMN.get(table)
    if column is None:
        if not found.sees_everything(sites):
            raise InputError(
                f"rows of '{table}' belong to no single site: only a user of every site may "
                "upload them",
                source=path.name,
                field="table",
            )
        return
    con = duckdb.connect()
    try:
        source = open_source(con, path, DEFAULT_MAPPING)
        if column not in source.columns:
            raise InputError(f"no column '{column}'", source=path.name, field=column)
        values = [
            r[0]
            for r in con.execute(
                f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM {source.relation}'
            ).fetchall()
        ]
    finally:
        con.close()
    for value in values:
        if value is None:
            continue
        site = value if column == "site" else found.asset_site.get(value)
        if site is None or site not in sites:
            raise InputError(
                f"'{value}' is not in your sites (register it first, or ask an admin)",
                source=path.name,
                field=column,
            )


def ingest_upload(
    lake: Lake, path: Path, table: str, sites: frozenset[str] | None
) -> IngestSummary:
    """Ingest one uploaded file after checking that it stays within ``sites``."""
    from shopfloor.schema import table_spec

    table_spec(table)  # unknown table: one-line error naming the known ones
    check_upload_sites(lake, path, table, sites)
    return ingest_paths(lake, [path], table, load_mapping(None))
