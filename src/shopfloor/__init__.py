"""shopfloor: a factory's data, checked, versioned and turned into decisions.

Importing the package stays light: heavy modules (the lake, torch, pyspark,
ortools) load only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Lake", "Settings", "__version__"]

if TYPE_CHECKING:
    from shopfloor.config import Settings
    from shopfloor.lake import Lake


def __getattr__(name: str) -> Any:
    # Lazy attributes keep `import shopfloor` free of duckdb/deltalake/pandas.
    if name == "Lake":
        from shopfloor.lake import Lake

        return Lake
    if name == "Settings":
        from shopfloor.config import Settings

        return Settings
    raise AttributeError(f"module 'shopfloor' has no attribute {name!r}")
