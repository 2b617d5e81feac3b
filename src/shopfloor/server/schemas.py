"""The API's request and response bodies (they are the OpenAPI schema clients see)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

M = TypeVar("M", bound=BaseModel)


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        # Naive times are the lake's clock, UTC: say so, as RFC 3339 date-times must.
        return _plain(value.to_pydatetime(warn=False))
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return _plain(value.item())
        except (ValueError, AttributeError):
            return value
    return value


def rows(frame: pd.DataFrame, model: type[M]) -> list[M]:
    """Frame rows as models: NaN, inf and NaT become null, numpy scalars plain Python."""
    if frame is None or frame.empty:
        return []
    names = [n for n in model.model_fields if n in frame.columns]
    out = []
    for record in frame[names].to_dict(orient="records"):
        out.append(model.model_validate({k: _plain(v) for k, v in record.items()}))
    return out


def one(record: dict[str, Any], model: type[M]) -> M:
    return model.model_validate(
        {k: _plain(v) for k, v in record.items() if k in model.model_fields}
    )


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ErrorBody(BaseModel):
    detail: str = Field(description="what went wrong, in one line")


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    user: str
    role: str
    sites: list[str] | None = Field(description="null: every site")
    via: str


class LoginResult(Me):
    expires_at: datetime


class Site(BaseModel):
    site: str


class Asset(Record):
    asset: str
    parent: str | None = None
    level: str
    name: str | None = None
    site: str | None = None
    line: str | None = None


class Signal(Record):
    asset: str
    signal: str
    unit: str | None = None
    kind: str | None = None
    lower: float | None = None
    upper: float | None = None
    period_s: float | None = None


class Reading(Record):
    signal: str
    ts: datetime
    value: float | None = None


class HealthPoint(Record):
    ts: datetime
    score: float | None = None
    threshold: float | None = None


class WorkOrder(Record):
    work_order: str
    asset: str
    kind: str | None = None
    created: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None
    cost: float | None = None
    detail: str | None = None


class OeeRow(Record):
    group: str
    period_start: datetime
    period_end: datetime
    availability: float | None = None
    performance: float | None = None
    quality: float | None = None
    oee: float | None = None
    planned_time_s: float | None = None
    run_time_s: float | None = None
    good: float | None = None
    scrap: float | None = None
    unplanned_stop_s: float | None = None
    changeover_s: float | None = None


class Loss(Record):
    reason: str
    kind: str | None = None
    duration_s: float
    count: int
    share: float | None = None
    cumulative_share: float | None = None


class Alert(Record):
    alert_id: str
    asset: str
    start: datetime
    end: datetime | None = None
    severity: str | None = None
    score: float | None = None
    threshold: float | None = None
    explanation: str | None = None
    signals: str | None = None
    model: str | None = None
    model_version: int | None = None
    state: str
    updated_at: datetime
    note: str | None = None


class AlertChange(BaseModel):
    comment: str = Field("", max_length=2000, description="why; kept in the alert's history")


class Recommendation(Record):
    asset: str
    rul_hours: float | None = None
    rul_lower: float | None = None
    rul_upper: float | None = None
    failure_risk_7d: float | None = None
    latest_safe: datetime | None = None
    order_by: datetime | None = None
    urgent: bool | None = None
    expected_saving: float | None = None


class ScheduleSummary(Record):
    schedule_id: str
    parent_id: str | None = None
    created_at: datetime
    objective: str | None = None
    status: str | None = None
    reason: str | None = None
    operations: int


class Operation(Record):
    order: str
    item: str | None = None
    op_seq: int
    operation: str | None = None
    machine: str
    start: datetime
    end: datetime
    setup_end: datetime | None = None


class Move(Record):
    order: str
    op_seq: int
    change: str
    machine_before: str | None = None
    machine: str | None = None
    start_before: datetime | None = None
    start: datetime | None = None


class ScheduleDetail(BaseModel):
    schedule_id: str
    parent_id: str | None
    created_at: datetime
    objective: str
    status: str
    reason: str
    operations: list[Operation]
    moves: list[Move]


class ForecastRow(Record):
    item: str
    location: str
    period: str | None = None
    period_start: datetime
    step: int | None = None
    model: str | None = None
    mean: float | None = None
    q50: float | None = None
    q80: float | None = None
    q90: float | None = None
    q95: float | None = None


class Reorder(Record):
    item: str
    location: str
    supplier: str | None = None
    position: float | None = None
    reorder_point: float | None = None
    gap: float | None = None
    cover_periods: float | None = None
    quantity: float | None = None
    unit_cost: float | None = None
    value: float | None = None


class SupplierScore(Record):
    supplier: str
    lines: int | None = None
    open_lines: int | None = None
    otif: float | None = None
    on_time: float | None = None
    in_full: float | None = None
    lead_time_mean_d: float | None = None
    lead_time_sd_d: float | None = None
    lead_time_p90_d: float | None = None
    quantity_accuracy: float | None = None


class SpcSeries(Record):
    asset: str
    product: str | None = None
    characteristic: str
    chart: str | None = None
    points: int | None = None
    mean: float | None = None
    sigma: float | None = None
    lcl: float | None = None
    ucl: float | None = None
    alarms_phase_two: int | None = None
    first_alarm: datetime | None = None


class Inspection(Record):
    asset: str
    ts: datetime
    product: str | None = None
    order: str | None = None
    characteristic: str | None = None
    value: float | None = None
    lsl: float | None = None
    usl: float | None = None
    verdict: str | None = None
    image: str | None = None
    label: str | None = None
    model: str | None = None
    score: float | None = None
    map: str | None = None


class QualityIssue(Record):
    check: str
    asset: str
    signal: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    severity: str | None = None
    rows: int | None = None
    detail: str | None = None


class QualityReport(BaseModel):
    checked_at: datetime | None
    table_version: int | None
    issues: list[QualityIssue]


class Ingest(Record):
    id: int
    source: str
    table_name: str
    status: str
    rows_read: int | None = None
    accepted: int | None = None
    rejected: int | None = None
    quarantined: int | None = None
    table_version: int | None = None
    started_at: float
    finished_at: float | None = None
    error: str | None = None


class IngestResult(BaseModel):
    table: str
    rows_read: int
    accepted: int
    quarantined: int
    skipped: bool
    table_version: int | None


class Model(BaseModel):
    name: str
    version: int
    estimator: str
    stage: str
    created_at: datetime
    metrics: dict[str, float | None]
    training_data: dict[str, int | None]
    notes: str


JobKind = Literal["data-quality", "maintenance-score", "forecast"]


class JobRequest(BaseModel):
    kind: JobKind


class Job(BaseModel):
    job_id: str
    kind: str
    user: str
    state: str
    step: str
    done: int
    total: int
    progress: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any]
    error: str


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=10, max_length=1024)
    role: Literal["viewer", "operator", "engineer", "admin"]
    sites: list[str] | None = Field(description="null: every site (admins only)")


class UserOut(BaseModel):
    username: str
    role: str
    sites: list[str] | None
    disabled: bool


class NewToken(BaseModel):
    label: str = Field("", max_length=200)
    expires_days: float = Field(90.0, gt=0, le=3650)


class TokenOut(BaseModel):
    token_id: str
    username: str
    kind: str
    label: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    active: bool


class IssuedTokenOut(TokenOut):
    token: str = Field(description="the bearer secret: shown once, stored nowhere")


class AuditRow(BaseModel):
    id: int
    at: datetime
    principal: str
    action: str
    method: str
    target: str
    status: int
    sites: str
    detail: str


class AuditCheck(BaseModel):
    rows: int
    ok: bool
    first_bad_id: int | None
    problem: str
