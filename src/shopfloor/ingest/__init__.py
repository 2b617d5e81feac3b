"""Bring files into the lake: mapping, parsing, validation, quarantine, lineage."""

from shopfloor.ingest.mapping import DEFAULT_MAPPING, Mapping, load_mapping
from shopfloor.ingest.pipeline import IngestResult, IngestSummary, ingest_file, ingest_paths

__all__ = [
    "DEFAULT_MAPPING",
    "IngestResult",
    "IngestSummary",
    "Mapping",
    "ingest_file",
    "ingest_paths",
    "load_mapping",
]
