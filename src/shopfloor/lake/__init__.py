"""The lake: Delta tables for facts, SQLite for metadata, DuckDB for queries."""

from shopfloor.lake.metadata import IngestRecord, MetaStore
from shopfloor.lake.store import Lake, LakeInfo, TableInfo

__all__ = ["IngestRecord", "Lake", "LakeInfo", "MetaStore", "TableInfo"]
