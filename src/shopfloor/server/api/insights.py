"""Model outputs: maintenance recommendations, schedules, forecasts and reorders, SPC."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from shopfloor.server.api.common import ERRORS, sites_of
from shopfloor.server.auth import Viewer, server_state
from shopfloor.server.schemas import (
    ForecastRow,
    Inspection,
    Move,
    Operation,
    Recommendation,
    Reorder,
    ScheduleDetail,
    ScheduleSummary,
    SpcSeries,
    SupplierScore,
    rows,
)
from shopfloor.server.state import ServerState
from shopfloor.workflows import views

router = APIRouter(prefix="/api", responses=ERRORS)
State = Annotated[ServerState, Depends(server_state)]


@router.get(
    "/maintenance/recommendations", response_model=list[Recommendation], tags=["maintenance"]
)
def recommendations(principal: Viewer, state: State) -> list[Recommendation]:
    """Remaining useful life with its 90 % interval, failure risk and when to maintain."""
    condition = state.cached("condition", "all", lambda: views.condition(state.lake))
    found = views.recommendations(condition, state.lake, sites_of(principal))
    return rows(found, Recommendation)


@router.get("/planning/schedules", response_model=list[ScheduleSummary], tags=["planning"])
def schedules(principal: Viewer, state: State) -> list[ScheduleSummary]:
    """Stored schedules (plans and repairs) touching your sites' machines, newest first."""
    sites = sites_of(principal)
    frame = state.cached("schedules", sites, lambda: views.schedules(state.lake, sites))
    return rows(frame, ScheduleSummary)


@router.get("/planning/schedules/{schedule_id}", response_model=ScheduleDetail, tags=["planning"])
def schedule(schedule_id: str, principal: Viewer, state: State) -> ScheduleDetail:
    """One schedule's operations on your machines (``latest`` for the newest), and what
    moved against the schedule it repairs."""
    sites = sites_of(principal)
    wanted = None if schedule_id == "latest" else schedule_id
    found = state.cached(
        "schedules", ("detail", wanted, sites), lambda: views.schedule(state.lake, sites, wanted)
    )
    s = found.schedule
    return ScheduleDetail(
        schedule_id=s.schedule_id,
        parent_id=s.parent_id,
        created_at=s.created_at.to_pydatetime(),
        objective=s.objective,
        status=s.status,
        reason=s.reason,
        operations=rows(found.operations, Operation),
        moves=rows(found.moves, Move),
    )


@router.get("/supply/forecasts", response_model=list[ForecastRow], tags=["supply"])
def forecasts(
    principal: Viewer,
    state: State,
    item: Annotated[str | None, Query(max_length=200)] = None,
) -> list[ForecastRow]:
    """The latest demand forecast with its quantiles (q50..q95), per item and location."""
    sites = sites_of(principal)
    frame = state.cached("forecasts", sites, lambda: views.forecasts(state.lake, sites))
    if item is not None and not frame.empty:
        frame = frame[frame["item"] == item]
    return rows(frame, ForecastRow)


@router.get("/supply/reorder", response_model=list[Reorder], tags=["supply"])
def reorder(principal: Viewer, state: State) -> list[Reorder]:
    """What to order now: positions under their reorder point, with the quantity."""
    sites = sites_of(principal)
    return rows(state.cached("reorders", sites, lambda: views.reorders(state.lake, sites)), Reorder)


@router.get("/supply/suppliers", response_model=list[SupplierScore], tags=["supply"])
def suppliers(principal: Viewer, state: State) -> list[SupplierScore]:
    """Supplier scorecards (OTIF, lead times). Suppliers serve every site: principals of
    every site only."""
    sites = sites_of(principal)
    frame = state.cached("suppliers", sites, lambda: views.supplier_scorecards(state.lake, sites))
    return rows(frame, SupplierScore)


@router.get("/quality/spc", response_model=list[SpcSeries], tags=["quality"])
def spc(principal: Viewer, state: State) -> list[SpcSeries]:
    """Control chart of every measured series: limits, phase II alarms, first alarm."""
    sites = sites_of(principal)
    summary, _ = state.cached("spc", sites, lambda: views.spc_summary(state.lake, sites))
    return rows(summary, SpcSeries)


@router.get("/quality/inspections", response_model=list[Inspection], tags=["quality"])
def inspections(
    principal: Viewer,
    state: State,
    asset: Annotated[str | None, Query(max_length=200)] = None,
    verdict: Literal["pass", "fail"] | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[Inspection]:
    """Inspection results, newest first: measurements and image verdicts with their maps."""
    sites = sites_of(principal)
    frame = state.cached(
        "inspections",
        (sites, asset, verdict, limit),
        lambda: views.inspections(state.lake, sites, asset, verdict, limit),
    )
    return rows(frame, Inspection)
