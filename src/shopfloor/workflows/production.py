"""Production workflow: OEE, losses, reliability and bottlenecks from the lake's events.

OEE runs on a compute backend (:mod:`shopfloor.workflows.compute`): each asset's events
and production counts are read by the backend (DuckDB here, Spark on a cluster) and
summed per period by :func:`~shopfloor.production.state_sums` and
:func:`~shopfloor.production.count_sums`; lines and sites are rolled up from those
per-asset sums here (:func:`~shopfloor.production.oee_from_sums`), so the figures are
:func:`~shopfloor.production.compute_oee`'s.  The two facts that need every asset's
events (where open states close, and whether every state code is known) are read
first, with DuckDB on the driver.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import partial
from typing import Literal

import duckdb
import pandas as pd
import pyarrow as pa

from shopfloor import production
from shopfloor.compute import Backend, Condition, DeltaScan
from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.production.oee import PRODUCTION_COLUMNS, STATE_CATEGORY
from shopfloor.workflows.compute import BackendChoice, lake_scan, using_backend

Grouping = Literal["asset", "line", "site"]
Period = Literal["shift", "day", "week"]

EVENT_COLUMNS = ("asset", "start", "end", "kind", "code", "detail")
_TS = pa.timestamp("us", tz="UTC")
_KEYS = [("asset", pa.string()), ("period_start", _TS), ("period_end", _TS)]
STATE_SCHEMA = pa.schema([*_KEYS, *[(c, pa.float64()) for c in production.STATE_SUMS]])
COUNT_SCHEMA = pa.schema([*_KEYS, *[(c, pa.float64()) for c in production.COUNT_SUMS]])


def _frames(
    lake: Lake, with_production: bool = True, only: Collection[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Events, production counts and assets; ``only`` keeps those assets (a site's view)."""
    events = lake.table("events").to_pandas()
    counts = lake.table("production").to_pandas() if with_production else pd.DataFrame()
    assets = lake.table("assets").to_pandas()
    if events.empty:
        raise _no_events()
    if only is not None:
        keep = set(only)
        events = events[events["asset"].isin(keep)]
        counts = counts[counts["asset"].isin(keep)] if not counts.empty else counts
        assets = assets[assets["asset"].isin(keep)]
    return events, counts, assets


def _no_events() -> InputError:
    return InputError(
        "the lake has no events yet: ingest machine states into 'events'", field="events"
    )


def oee(
    lake: Lake,
    by: Grouping = "asset",
    period: Period = "day",
    *,
    assets: Collection[str] | None = None,
    backend: BackendChoice = None,
) -> production.OeeResult:
    """OEE per ``by`` group and ``period``; ``assets`` keeps those assets (a site's view).

    ``backend``: "local", "spark", an open backend, or None for ``compute.backend``.
    """
    if by not in ("asset", "line", "site"):
        raise InputError(f"--by must be asset, line or site, not '{by}'", field="by")
    if period not in ("shift", "day", "week"):
        raise InputError(f"--period must be shift, day or week, not '{period}'", field="period")
    with using_backend(lake.settings, backend) as engine:  # a bad name fails here, at once
        states, sums, registry = _asset_sums(lake, engine, period, assets)
    return production.oee_from_sums(
        states.to_pandas(), sums.to_pandas(), registry, by=by, period=period
    )


def _asset_sums(
    lake: Lake, engine: Backend, period: Period, assets: Collection[str] | None
) -> tuple[pa.Table, pa.Table, pd.DataFrame]:
    """Per-asset state and count sums from the backend, and the asset registry."""
    only = None if assets is None else frozenset(str(a) for a in assets)
    where = () if only is None else (Condition("asset", "in", tuple(sorted(only))),)
    events = lake_scan(lake, "events", EVENT_COLUMNS, where)
    if events is None:
        raise _no_events()
    latest_us = _latest_state_end(lake, events.version, only)
    settings = lake.settings.production
    shifts, timezone = tuple(settings.shift_starts), settings.timezone
    registry = lake.table("assets").to_pandas()
    if only is not None:
        registry = registry[registry["asset"].isin(only)]
    counts = lake_scan(lake, "production", PRODUCTION_COLUMNS, where)
    state_fn = partial(
        asset_state_sums,
        period=period,
        shift_starts=shifts,
        timezone=timezone,
        latest_us=latest_us,
    )
    states = _map(engine, events, state_fn, STATE_SCHEMA, EVENT_COLUMNS)
    sums = COUNT_SCHEMA.empty_table()
    if counts is not None:
        count_fn = partial(asset_count_sums, period=period, shift_starts=shifts, timezone=timezone)
        sums = _map(engine, counts, count_fn, COUNT_SCHEMA, PRODUCTION_COLUMNS)
    return states, sums, registry


def _map(
    engine: Backend,
    source: DeltaScan,
    fn: partial[pd.DataFrame],
    schema: pa.Schema,
    columns: tuple[str, ...],
) -> pa.Table:
    """Per asset, rows ordered by every column ``fn`` reads: the same frame on any backend."""
    return engine.map_groups(
        source, fn, ["asset"], schema, order_by=[c for c in columns if c != "asset"]
    )


def asset_state_sums(
    events: pd.DataFrame,
    *,
    period: Period,
    shift_starts: tuple[str, ...],
    timezone: str,
    latest_us: int | None,
) -> pd.DataFrame:
    """One asset's events -> its state time per period (the backend's group function)."""
    return production.state_sums(
        events, period=period, shift_starts=shift_starts, timezone=timezone, latest_us=latest_us
    )


def asset_count_sums(
    counts: pd.DataFrame,
    *,
    period: Period,
    shift_starts: tuple[str, ...],
    timezone: str,
) -> pd.DataFrame:
    """One asset's production counts -> its counts per period (the group function)."""
    return production.count_sums(
        counts, period=period, shift_starts=shift_starts, timezone=timezone
    )


def _latest_state_end(lake: Lake, version: int, only: frozenset[str] | None) -> int | None:
    """Where open states close: the latest timestamp of the (selected) events, as
    :func:`~shopfloor.production.state_intervals` finds it on all of them at once (us).

    Unknown state codes are refused here, before any backend work starts.
    """
    dataset = lake.dataset("events", version)
    if dataset is None:
        raise _no_events()
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        con.register("events", dataset)
        selected = "TRUE" if only is None else "list_contains($assets, asset)"
        params = {} if only is None else {"assets": sorted(only)}
        total, latest = con.execute(
            "SELECT (SELECT count(*) FROM events), epoch_us(greatest("
            "max(CASE WHEN kind = 'state' THEN coalesce(\"end\", start) END), max(start))) "
            f"FROM events WHERE {selected}",
            params,
        ).fetchone() or (0, None)
        if not total:
            raise _no_events()
        known = [*STATE_CATEGORY, "maintenance"]
        bad = con.execute(
            "SELECT asset, start, code FROM events WHERE kind = 'state' "
            f"AND NOT list_contains($known, code) AND {selected} ORDER BY asset, start LIMIT 1",
            {"known": known, **params},
        ).fetchone()
    finally:
        con.close()
    if bad is not None:
        raise InputError(
            f"state code '{bad[2]}' of {bad[0]} at {bad[1]} is unknown (expected one of "
            f"{', '.join(known)})",
            source="events",
            field="code",
        )
    return None if latest is None else int(latest)


def downtime_pareto(lake: Lake, *, assets: Collection[str] | None = None) -> pd.DataFrame:
    events, _, _ = _frames(lake, with_production=False, only=assets)
    return production.downtime_pareto(events)


def reliability(lake: Lake) -> pd.DataFrame:
    events, _, _ = _frames(lake, with_production=False)
    return production.reliability(events)


def bottlenecks(lake: Lake) -> production.BottleneckResult:
    events, _, assets = _frames(lake, with_production=False)
    return production.find_bottlenecks(events, assets)
