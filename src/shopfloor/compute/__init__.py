"""Run a per-group pure function locally or on Spark.

One protocol, ``Backend.map_groups(source, fn, by, schema)``: split a table (in memory,
or a Delta snapshot the backend reads itself) by the ``by`` columns, call ``fn`` on each
group as a pandas frame, and return the results as one Arrow table of ``schema``, in
ascending key order.  Nothing here knows about the factory domain; pyspark is imported
only when a Spark session is first needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pyarrow as pa

from shopfloor.compute.local import LocalBackend
from shopfloor.compute.sources import (
    BackendError,
    BackendUnavailable,
    Condition,
    DeltaScan,
    GroupFunction,
    Source,
    run_group,
)
from shopfloor.compute.spark import SparkBackend


class Backend(Protocol):
    name: str

    def map_groups(
        self,
        source: Source,
        fn: GroupFunction,
        by: Sequence[str],
        schema: pa.Schema,
        *,
        order_by: Sequence[str] = (),
    ) -> pa.Table: ...

    def close(self) -> None: ...


__all__ = [
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "Condition",
    "DeltaScan",
    "GroupFunction",
    "LocalBackend",
    "Source",
    "SparkBackend",
    "run_group",
]
