"""Alerts: the inbox, acknowledge and close with a comment, and a live stream (SSE)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from shopfloor.server.api.common import ERRORS, cached_rows, sites_of
from shopfloor.server.auth import Operator, Viewer, server_state
from shopfloor.server.schemas import Alert, AlertChange, one
from shopfloor.server.state import ServerState
from shopfloor.workflows import views

router = APIRouter(prefix="/api/alerts", responses=ERRORS, tags=["alerts"])
State = Annotated[ServerState, Depends(server_state)]


def _alerts(state: ServerState, sites: frozenset[str] | None) -> list[Alert]:
    return cached_rows(
        state,
        "alerts",
        sites,
        lambda: state.cached("alerts", sites, lambda: views.alerts(state.lake, sites)),
        Alert,
    )


@router.get("", response_model=list[Alert])
def list_alerts(
    principal: Viewer,
    state: State,
    alert_state: Annotated[
        Literal["open", "acknowledged", "closed"] | None, Query(alias="state")
    ] = None,
    asset: str | None = None,
) -> list[Alert]:
    """Current alerts (latest state of each), newest first."""
    sites = sites_of(principal)
    if asset is not None:
        views.asset(state.lake, sites, asset)  # 404 for an asset of another site
    found = _alerts(state, sites)
    return [
        a
        for a in found
        if (alert_state is None or a.state == alert_state) and (asset is None or a.asset == asset)
    ]


def _change(
    state: ServerState, principal: Operator, alert_id: str, to: str, body: AlertChange
) -> Alert:
    row = views.set_alert_state(
        state.lake, sites_of(principal), alert_id, to, body.comment, principal.user
    )
    state.cache.forget_versions()
    return one(row, Alert)


@router.post("/{alert_id}/acknowledge", response_model=Alert)
def acknowledge(
    alert_id: str, principal: Operator, state: State, body: AlertChange | None = None
) -> Alert:
    """Acknowledge an alert: someone is on it. The comment goes into its history."""
    return _change(state, principal, alert_id, "acknowledged", body or AlertChange())


@router.post("/{alert_id}/close", response_model=Alert)
def close(
    alert_id: str, principal: Operator, state: State, body: AlertChange | None = None
) -> Alert:
    """Close an alert (dealt with, or false). The comment goes into its history."""
    return _change(state, principal, alert_id, "closed", body or AlertChange())


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "alert events"}},
)
async def stream(
    request: Request,
    principal: Viewer,
    state: State,
    seconds: Annotated[
        float | None, Query(gt=0, le=86_400, description="end the stream after this long")
    ] = None,
) -> StreamingResponse:
    """Server-Sent Events: ``alert`` for every new alert or change of state in your sites.

    The first event lists the open alerts (``snapshot``); a comment line every 15 s
    keeps proxies from closing an idle stream.
    """
    sites = sites_of(principal)
    poll = state.settings.server.sse_poll_s

    async def events() -> AsyncIterator[str]:
        loop_time = asyncio.get_running_loop().time
        until = None if seconds is None else loop_time() + seconds
        current = await anyio.to_thread.run_sync(lambda: _alerts(state, sites))
        seen = {a.alert_id: a.updated_at for a in current}
        snapshot = [a.model_dump(mode="json") for a in current if a.state == "open"]
        yield f"event: snapshot\ndata: {json.dumps(snapshot)}\n\n"
        quiet = 0.0
        while until is None or loop_time() < until:
            if await request.is_disconnected():
                return
            await asyncio.sleep(poll)
            quiet += poll
            latest = await anyio.to_thread.run_sync(lambda: _alerts(state, sites))
            for alert in reversed(latest):
                if seen.get(alert.alert_id) != alert.updated_at:
                    seen[alert.alert_id] = alert.updated_at
                    quiet = 0.0
                    yield f"event: alert\nid: {alert.alert_id}\ndata: {alert.model_dump_json()}\n\n"
            if quiet >= 15:
                quiet = 0.0
                yield ": keep-alive\n\n"

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"x-accel-buffering": "no"}
    )
