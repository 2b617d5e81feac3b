"""Sites, assets, signals, readings, asset health and work orders; OEE and losses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from shopfloor.server.api.common import ERRORS, cached_rows, sites_of, utc_or_none
from shopfloor.server.auth import Viewer, server_state
from shopfloor.server.schemas import (
    Asset,
    HealthPoint,
    Loss,
    OeeRow,
    Reading,
    Signal,
    Site,
    WorkOrder,
    one,
    rows,
)
from shopfloor.server.state import ServerState
from shopfloor.workflows import views

router = APIRouter(prefix="/api", responses=ERRORS)
State = Annotated[ServerState, Depends(server_state)]
READINGS_KEPT = 5000


@router.get("/sites", response_model=list[Site], tags=["plant"])
def list_sites(principal: Viewer, state: State) -> list[Site]:
    """The sites this principal may see."""
    return [Site(site=s) for s in views.visible_sites(state.lake, sites_of(principal))]


@router.get("/assets", response_model=list[Asset], tags=["plant"])
def list_assets(principal: Viewer, state: State) -> list[Asset]:
    """The asset hierarchy (site > area > line > machine) of the visible sites."""
    sites = sites_of(principal)
    stamp = views.registry_stamp(state.lake)
    return cached_rows(
        state, "registry", (sites, stamp), lambda: views.assets(state.lake, sites), Asset
    )


@router.get("/assets/{asset}", response_model=Asset, tags=["plant"])
def get_asset(asset: str, principal: Viewer, state: State) -> Asset:
    return one(views.asset(state.lake, sites_of(principal), asset), Asset)


@router.get("/assets/{asset}/signals", response_model=list[Signal], tags=["plant"])
def list_signals(asset: str, principal: Viewer, state: State) -> list[Signal]:
    return rows(views.signals(state.lake, sites_of(principal), asset), Signal)


@router.get("/assets/{asset}/readings", response_model=list[Reading], tags=["plant"])
def read_readings(
    asset: str,
    principal: Viewer,
    state: State,
    signal: Annotated[list[str] | None, Query(max_length=64)] = None,
    start: datetime | None = None,
    end: datetime | None = None,
    every: Annotated[
        str | None, Query(pattern=r"^[1-9]\d{0,5}(s|min|h|d)$", description="resample, e.g. 10min")
    ] = None,
    agg: Literal["mean", "min", "max", "first", "last", "count", "sum", "median"] = "mean",
) -> list[Reading]:
    """Readings of one asset over [start, end), raw or resampled with ``agg``."""
    sites = sites_of(principal)
    since, until = utc_or_none(start), utc_or_none(end)
    key = (asset, tuple(signal or ()), since, until, every, agg, sites)
    return cached_rows(
        state,
        "readings",
        key,
        lambda: views.readings(state.lake, sites, asset, signal, since, until, every, agg),
        Reading,
        # A chart's worth (a month hourly is 720 points) is kept; raw dumps are not.
        keep=lambda found: len(found) <= READINGS_KEPT,
    )


@router.get("/assets/{asset}/health", response_model=list[HealthPoint], tags=["maintenance"])
def asset_health(asset: str, principal: Viewer, state: State) -> list[HealthPoint]:
    """The anomaly score of the production condition model over time, with its threshold."""
    sites = sites_of(principal)
    condition = state.cached("condition", "all", lambda: views.condition(state.lake))
    return cached_rows(
        state,
        "condition",
        ("health", asset, sites),
        lambda: views.health(condition, state.lake, sites, asset),
        HealthPoint,
    )


@router.get("/assets/{asset}/work-orders", response_model=list[WorkOrder], tags=["maintenance"])
def asset_work_orders(asset: str, principal: Viewer, state: State) -> list[WorkOrder]:
    sites = sites_of(principal)
    return rows(views.work_orders(state.lake, sites, asset), WorkOrder)


@router.get("/production/oee", response_model=list[OeeRow], tags=["production"])
def oee(
    principal: Viewer,
    state: State,
    by: Literal["asset", "line", "site"] = "line",
    period: Literal["shift", "day", "week"] = "day",
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[OeeRow]:
    """OEE = availability x performance x quality per group and period."""
    sites = sites_of(principal)
    found = cached_rows(
        state,
        "oee",
        (by, period, sites),
        lambda: state.cached(
            "oee", (by, period, sites), lambda: views.oee(state.lake, sites, by, period)
        ),
        OeeRow,
    )
    since, until = utc_or_none(start), utc_or_none(end)
    return [
        r
        for r in found
        if (since is None or r.period_start >= since) and (until is None or r.period_start < until)
    ]


@router.get("/production/losses", response_model=list[Loss], tags=["production"])
def losses(principal: Viewer, state: State) -> list[Loss]:
    """Downtime by reason, largest first, with cumulative shares (a Pareto)."""
    sites = sites_of(principal)
    return cached_rows(
        state,
        "losses",
        sites,
        lambda: state.cached("losses", sites, lambda: views.losses(state.lake, sites)),
        Loss,
    )
