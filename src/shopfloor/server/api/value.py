"""The value report: what the analytics are worth a year, per lever, and the payback.

It prices the whole plant (investment, models trained on the whole lake, suppliers'
stock), so only a principal of every site may read it; others get the 404 every route
answers for another site's data.  Computed once per version of the tables it reads and
of the model registry (:data:`shopfloor.workflows.value.TABLES`, ``value_stamp``).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shopfloor.server.api.common import ERRORS, sites_of
from shopfloor.server.auth import Viewer, server_state
from shopfloor.server.state import ServerState
from shopfloor.workflows import views
from shopfloor.workflows.value import TABLES, value_stamp, value_view

router = APIRouter(prefix="/api", responses=ERRORS)
State = Annotated[ServerState, Depends(server_state)]


class ValueLever(BaseModel):
    name: Literal["downtime", "maintenance", "scrap", "inventory"]
    title: str
    status: Literal["measured", "not measured"]
    quantity: float | None = Field(
        description="per year (inventory: the one-off stock reduction); null: not measured"
    )
    unit: str
    money: float | None = Field(description="benefit a year (negative: a cost); null: not measured")
    metric: str = Field(description="the measured performance it rests on, or why there is none")
    evidence: str = Field(description="the history it rests on and how it was scaled to a year")
    source: str = Field(description="models, tables and settings it was read from")


class ValueReportBody(BaseModel):
    currency: str
    levers: list[ValueLever]
    annual_benefit: float = Field(description="the measured levers' money a year")
    investment: float = Field(description="once: sensors, integration, software")
    running_cost: float = Field(description="a year")
    net_annual: float = Field(description="benefit less running cost, a year")
    payback_months: float | None = Field(
        description="investment / net a year, in months; null: the net is not positive"
    )
    assumptions: list[str]


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def report_for(state: ServerState, sites: views.Sites) -> ValueReportBody:
    """The report as the API and the page show it (cached; 404 below every site)."""

    def build() -> ValueReportBody:
        report = value_view(state.lake, sites)
        return ValueReportBody(
            currency=report.currency,
            levers=[
                ValueLever(
                    name=lever.name,
                    title=lever.title,
                    status="measured" if lever.measured else "not measured",
                    quantity=_finite(lever.quantity),
                    unit=lever.unit,
                    money=_finite(lever.money),
                    metric=lever.metric,
                    evidence=lever.evidence,
                    source=lever.source,
                )
                for lever in report.levers
            ],
            annual_benefit=report.annual_benefit,
            investment=report.investment,
            running_cost=report.running_cost,
            net_annual=report.net_annual,
            payback_months=_finite(report.payback_months),
            assumptions=list(report.assumptions),
        )

    if not views.site_map(state.lake).sees_everything(sites):
        return build()  # raises the 404 at once: nothing to cache
    return state.cache.get(("value", value_stamp(state.lake)), TABLES, build)


@router.get("/value", response_model=ValueReportBody, tags=["value"])
def value(principal: Viewer, state: State) -> ValueReportBody:
    """Downtime, maintenance cost, scrap and inventory a year in money, and the payback.

    Each lever rests on the plant's history and one model's measured performance; one
    without a measurement is ``not measured`` and adds nothing.  Principals of every
    site only (it prices the whole plant)."""
    return report_for(state, sites_of(principal))
