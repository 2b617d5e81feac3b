"""Model outputs: maintenance recommendations, schedules, forecasts and reorders, SPC."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from shopfloor.server.api.common import ERRORS, cached_rows, sites_of
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
    sites = sites_of(principal)
    condition = state.cached("condition", "all", lambda: views.condition(state.lake))
    return cached_rows(
        state,
        "condition",
        ("recommendations", sites),
        lambda: views.recommendations(condition, state.lake, sites),
        Recommendation,
    )


@router.get("/planning/schedules", response_model=list[ScheduleSummary], tags=["planning"])
def schedules(principal: Viewer, state: State) -> list[ScheduleSummary]:
    """Stored schedules (plans and repairs) touching your sites' machines, newest first."""
    sites = sites_of(principal)
    return cached_rows(
        state,
        "schedules",
        sites,
        lambda: state.cached("schedules", sites, lambda: views.schedules(state.lake, sites)),
        ScheduleSummary,
    )


@router.get("/planning/schedules/{schedule_id}", response_model=ScheduleDetail, tags=["planning"])
def schedule(schedule_id: str, principal: Viewer, state: State) -> ScheduleDetail:
    """One schedule's operations on your machines (``latest`` for the newest), and what
    moved against the schedule it repairs."""
    sites = sites_of(principal)
    wanted = None if schedule_id == "latest" else schedule_id

    def detail() -> ScheduleDetail:
        found = state.cached(
            "schedules",
            ("detail", wanted, sites),
            lambda: views.schedule(state.lake, sites, wanted),
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

    # Converted once per version of the schedules (a plan has hundreds of operations).
    return state.cached("schedules", ("detail-out", wanted, sites), detail)


@router.get("/supply/forecasts", response_model=list[ForecastRow], tags=["supply"])
def forecasts(
    principal: Viewer,
    state: State,
    item: Annotated[str | None, Query(max_length=200)] = None,
) -> list[ForecastRow]:
    """The latest demand forecast with its quantiles (q50..q95), per item and location."""
    sites = sites_of(principal)
    found = cached_rows(
        state,
        "forecasts",
        sites,
        lambda: state.cached("forecasts", sites, lambda: views.forecasts(state.lake, sites)),
        ForecastRow,
    )
    return found if item is None else [r for r in found if r.item == item]


@router.get("/supply/reorder", response_model=list[Reorder], tags=["supply"])
def reorder(principal: Viewer, state: State) -> list[Reorder]:
    """What to order now: positions under their reorder point, with the quantity."""
    sites = sites_of(principal)
    return cached_rows(
        state,
        "reorders",
        sites,
        lambda: state.cached("reorders", sites, lambda: views.reorders(state.lake, sites)),
        Reorder,
    )


@router.get("/supply/suppliers", response_model=list[SupplierScore], tags=["supply"])
def suppliers(principal: Viewer, state: State) -> list[SupplierScore]:
    """Supplier scorecards (OTIF, lead times). Suppliers serve every site: principals of
    every site only."""
    sites = sites_of(principal)
    return cached_rows(
        state,
        "suppliers",
        sites,
        lambda: state.cached(
            "suppliers", sites, lambda: views.supplier_scorecards(state.lake, sites)
        ),
        SupplierScore,
    )


@router.get("/quality/spc", response_model=list[SpcSeries], tags=["quality"])
def spc(principal: Viewer, state: State) -> list[SpcSeries]:
    """Control chart of every measured series: limits, phase II alarms, first alarm."""
    sites = sites_of(principal)
    return cached_rows(
        state,
        "spc",
        sites,
        lambda: state.cached("spc", sites, lambda: views.spc_summary(state.lake, sites))[0],
        SpcSeries,
    )


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
    key = (sites, asset, verdict, limit)
    return cached_rows(
        state,
        "inspections",
        key,
        lambda: state.cached(
            "inspections", key, lambda: views.inspections(state.lake, sites, asset, verdict, limit)
        ),
        Inspection,
    )
