"""Production workflow: OEE, losses, reliability and bottlenecks from the lake's events."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

import pandas as pd

from shopfloor import production
from shopfloor.errors import InputError
from shopfloor.lake import Lake

Grouping = Literal["asset", "line", "site"]
Period = Literal["shift", "day", "week"]


def _frames(
    lake: Lake, with_production: bool = True, only: Collection[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Events, production counts and assets; ``only`` keeps those assets (a site's view)."""
    events = lake.table("events").to_pandas()
    counts = lake.table("production").to_pandas() if with_production else pd.DataFrame()
    assets = lake.table("assets").to_pandas()
    if events.empty:
        raise InputError(
            "the lake has no events yet: ingest machine states into 'events'", field="events"
        )
    if only is not None:
        keep = set(only)
        events = events[events["asset"].isin(keep)]
        counts = counts[counts["asset"].isin(keep)] if not counts.empty else counts
        assets = assets[assets["asset"].isin(keep)]
    return events, counts, assets


def oee(
    lake: Lake,
    by: Grouping = "asset",
    period: Period = "day",
    *,
    assets: Collection[str] | None = None,
) -> production.OeeResult:
    if by not in ("asset", "line", "site"):
        raise InputError(f"--by must be asset, line or site, not '{by}'", field="by")
    if period not in ("shift", "day", "week"):
        raise InputError(f"--period must be shift, day or week, not '{period}'", field="period")
    events, counts, registry = _frames(lake, only=assets)
    settings = lake.settings.production
    return production.compute_oee(
        events,
        counts,
        registry,
        by=by,
        period=period,
        shift_starts=tuple(settings.shift_starts),
        timezone=settings.timezone,
    )


def downtime_pareto(lake: Lake, *, assets: Collection[str] | None = None) -> pd.DataFrame:
    events, _, _ = _frames(lake, with_production=False, only=assets)
    return production.downtime_pareto(events)


def reliability(lake: Lake) -> pd.DataFrame:
    events, _, _ = _frames(lake, with_production=False)
    return production.reliability(events)


def bottlenecks(lake: Lake) -> production.BottleneckResult:
    events, _, assets = _frames(lake, with_production=False)
    return production.find_bottlenecks(events, assets)
