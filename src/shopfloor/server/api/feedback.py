"""Feedback for the closed loop: verdicts on alerts and outcomes of work orders.

Beside the alert routes (acknowledge, close): an operator says whether an alert was a
real fault, and what a work order found and cost.  Both append to the lake (the history
stays) and are site-scoped: another site's alert or work order answers like a missing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shopfloor.server.api.common import ERRORS, sites_of
from shopfloor.server.auth import Operator, Viewer, server_state
from shopfloor.server.schemas import Record, one, rows
from shopfloor.server.state import ServerState
from shopfloor.workflows import feedback, views

router = APIRouter(prefix="/api", responses=ERRORS, tags=["feedback"])
State = Annotated[ServerState, Depends(server_state)]


class FeedbackIn(BaseModel):
    verdict: Literal["true", "false", "unknown"] = Field(
        description="true: a real fault; false: a false alarm; unknown: cannot tell"
    )
    comment: str = Field("", max_length=2000, description="what was found")


class Feedback(Record):
    alert_id: str
    asset: str | None = None
    model: str | None = None
    model_version: int | None = None
    verdict: str
    recorded_by: str
    recorded_at: datetime
    note: str | None = None


class OutcomeIn(BaseModel):
    work_order: str = Field(min_length=1, max_length=200, description="the work order done")
    fault_found: bool | None = Field(None, description="was a fault found (null: not said)")
    failure_mode: str | None = Field(None, max_length=200, description="e.g. 'bearing'")
    parts: str | None = Field(None, max_length=2000, description="parts replaced")
    cost: float | None = Field(None, ge=0, allow_inf_nan=False, description="plant currency")
    downtime_h: float | None = Field(None, ge=0, allow_inf_nan=False, description="hours down")
    alert_id: str | None = Field(None, max_length=200, description="the alert it answered")
    comment: str = Field("", max_length=2000, description="free text")


class Outcome(Record):
    work_order: str
    asset: str | None = None
    alert_id: str | None = None
    fault_found: bool | None = None
    failure_mode: str | None = None
    parts: str | None = None
    cost: float | None = None
    downtime_h: float | None = None
    recorded_by: str
    recorded_at: datetime
    note: str | None = None


@router.post("/alerts/{alert_id}/feedback", response_model=Feedback)
def give_feedback(alert_id: str, body: FeedbackIn, principal: Operator, state: State) -> Feedback:
    """Judge an alert (true, false or unknown): the model's live precision counts it."""
    row = feedback.feedback_in_sites(
        state.lake, sites_of(principal), alert_id, body.verdict, body.comment, principal.user
    )
    state.cache.forget_versions()
    return one(row, Feedback)


@router.get("/alerts/{alert_id}/feedback", response_model=list[Feedback])
def feedback_history(alert_id: str, principal: Viewer, state: State) -> list[Feedback]:
    """Every verdict given on an alert, newest first (the latest counts)."""
    frame = feedback.feedback_history_in_sites(state.lake, sites_of(principal), alert_id)
    return rows(frame, Feedback)


@router.post("/work-orders/outcomes", response_model=Outcome)
def report_outcome(body: OutcomeIn, principal: Operator, state: State) -> Outcome:
    """What a work order found and cost; naming the alert it answered judges that alert."""
    row = feedback.outcome_in_sites(
        state.lake,
        sites_of(principal),
        body.work_order,
        principal.user,
        fault_found=body.fault_found,
        failure_mode=body.failure_mode,
        parts=body.parts,
        cost=body.cost,
        downtime_h=body.downtime_h,
        alert_id=body.alert_id,
        note=body.comment,
    )
    state.cache.forget_versions()
    return one(row, Outcome)


@router.get("/work-orders/outcomes", response_model=list[Outcome])
def list_outcomes(principal: Viewer, state: State, asset: str | None = None) -> list[Outcome]:
    """Work-order outcomes reported in your sites (the history), newest first."""
    sites = sites_of(principal)
    if asset is not None:
        views.asset(state.lake, sites, asset)  # 404 for an asset of another site
    return rows(feedback.outcomes_in_sites(state.lake, sites, asset), Outcome)
