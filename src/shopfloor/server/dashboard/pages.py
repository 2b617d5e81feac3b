"""Dashboard pages: thin handlers over the site-scoped views, rendered with Jinja.

Every page authenticates with the session cookie (a request without one is sent to
``/login``), reads through ``state.cached`` under the same keys as the API, and shows
only what the principal's sites allow: the views do the cutting.  Another site's asset
or a typo renders the 404 page.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import pandas as pd
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from shopfloor.errors import AuthError, InputError, NotFoundError, RateLimitedError, ShopfloorError
from shopfloor.server.auth import Viewer, login, server_state, set_session_cookie
from shopfloor.server.dashboard.render import STATIC, PageRoute, page, records
from shopfloor.server.middleware import SESSION_COOKIE
from shopfloor.server.state import ServerState
from shopfloor.workflows import dashboard_figures as figures
from shopfloor.workflows import views

router = APIRouter(include_in_schema=False, route_class=PageRoute)
State = Annotated[ServerState, Depends(server_state)]
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
ISSUES_SHOWN = 50
READINGS_KEPT = 50_000  # a month of six signals every 10 min is 26,000 points


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def _plotly_js() -> Path:
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:  # pragma: no cover - plotly is a dependency
        raise NotFoundError("plotly is not installed")
    return Path(spec.origin).parent / "package_data" / "plotly.min.js"


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    """plotly.js of the installed ``plotly`` package (no CDN); cached a day by browsers."""
    return FileResponse(
        _plotly_js(),
        media_type="text/javascript",
        headers={"cache-control": "public, max-age=86400"},
    )


# -- sessions ----------------------------------------------------------------------------
def _local(target: str | None) -> str:
    """``target`` if it is a path on this server, else '/' (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _cross_site(request: Request) -> bool:
    """A form posted from another origin (a browser always sends Origin on POST)."""
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc != request.headers.get("host", "")


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return page(request, "login.html", None, next=_local(next))


@router.post("/login")
async def login_submit(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    target = _local(str(form.get("next", "/")))

    def again(error: str, status: int) -> Response:
        return page(
            request, "login.html", None, status_code=status, next=target, error=error,
            username=username,
        )  # fmt: skip

    if _cross_site(request):
        return await run_in_threadpool(again, "log in from this server's own page", 403)
    if not username or not password:
        return await run_in_threadpool(again, "enter your user name and password", 401)
    try:
        _, secret, expires = await run_in_threadpool(login, request, username, password)
    except AuthError:
        return await run_in_threadpool(again, "wrong user name or password", 401)
    except RateLimitedError as exc:
        wait = max(1, int(exc.retry_after + 0.999))
        return await run_in_threadpool(again, f"too many failed attempts: wait {wait} s", 429)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, secret, expires)
    return response


@router.post("/logout")
def logout(request: Request, state: State) -> Response:
    """End this session (the cookie is SameSite=Strict: no other site can post this)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            principal = state.access.authenticate(cookie, "session")
        except AuthError:
            pass
        else:
            request.state.principal = principal
            state.access.revoke(principal.token_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- overview ----------------------------------------------------------------------------
def _alerts(state: ServerState, sites: views.Sites) -> pd.DataFrame:
    return state.cached("alerts", sites, lambda: views.alerts(state.lake, sites))


def _condition(state: ServerState) -> tuple[views.Condition | None, str]:
    """The condition scores, or why there are none (no model trained yet)."""
    try:
        return state.cached("condition", "all", lambda: views.condition(state.lake)), ""
    except ShopfloorError as exc:
        return None, str(exc)


def _period(totals: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last day of the OEE periods (their ends are exclusive)."""
    if totals.empty:
        return None
    return totals["start"].min(), totals["end"].max() - pd.Timedelta(seconds=1)


@router.get("/")
def overview(request: Request, principal: Viewer, state: State) -> Response:
    sites = principal.sites
    daily = state.cached(
        "oee", ("line", "day", sites), lambda: views.oee(state.lake, sites, "line", "day")
    )
    losses = state.cached("losses", sites, lambda: views.losses(state.lake, sites))
    alerts = _alerts(state, sites)
    open_alerts = alerts[alerts["state"] == "open"] if not alerts.empty else alerts
    condition, condition_note = _condition(state)
    due = pd.DataFrame()
    if condition is not None:
        due = views.recommendations(condition, state.lake, sites)
        if not due.empty:
            due = due.sort_values("rul_hours").head(6)
    totals = figures.oee_totals(daily)
    return page(
        request,
        "overview.html",
        principal,
        "overview",
        charts=not daily.empty or not losses.empty,
        lines=records(totals),
        overall=figures.oee_overall(daily),
        period=_period(totals),
        oee_figure=None if daily.empty else figures.oee_daily_figure(daily),
        pareto_figure=None if losses.empty else figures.pareto_figure(losses),
        losses=records(losses, 8),
        open_alerts=records(open_alerts, 8),
        open_count=len(open_alerts),
        due=records(due),
        condition_note=condition_note,
    )


# -- assets ------------------------------------------------------------------------------
@router.get("/assets")
def asset_list(request: Request, principal: Viewer, state: State) -> Response:
    sites = principal.sites
    stamp = views.registry_stamp(state.lake)
    assets = state.cached(
        "registry", ("frame", sites, stamp), lambda: views.assets(state.lake, sites)
    )
    alerts = _alerts(state, sites)
    open_by_asset: dict[str, int] = {}
    if not alerts.empty:
        sizes = alerts[alerts["state"] == "open"].groupby("asset").size()
        open_by_asset = {str(k): int(v) for k, v in sizes.items()}
    condition, note = _condition(state)
    rul: dict[str, dict[str, Any]] = {}
    if condition is not None:
        recs = views.recommendations(condition, state.lake, sites)
        rul = {r["asset"]: r for r in records(recs)}
    return page(
        request,
        "assets.html",
        principal,
        "assets",
        assets=records(assets),
        open_by_asset=open_by_asset,
        rul=rul,
        condition_note=note,
    )


@router.get("/assets/{asset}")
def asset_page(
    asset: str,
    request: Request,
    principal: Viewer,
    state: State,
    every: Annotated[str, Query(max_length=8)] = "1h",
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
) -> Response:
    sites = principal.sites
    info = views.asset(state.lake, sites, asset)  # 404 for another site's asset
    every = every if every in figures.RESAMPLE else "1h"
    days = days if days in figures.WINDOWS else 30
    alerts = _alerts(state, sites)
    mine = alerts[alerts["asset"] == asset] if not alerts.empty else alerts
    condition, condition_note = _condition(state)
    health_figure, rul_figure, outlook, latest = None, None, None, None
    if condition is not None:
        health = views.health(condition, state.lake, sites, asset)
        if not health.empty:
            latest = pd.Timestamp(health["ts"].max())
            health_figure = figures.health_figure(health, mine)
        recs = views.recommendations(condition, state.lake, sites)
        found = records(recs[recs["asset"] == asset]) if not recs.empty else []
        if found:
            outlook = found[0]
            rul_figure = figures.rul_figure(outlook)
    signals = views.signals(state.lake, sites, asset)
    # To the next 10 minutes: the same window (and cache entry) for a while.
    now = pd.Timestamp.now(tz="UTC").ceil("10min")
    start, end = figures.readings_window(latest, now, days)
    readings_figure, readings_note = None, ""
    if not signals.empty:
        try:
            readings = state.cached(
                "readings",
                ("page", asset, start, end, every, sites),
                lambda: views.readings(state.lake, sites, asset, None, start, end, every),
                keep=lambda found: len(found) <= READINGS_KEPT,
            )
        except InputError as exc:
            readings, readings_note = pd.DataFrame(), str(exc)
        if not readings.empty:
            readings_figure = figures.readings_figure(readings, signals)
    work_orders = state.cached(
        "work_orders", (sites, asset), lambda: views.work_orders(state.lake, sites, asset)
    )
    return page(
        request,
        "asset.html",
        principal,
        "assets",
        charts=True,
        asset=info,
        signals=records(signals),
        every=every,
        days=days,
        choices=figures.RESAMPLE,
        windows=figures.WINDOWS,
        window=(start, end),
        readings_figure=readings_figure,
        readings_note=readings_note,
        health_figure=health_figure,
        rul_figure=rul_figure,
        outlook=outlook,
        condition_note=condition_note,
        alerts=records(mine),
        work_orders=records(work_orders, 50),
        work_order_count=len(work_orders),
    )


# -- alerts ------------------------------------------------------------------------------
ALERT_STATES = ("open", "acknowledged", "closed")


@router.get("/alerts")
def alert_inbox(
    request: Request,
    principal: Viewer,
    state: State,
    show: Annotated[str, Query(max_length=16)] = "open",
) -> Response:
    alerts = _alerts(state, principal.sites)
    show = show if show in (*ALERT_STATES, "all") else "open"
    counts = {s: 0 for s in ALERT_STATES}
    if not alerts.empty:
        counts.update({str(k): int(v) for k, v in alerts["state"].value_counts().items()})
    shown = alerts if show == "all" or alerts.empty else alerts[alerts["state"] == show]
    return page(
        request,
        "alerts.html",
        principal,
        "alerts",
        alerts=records(shown, 500),
        total=len(shown),
        counts=counts,
        show=show,
        states=ALERT_STATES,
    )


# -- quality -----------------------------------------------------------------------------
INSPECTIONS = 5000


def _inspections(state: ServerState, sites: views.Sites) -> pd.DataFrame:
    key = (sites, None, None, INSPECTIONS)
    return state.cached(
        "inspections", key, lambda: views.inspections(state.lake, sites, None, None, INSPECTIONS)
    )


@router.get("/quality")
def quality(
    request: Request,
    principal: Viewer,
    state: State,
    series: Annotated[int | None, Query(ge=0, le=100_000)] = None,
) -> Response:
    sites = principal.sites
    summary, report = state.cached("spc", sites, lambda: views.spc_summary(state.lake, sites))
    visible = set(summary["asset"]) if not summary.empty else set()
    charted = [s for s in report.series if s.asset in visible] if report is not None else []
    chosen = series
    if (chosen is None or chosen >= len(charted)) and charted:
        chosen = int(summary["alarms_phase_two"].fillna(0).to_numpy().argmax())
    spc_figure = figures.spc_figure(charted[chosen]) if charted and chosen is not None else None
    inspections = _inspections(state, sites)
    failed = inspections[inspections["verdict"] == "fail"] if not inspections.empty else inspections
    images = figures.image_verdicts(inspections)
    return page(
        request,
        "quality.html",
        principal,
        "quality",
        charts=spc_figure is not None,
        summary=records(summary),
        chosen=chosen,
        chosen_series=charted[chosen] if spc_figure is not None and chosen is not None else None,
        spc_figure=spc_figure,
        verdicts=records(figures.verdict_summary(inspections)),
        inspected=len(inspections),
        limit=INSPECTIONS,
        failed=records(failed, 20),
        images=records(images, 60),
        image_count=len(images),
    )


@router.get("/quality/map")
def localisation_map(
    request: Request,
    principal: Viewer,
    state: State,
    path: Annotated[str, Query(max_length=1000)],
) -> Response:
    """The localisation map of an image verdict of the principal's sites (PNG)."""
    from shopfloor.workflows.inspection import RUNS_DIR

    found = figures.map_file(_inspections(state, principal.sites), path, state.lake.path / RUNS_DIR)
    if found is None:
        raise NotFoundError("no such localisation map", field="path")
    return FileResponse(found, media_type="image/png")


# -- planning ----------------------------------------------------------------------------
@router.get("/planning")
def planning(request: Request, principal: Viewer, state: State) -> Response:
    sites = principal.sites
    stored = state.cached("schedules", sites, lambda: views.schedules(state.lake, sites))
    latest = None
    if not stored.empty:
        try:
            latest = state.cached(
                "schedules",
                ("detail", None, sites),
                lambda: views.schedule(state.lake, sites, None),
            )
        except NotFoundError:
            latest = None  # the newest schedule is another site's
    context: dict[str, Any] = {"schedules": records(stored, 20), "latest": None}
    if latest is not None:
        s = latest.schedule
        ops = latest.operations
        context.update(
            latest=s,
            machines=sorted(set(ops["machine"].astype(str))),
            operations=len(ops),
            orders=ops["order"].nunique(),
            span=(ops["start"].min(), ops["end"].max()),
            gantt_figure=figures.gantt(ops, s.breakdowns, s.schedule_id),
            moves=records(latest.moves, 200),
            move_count=len(latest.moves),
        )
    return page(
        request, "planning.html", principal, "planning", charts=latest is not None, **context
    )


# -- supply ------------------------------------------------------------------------------
FANS = 3


def _history(state: ServerState, sites: views.Sites, pair: figures.Pair) -> pd.DataFrame:
    try:
        return state.cached(
            "demand",
            (sites, pair.item, pair.location),
            lambda: views.demand_history(state.lake, sites, pair.item, pair.location),
        )
    except NotFoundError:
        return pd.DataFrame(columns=["period_start", "quantity"])


@router.get("/supply")
def supply(
    request: Request,
    principal: Viewer,
    state: State,
    item: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    sites = principal.sites
    forecasts = state.cached("forecasts", sites, lambda: views.forecasts(state.lake, sites))
    pairs = figures.forecast_pairs(forecasts)
    chosen = [p for p in pairs if p.key == item] or pairs[:FANS]
    fans = []
    for pair in chosen:
        rows = forecasts[
            (forecasts["item"] == pair.item) & (forecasts["location"] == pair.location)
        ]
        history = _history(state, sites, pair)
        fans.append((pair, figures.fan_figure(rows, history), rows.iloc[0].to_dict()))
    reorders = state.cached("reorders", sites, lambda: views.reorders(state.lake, sites))
    suppliers, suppliers_note = pd.DataFrame(), ""
    try:
        suppliers = state.cached(
            "suppliers", sites, lambda: views.supplier_scorecards(state.lake, sites)
        )
    except NotFoundError as exc:
        suppliers_note = str(exc)
    return page(
        request,
        "supply.html",
        principal,
        "supply",
        charts=bool(fans),
        pairs=pairs,
        selected=item if len(chosen) == 1 else "",
        fans=fans,
        forecast_id=str(forecasts["forecast_id"].iloc[0]) if not forecasts.empty else "",
        reorders=records(reorders, 100),
        reorder_count=len(reorders),
        reorder_value=float(reorders["value"].sum()) if not reorders.empty else 0.0,
        suppliers=records(suppliers),
        suppliers_note=suppliers_note,
    )


# -- data --------------------------------------------------------------------------------
def _everything(fn: Any) -> tuple[Any, str]:
    """A view of data that spans every site, or the note saying why it is not shown."""
    try:
        return fn(), ""
    except NotFoundError as exc:
        return None, str(exc)


@router.get("/data")
def data(
    request: Request,
    principal: Viewer,
    state: State,
    check: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    sites = principal.sites
    stamp = views.quality_report_stamp(state.lake)
    issues, header = state.cached(
        "quality_report", ("frame", sites, stamp), lambda: views.quality_issues(state.lake, sites)
    )
    by_check: list[dict[str, Any]] = []
    if not issues.empty:
        issues = issues.assign(_order=issues["severity"].map(SEVERITY_ORDER).fillna(9)).sort_values(
            ["_order", "rows"], ascending=[True, False], kind="stable"
        )
        table = issues.pivot_table(
            index="check", columns="severity", values="rows", aggfunc="size", fill_value=0
        )
        rows = issues.groupby("check")["rows"].sum()
        by_check = [
            {
                "check": name,
                "issues": int(table.loc[name].sum()),
                "critical": int(table.loc[name].get("critical", 0)),
                "warning": int(table.loc[name].get("warning", 0)),
                "info": int(table.loc[name].get("info", 0)),
                "rows": int(rows[name]),
            }
            for name in table.index
        ]
        by_check.sort(key=lambda r: -r["issues"])
        if check is not None:
            issues = issues[issues["check"] == check]
    lineage, lineage_note = _everything(lambda: views.lineage(state.lake, sites, 50))
    models, models_note = _everything(lambda: views.models(state.lake, sites))
    return page(
        request,
        "data.html",
        principal,
        "data",
        header=header,
        checked_at=None if header is None else header.get("checked_at"),
        check=check,
        issues=records(issues, ISSUES_SHOWN),
        issue_count=len(issues),
        by_check=by_check,
        lineage=records(lineage),
        lineage_note=lineage_note,
        models=models or [],
        models_note=models_note,
    )


# -- value -------------------------------------------------------------------------------
@router.get("/value")
def value(request: Request, principal: Viewer, state: State) -> Response:
    """The value report: levers in money, the waterfall, the payback (every site only)."""
    from shopfloor.server.api.value import report_for
    from shopfloor.workflows.value import waterfall

    try:
        report = report_for(state, principal.sites)
    except NotFoundError as exc:
        said = (
            "The value report prices the whole plant, so it is for principals of every "
            f"site only ({exc})."
        )
        return page(request, "value.html", principal, "value", report=None, message=said)
    except ShopfloorError as exc:  # a lake it cannot price yet: say why
        said = f"The value report cannot be made from this lake: {exc}"
        return page(request, "value.html", principal, "value", report=None, message=said)
    return page(
        request,
        "value.html",
        principal,
        "value",
        charts=True,
        report=report,
        figure=waterfall(
            [(lv.title, lv.money) for lv in report.levers],
            report.running_cost,
            report.net_annual,
            report.currency,
        ),
        message="",
    )
