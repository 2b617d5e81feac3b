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
