"""Rendering for the dashboard: the Jinja environment, number formats, the page shell.

Pages are rendered on the server; figures travel as JSON in
``<script type="application/json">`` blocks that ``static/app.js`` draws with the
plotly.js of the installed ``plotly`` package.  The content security policy allows no
inline script, so nothing here writes one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import Request, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from shopfloor import __version__
from shopfloor.errors import NotFoundError
from shopfloor.server.state import ServerState
from shopfloor.workflows import views
from shopfloor.workflows.access import Principal
from shopfloor.workflows.dashboard_figures import figure_json

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
NAV = (
    ("/", "Overview", "overview"),
    ("/assets", "Assets", "assets"),
    ("/alerts", "Alerts", "alerts"),
    ("/quality", "Quality", "quality"),
    ("/planning", "Planning", "planning"),
    ("/supply", "Supply", "supply"),
    ("/value", "Value", "value"),
    ("/data", "Data", "data"),
)
DASH = "–"


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def pct(value: Any, digits: int = 1) -> str:
    """0.6812 -> '68.1 %'."""
    if _missing(value) or not math.isfinite(float(value)):
        return DASH
    return f"{100.0 * float(value):.{digits}f} %"


def num(value: Any, digits: int = 0) -> str:
    """12345.6 -> '12,346' (or with ``digits`` decimals)."""
    if _missing(value):
        return DASH
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def hours(seconds: Any, digits: int = 1) -> str:
    if _missing(seconds):
        return DASH
    return f"{float(seconds) / 3600.0:,.{digits}f} h"


def when(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time in UTC, to the minute (the lake's clock)."""
    if _missing(value):
        return DASH
    if isinstance(value, (int, float)):
        value = pd.Timestamp(value, unit="s", tz="UTC")
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC")
    return stamp.strftime(fmt)


def day(value: Any) -> str:
    return when(value, "%Y-%m-%d")


def text(value: Any) -> str:
    return DASH if _missing(value) else str(value)


templates = Jinja2Templates(directory=TEMPLATES)
templates.env.filters.update(
    pct=pct, num=num, hours=hours, when=when, day=day, text=text, figure=figure_json
)
templates.env.globals.update(version=__version__, nav=NAV, missing=_missing)


def records(frame: pd.DataFrame | None, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of a frame for a template (at most ``limit``)."""
    if frame is None or frame.empty:
        return []
    shown = frame if limit is None else frame.head(limit)
    return [{str(k): v for k, v in r.items()} for r in shown.to_dict("records")]


def open_alert_count(state: ServerState, principal: Principal) -> int:
    sites = principal.sites
    frame = state.cached("alerts", sites, lambda: views.alerts(state.lake, sites))
    return 0 if frame.empty else int((frame["state"] == "open").sum())


def page(
    request: Request,
    template: str,
    principal: Principal | None,
    active: str = "",
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A page in the shell: nav with the user, role, sites and a logout button."""
    badge = 0
    if principal is not None:
        badge = open_alert_count(request.app.state.shopfloor, principal)
    return templates.TemplateResponse(
        request,
        template,
        {
            "me": principal,
            "sites_label": _sites_label(principal),
            "may_act": principal is not None and principal.may("operator"),
            "active": active,
            "open_badge": badge,
            "now": datetime.now(UTC),
            **context,
        },
        status_code=status_code,
    )


def _sites_label(principal: Principal | None) -> str:
    if principal is None:
        return ""
    return "all sites" if principal.sites is None else ", ".join(sorted(principal.sites))


def not_found_page(request: Request, detail: str) -> Response:
    principal = getattr(request.state, "principal", None)
    return page(request, "404.html", principal, status_code=404, detail=detail)


class PageRoute(APIRoute):
    """A page route: a NotFoundError (another site's data, a typo) renders the 404 page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except NotFoundError as exc:
                return await run_in_threadpool(not_found_page, request, str(exc))

        return route
