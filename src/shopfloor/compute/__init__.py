"""Run a per-group pure function locally (or, with the Spark extra, on a cluster).

One protocol, ``Backend.map_groups(table, fn, by, schema)``: split an Arrow table by the
``by`` columns, call ``fn`` on each group as a pandas frame, and concatenate the results
as an Arrow table of ``schema``.  Nothing here knows about the factory domain.
"""

from __future__ import annotations

from shopfloor.compute.local import Backend, GroupFunction, LocalBackend

__all__ = ["Backend", "GroupFunction", "LocalBackend"]
