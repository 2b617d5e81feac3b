"""Data quality, lineage, models, ingest uploads and long-running jobs."""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request

from shopfloor.errors import InputError, NotFoundError
from shopfloor.server.api.common import ERRORS, sites_of
from shopfloor.server.auth import Engineer, Viewer, server_state
from shopfloor.server.jobs import Job as JobRecord
from shopfloor.server.jobs import Progress
from shopfloor.server.schemas import (
    Ingest,
    IngestResult,
    Job,
    JobRequest,
    Model,
    QualityIssue,
    QualityReport,
    rows,
)
from shopfloor.server.state import ServerState
from shopfloor.workflows import views
from shopfloor.workflows.access import Principal

router = APIRouter(prefix="/api", responses=ERRORS)
State = Annotated[ServerState, Depends(server_state)]
_FORMATS = {"csv": ".csv", "parquet": ".parquet", "json": ".jsonl", "jsonl": ".jsonl"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


@router.get("/data-quality/report", response_model=QualityReport, tags=["data"])
def quality_report(principal: Viewer, state: State) -> QualityReport:
    """The latest full data-quality report's issues on your sites' assets."""
    sites = sites_of(principal)

    def report() -> QualityReport:
        issues, header = views.quality_issues(state.lake, sites)
        return QualityReport(
            checked_at=datetime.fromtimestamp(header["checked_at"], UTC) if header else None,
            table_version=header.get("table_version") if header else None,
            issues=rows(issues, QualityIssue),
        )

    # Parsed and converted once per stored report (hundreds of issues).
    stamp = views.quality_report_stamp(state.lake)
    return state.cached("quality_report", (sites, stamp), report)


@router.get("/lineage", response_model=list[Ingest], tags=["data"])
def lineage(
    principal: Viewer, state: State, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[Ingest]:
    """Every ingest: source file, table, rows accepted and quarantined, table version."""
    return rows(views.lineage(state.lake, sites_of(principal), limit), Ingest)


@router.get("/models", response_model=list[Model], tags=["data"])
def models(principal: Viewer, state: State) -> list[Model]:
    """Registered model versions with their metrics and the table versions they learnt from."""
    return [Model.model_validate(m) for m in views.models(state.lake, sites_of(principal))]


@router.post(
    "/ingest/{table}",
    response_model=IngestResult,
    tags=["data"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def ingest(
    table: str,
    request: Request,
    principal: Engineer,
    state: State,
    format: Annotated[str, Query(pattern="^(csv|parquet|json|jsonl)$")] = "csv",
    filename: Annotated[str, Query(max_length=200)] = "upload",
) -> IngestResult:
    """Upload one file (the raw body, streamed to disk) into a canonical table.

    Rows are checked like any file's: bad rows go to quarantine with the reason, and the
    same content uploaded twice is ingested once.  A file naming an asset or location
    outside your sites is refused whole.
    """
    uploads = state.lake.path / "uploads"
    uploads.mkdir(exist_ok=True)
    name = _SAFE_NAME.sub("_", Path(filename).name)[:100] or "upload"
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, kept on success
        dir=uploads, prefix=f"{name}-", suffix=_FORMATS[format], delete=False
    )
    path = Path(handle.name)
    try:
        async for chunk in request.stream():
            await anyio.to_thread.run_sync(handle.write, chunk)
        handle.close()
        summary = await anyio.to_thread.run_sync(
            lambda: _ingest(state, path, table, principal, name)
        )
    finally:
        handle.close()
        path.unlink(missing_ok=True)
    state.cache.forget_versions()
    return summary


def _ingest(
    state: ServerState, path: Path, table: str, principal: Principal, name: str
) -> IngestResult:
    from shopfloor.workflows.ingest import ingest_upload

    summary = ingest_upload(state.lake, path, table, sites_of(principal))
    result = summary.results[0]
    if result.status == "rejected":
        raise InputError(
            (result.error or "file refused").split(": ", 1)[-1], source=name, field="body"
        )
    return IngestResult(
        table=table,
        rows_read=result.accepted + result.rejected + result.quarantined,
        accepted=result.accepted,
        quarantined=result.quarantined,
        skipped=result.status == "skipped",
        table_version=result.table_version,
    )


def _job_out(job: JobRecord) -> Job:
    def at(value: float | None) -> datetime | None:
        return None if value is None else datetime.fromtimestamp(value, UTC)

    return Job(
        job_id=job.job_id,
        kind=job.kind,
        user=job.user,
        state=job.state,
        step=job.step,
        done=job.done,
        total=job.total,
        progress=job.progress,
        created_at=datetime.fromtimestamp(job.created_at, UTC),
        started_at=at(job.started_at),
        finished_at=at(job.finished_at),
        result=job.result,
        error=job.error,
    )


def _work(state: ServerState, kind: str) -> Any:
    lake = state.lake

    def data_quality(progress: Progress) -> dict[str, Any]:
        from shopfloor.workflows.data_quality import check_quality

        report = check_quality(lake, progress=progress)
        return {"issues": len(report.issues), "assets": report.assets}

    def maintenance_score(progress: Progress) -> dict[str, Any]:
        from shopfloor.workflows import maintenance

        progress("scoring", 0, 1)
        scored = maintenance.score(lake)
        progress("scoring", 1, 1)
        return {"alerts_written": scored.alerts_written, "assets": len(scored.scores)}

    def forecast(progress: Progress) -> dict[str, Any]:
        from shopfloor.workflows import supply_planning

        progress("forecasting", 0, 2)
        found = supply_planning.forecast_lake(lake)
        progress("designing policies", 1, 2)
        policies = supply_planning.design_lake_policies(lake, forecast=found)
        progress("done", 2, 2)
        return {"forecast_id": found.forecast_id, "policy_id": policies.policy_id}

    return {
        "data-quality": data_quality,
        "maintenance-score": maintenance_score,
        "forecast": forecast,
    }[kind]


@router.post("/jobs", response_model=Job, status_code=202, tags=["jobs"])
def start_job(body: JobRequest, principal: Engineer, state: State) -> Job:
    """Start lake-wide work (data-quality check, alert scoring, forecast and policies).

    It reads and writes every site's data, so it needs an engineer of every site.
    """
    if not views.site_map(state.lake).sees_everything(sites_of(principal)):
        raise NotFoundError("lake-wide jobs need an engineer of every site", field="kind")
    work = _work(state, body.kind)

    def run(progress: Progress) -> dict[str, Any]:
        result: dict[str, Any] = work(progress)
        state.cache.forget_versions()
        return result

    return _job_out(state.jobs.submit(body.kind, principal.user, principal.site_label, run))


@router.get("/jobs", response_model=list[Job], tags=["jobs"])
def list_jobs(principal: Viewer, state: State) -> list[Job]:
    """Your jobs (an admin sees everyone's), newest first."""
    return [
        _job_out(j) for j in state.jobs.list() if j.user == principal.user or principal.may("admin")
    ]


@router.get("/jobs/{job_id}", response_model=Job, tags=["jobs"])
def get_job(job_id: str, principal: Viewer, state: State) -> Job:
    job = state.jobs.get(job_id)
    if job is None or not (job.user == principal.user or principal.may("admin")):
        raise NotFoundError(f"no job '{job_id}'", field="job_id")
    return _job_out(job)
