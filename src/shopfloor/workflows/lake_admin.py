"""Housekeeping of a lake: what it holds, compaction, vacuum, lineage."""

from __future__ import annotations

from typing import Any

from shopfloor.lake import Lake, LakeInfo


def info(lake: Lake) -> LakeInfo:
    return lake.info()


def compact(lake: Lake, table: str | None = None) -> dict[str, dict[str, Any]]:
    return lake.compact(table)


def vacuum(lake: Lake, table: str | None = None, retention_hours: float = 168.0) -> dict[str, int]:
    return lake.vacuum(table, retention_hours)


def lineage(lake: Lake, limit: int = 20) -> list[dict[str, Any]]:
    return [r.__dict__ for r in lake.meta.ingests(limit)]
