"""Workflows: the only layer that reads the lake, calls analytics and writes results.

The CLI, the API and the dashboard are thin adapters over these functions.
"""

from __future__ import annotations

from pathlib import Path

from shopfloor.config import Settings, load_settings
from shopfloor.lake import Lake


def open_lake(path: Path | str | None = None, settings: Settings | None = None) -> Lake:
    """Open (creating if needed) the lake at ``path`` or the configured default."""
    settings = settings or load_settings()
    return Lake(path if path is not None else settings.lake, settings)


__all__ = ["Lake", "open_lake"]  # Lake: for the adapters' type hints
