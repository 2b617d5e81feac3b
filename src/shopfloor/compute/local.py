"""The local backend: Arrow group-by in-process, optionally over a spawn process pool.

delta-rs cannot be used after ``fork()``, so worker processes are started with
``spawn``; ``fn`` must therefore be importable (a module-level function).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

GroupFunction = Callable[[pd.DataFrame], pd.DataFrame]


class Backend(Protocol):
    def map_groups(
        self, table: pa.Table, fn: GroupFunction, by: Sequence[str], schema: pa.Schema
    ) -> pa.Table: ...


def _groups(table: pa.Table, by: Sequence[str]) -> list[pa.Table]:
    """Split by key columns without a Python loop over rows: sort once, cut at key changes."""
    if table.num_rows == 0:
        return []
    ordered = table.sort_by([(c, "ascending") for c in by])
    keys = ordered.select(list(by)).to_pandas()
    change = np.zeros(len(keys), dtype=bool)
    change[0] = True
    for column in by:
        values = keys[column].to_numpy()
        change[1:] |= values[1:] != values[:-1]
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], len(keys))
    return [ordered.slice(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def _apply(fn: GroupFunction, group: pa.Table, schema: pa.Schema) -> pa.Table:
    result = fn(group.to_pandas())
    return pa.Table.from_pandas(result[schema.names], schema=schema, preserve_index=False)


class LocalBackend:
    """Run groups in this process (``workers=1``) or in a spawn pool of ``workers``."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers

    def map_groups(
        self, table: pa.Table, fn: GroupFunction, by: Sequence[str], schema: pa.Schema
    ) -> pa.Table:
        missing = [c for c in by if c not in table.column_names]
        if missing:
            raise ValueError(f"group columns not in the table: {', '.join(missing)}")
        groups = _groups(table, by)
        if self.workers == 1 or len(groups) < 2:
            parts = [_apply(fn, g, schema) for g in groups]
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
                parts = list(pool.map(_apply, [fn] * len(groups), groups, [schema] * len(groups)))
        return pa.concat_tables(parts) if parts else schema.empty_table()
