"""What a backend reads, and the one way every backend turns a group into a pandas frame.

A :class:`DeltaScan` names a Delta snapshot (path and version) and the columns and row
conditions wanted; each backend reads it with its own engine (DuckDB here, Spark on a
cluster), so a job that runs on Spark never moves the raw table through the driver.

:func:`run_group` is the single code path from a group's rows to ``fn`` and back: the
rows are cast to the scan's Arrow types and sorted by the group keys and ``order_by``
before ``fn`` sees them, so the same group gives ``fn`` the same frame on every backend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import pyarrow as pa


class BackendError(RuntimeError):
    """A backend could not run a job; the message names the first cause."""


class BackendUnavailable(BackendError):
    """A backend cannot start here (pyspark or Java missing, master unreachable)."""


GroupFunction = Callable[[pd.DataFrame], pd.DataFrame]
Operator = Literal["==", "!=", "<", "<=", ">", ">=", "in", "is_finite"]
OPERATORS: tuple[str, ...] = ("==", "!=", "<", "<=", ">", ">=", "in", "is_finite")


@dataclass(frozen=True)
class Condition:
    """``column <op> value``; ``in`` takes a sequence; ``is_finite`` keeps non-null finite
    numbers (value unused)."""

    column: str
    op: Operator
    value: Any = None

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise ValueError(f"unknown operator '{self.op}' (known: {', '.join(OPERATORS)})")


@dataclass(frozen=True)
class DeltaScan:
    """Columns of one Delta snapshot, optionally restricted by conditions (all must hold)."""

    path: str
    version: int
    columns: tuple[str, ...]
    where: tuple[Condition, ...] = ()


Source = pa.Table | DeltaScan


Dialect = Literal["duckdb", "spark"]


def sql_literal(value: Any, dialect: Dialect = "duckdb") -> str:
    """A SQL literal for a condition value (numbers, strings, dates and timestamps)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, pd.Timestamp | dt.datetime):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        kind = "TIMESTAMPTZ" if dialect == "duckdb" else "TIMESTAMP"
        return f"{kind} '{stamp.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def where_sql(conditions: Sequence[Condition], dialect: Dialect = "duckdb") -> str:
    """The conditions as one SQL predicate (names quoted as the dialect quotes them)."""
    quote_char = '"' if dialect == "duckdb" else "`"
    parts = []
    for c in conditions:
        name = quote_char + c.column.replace(quote_char, quote_char * 2) + quote_char
        if c.op == "is_finite":
            parts.append(
                f"({name} IS NOT NULL AND NOT isnan({name}) "
                f"AND abs({name}) < CAST('inf' AS DOUBLE))"
            )
        elif c.op == "in":
            values = ", ".join(sql_literal(v, dialect) for v in c.value)
            parts.append(f"{name} IN ({values})" if values else "FALSE")
        else:
            parts.append(f"{name} {'=' if c.op == '==' else c.op} {sql_literal(c.value, dialect)}")
    return " AND ".join(parts) if parts else "TRUE"


def check_group_columns(
    source: pa.Table | DeltaScan, by: Sequence[str], order_by: Sequence[str]
) -> None:
    """Refuse group or order columns the source does not have (every backend's first step)."""
    columns = source.column_names if isinstance(source, pa.Table) else list(source.columns)
    missing = [c for c in (*by, *order_by) if c not in columns]
    if missing:
        raise ValueError(f"group columns not in the table: {', '.join(missing)}")


def run_group(
    fn: GroupFunction,
    group: pa.Table,
    input_schema: pa.Schema,
    output_schema: pa.Schema,
    order_by: Sequence[str],
) -> pa.Table:
    """Call ``fn`` on one group's rows, typed and sorted by ``order_by`` the same way on
    every backend (a stable sort: rows equal on ``order_by`` keep the reader's order, so
    a caller whose ``fn`` depends on order must name columns that make rows unique)."""
    group = group.select(input_schema.names).cast(input_schema)
    if len(order_by) > 0 and group.num_rows > 1:
        group = group.sort_by([(c, "ascending") for c in order_by])
    result = fn(group.to_pandas())
    missing = [c for c in output_schema.names if c not in result.columns]
    if missing:
        raise ValueError(f"group function returned no column {', '.join(missing)}")
    return pa.Table.from_pandas(
        result[output_schema.names], schema=output_schema, preserve_index=False
    )
