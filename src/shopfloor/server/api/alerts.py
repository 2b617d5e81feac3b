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


def _offer(queue: asyncio.Queue[str], text: str) -> None:
    if not queue.full():  # a client that stopped reading loses live events, not memory
        queue.put_nowait(text)


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
    keeps proxies from closing an idle stream.  When the server relays a broker's live
    alerts (``server.mqtt``), each one arrives at once as a ``live`` event (the alert as
    published: asset, kind raised/cleared, ts, score, threshold, signals), before the
    ``alert`` event of its row in the alerts table.
    """
    sites = sites_of(principal)
    poll = state.settings.server.sse_poll_s
    loop = asyncio.get_running_loop()
    # Everything the client is to get, as SSE text: live alerts from the MQTT feed (pushed
    # from paho's thread) and changes found by polling the alerts table (a task of its
    # own, so a slow table read never holds up a live alert).
    outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
    remove = None
    if state.alert_feed is not None:
        seen_sites = await anyio.to_thread.run_sync(lambda: views.site_map(state.lake))

        def relay(alert: dict[str, object]) -> None:  # paho's thread
            if seen_sites.sees(sites, str(alert.get("asset"))):
                text = f"event: live\ndata: {json.dumps(alert)}\n\n"
                loop.call_soon_threadsafe(_offer, outbox, text)

        remove = state.alert_feed.add(relay)

    async def poll_table(seen: dict[str, object]) -> None:
        while True:
            await asyncio.sleep(poll)
            latest = await anyio.to_thread.run_sync(lambda: _alerts(state, sites))
            for alert in reversed(latest):
                if seen.get(alert.alert_id) != alert.updated_at:
                    seen[alert.alert_id] = alert.updated_at
                    data = alert.model_dump_json()
                    await outbox.put(f"event: alert\nid: {alert.alert_id}\ndata: {data}\n\n")

    async def events() -> AsyncIterator[str]:
        until = None if seconds is None else loop.time() + seconds
        poller = None
        try:
            current = await anyio.to_thread.run_sync(lambda: _alerts(state, sites))
            snapshot = [a.model_dump(mode="json") for a in current if a.state == "open"]
            yield f"event: snapshot\ndata: {json.dumps(snapshot)}\n\n"
            poller = asyncio.create_task(poll_table({a.alert_id: a.updated_at for a in current}))
            quiet_since = loop.time()
            while until is None or loop.time() < until:
                if await request.is_disconnected():
                    return
                wait = 1.0 if until is None else max(0.0, min(1.0, until - loop.time()))
                try:
                    text = await asyncio.wait_for(outbox.get(), wait)
                except TimeoutError:
                    if loop.time() - quiet_since >= 15:
                        quiet_since = loop.time()
                        yield ": keep-alive\n\n"
                    continue
                quiet_since = loop.time()
                yield text
        finally:
            if poller is not None:
                poller.cancel()
            if remove is not None:
                remove()

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"x-accel-buffering": "no"}
    )
