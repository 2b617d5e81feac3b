"""Production workflow: OEE, losses, reliability and bottlenecks from the lake's events."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from shopfloor import production
from shopfloor.errors import InputError
from shopfloor.lake import Lake

Grouping = Literal["asset", "line", "site"]
Period = Literal["shift", "day", "week"]


def _frames(
    lake: Lake, with_production: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    events = lake.table("events").to_pandas()
    counts = lake.table("production").to_pandas() if with_production else pd.DataFrame()
    assets = lake.table("assets").to_pandas()
    if events.empty:
        raise InputError(
            "the lake has no events yet: ingest machine states into 'events'", field="events"
        )
    return events, counts, assets


def oee(lake: Lake, by: Grouping = "asset", period: Period = "day") -> production.OeeResult:
    if by not in ("asset", "line", "site"):
        raise InputError(f"--by must be asset, line or site, not '{by}'", field="by")
    if period not in ("shift", "day", "week"):
        raise InputError(f"--period must be shift, day or week, not '{period}'", field="period")
    events, counts, assets = _frames(lake)
    settings = lake.settings.production
    return production.compute_oee(
        events,
        counts,
        assets,
        by=by,
        period=period,
        shift_starts=tuple(settings.shift_starts),
        timezone=settings.timezone,
    )


def downtime_pareto(lake: Lake) -> pd.DataFrame:
    events, _, _ = _frames(lake, with_production=False)
    return production.downtime_pareto(events)


def reliability(lake: Lake) -> pd.DataFrame:
    events, _, _ = _frames(lake, with_production=False)
    return production.reliability(events)


def bottlenecks(lake: Lake) -> production.BottleneckResult:
    events, _, assets = _frames(lake, with_production=False)
    return production.find_bottlenecks(events, assets)
