"""Open a user file as a DuckDB relation without loading it.

CSV and JSON Lines are read with every column as text, so that a bad cell becomes a
quarantined row with its reason instead of failing or being silently nulled; Parquet
keeps its own types.  Whole-file problems (empty, binary, unreadable) raise
:class:`InputError` naming the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from shopfloor.errors import InputError
from shopfloor.ingest.mapping import Mapping

Format = Literal["csv", "parquet", "jsonl"]

_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


@dataclass(frozen=True)
class Source:
    path: Path
    format: Format
    relation: str  # SQL text that selects the source rows
    columns: dict[str, str]  # column -> DuckDB type
    bytes: int


def detect_format(path: Path, mapping: Mapping) -> Format:
    if mapping.format:
        return mapping.format
    suffixes = [s.lower() for s in path.suffixes]
    for suffix in reversed(suffixes):
        if suffix in _EXTENSIONS:
            return _EXTENSIONS[suffix]
    raise InputError(
        "unknown file type (use .csv, .parquet or .jsonl, or set 'format' in the mapping)",
        source=str(path),
    )


def checksum(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _looks_binary(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(8192)
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 8 KiB boundary is still text.
        return exc.start < len(head) - 4
    return False


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_source(con: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping) -> Source:
    if not path.exists():
        raise InputError("file not found", source=str(path))
    if path.is_dir():
        raise InputError("is a directory, not a file", source=str(path))
    size = path.stat().st_size
    if size == 0:
        raise InputError("file is empty", source=str(path))
    fmt = detect_format(path, mapping)
    if fmt in ("csv", "jsonl") and _looks_binary(path):
        raise InputError(f"binary data, not a {fmt.upper()} text file", source=str(path))
    quoted = _quote(str(path))
    if fmt == "csv":
        delim = f", delim={_quote(mapping.delimiter)}" if mapping.delimiter else ""
        if path.suffix.lower() == ".tsv" and not mapping.delimiter:
            delim = ", delim='\\t'"
        relation = (
            f"read_csv({quoted}, header=true, all_varchar=true{delim}, "
            "store_rejects=true, ignore_errors=true)"
        )
    elif fmt == "parquet":
        relation = f"read_parquet({quoted})"
    else:
        relation = f"read_json({quoted}, format='newline_delimited', records=true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    except duckdb.Error as exc:
        raise InputError(f"cannot read as {fmt}: {_first_line(exc)}", source=str(path)) from None
    columns = {str(row[0]): str(row[1]) for row in described}
    if fmt == "jsonl":
        # Read JSON values as text too: a number where text belongs must not fail the file.
        spec = ", ".join(f"{_quote(c)}: 'VARCHAR'" for c in columns)
        relation = (
            f"read_json({quoted}, format='newline_delimited', records=true, columns={{{spec}}})"
        )
        columns = dict.fromkeys(columns, "VARCHAR")
    if not columns or (fmt == "csv" and list(columns) == ["column0"]):
        raise InputError("no header row with column names", source=str(path))
    return Source(path=path, format=fmt, relation=relation, columns=columns, bytes=size)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
