"""The FastAPI application: API routers, dashboard pages, middleware, error mapping."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shopfloor import __version__
from shopfloor.config import Settings, load_settings
from shopfloor.errors import (
    AuthError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ShopfloorError,
)
from shopfloor.server.auth import LoginThrottle
from shopfloor.server.middleware import AuditTrail, BodyLimit, RateLimit, SecureHeaders
from shopfloor.server.state import ServerState

log = logging.getLogger("shopfloor.server")


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(AuthError)
    async def unauthenticated(request: Request, exc: AuthError) -> Response:
        if _wants_page(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return _error(401, str(exc), {"www-authenticate": "Bearer"})

    @app.exception_handler(PermissionDeniedError)
    async def forbidden(request: Request, exc: PermissionDeniedError) -> Response:
        return _error(403, str(exc))

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return _error(404, str(exc))

    @app.exception_handler(RateLimitedError)
    async def limited(request: Request, exc: RateLimitedError) -> Response:
        return _error(429, str(exc), {"retry-after": str(max(1, int(exc.retry_after + 0.999)))})

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> Response:
        return _error(422, str(exc))

    @app.exception_handler(ShopfloorError)
    async def refused(request: Request, exc: ShopfloorError) -> Response:
        # Lake or model state that cannot serve the request (e.g. no model trained yet).
        return _error(409, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        return _error(422, f"field '{where}': {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal error (logged on the server)")


def _warm(state: ServerState) -> None:
    from shopfloor.workflows import views

    try:
        state.cached("condition", "all", lambda: views.condition(state.lake))
    except Exception as exc:  # e.g. no model trained yet: the routes will say so
        log.info("no condition scores to warm: %s", exc)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole service over one lake (``settings.lake``)."""
    from shopfloor.server.api import account, alerts, data, insights, plant
    from shopfloor.server.api import feedback as feedback_api
    from shopfloor.server.api import value as value_api
    from shopfloor.server.dashboard import pages

    settings = settings or load_settings()
    state = ServerState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Condition scoring takes seconds on a month of data: do it before the first
        # asset page asks, off the event loop.
        threading.Thread(target=_warm, args=(state,), name="warm-up", daemon=True).start()
        if state.alert_feed is not None:
            state.alert_feed.start()
        yield
        state.jobs.shutdown()
        if state.alert_feed is not None:
            state.alert_feed.stop()

    app = FastAPI(
        title="shopfloor",
        version=__version__,
        description="A factory's data, checked, versioned and turned into decisions. "
        "Authenticate with `Authorization: Bearer <token>` (`shopfloor users token`).",
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI loads from a CDN: the dashboard links the JSON instead
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.shopfloor = state
    app.state.login_throttle = LoginThrottle(settings.server.login_attempts_per_minute)
    _install_errors(app)
    app.state.api_routers = (
        account.router,
        plant.router,
        alerts.router,
        feedback_api.router,
        insights.router,
        data.router,
        value_api.router,
    )
    for router in (*app.state.api_routers, pages.router):
        app.include_router(router)
    pages.mount_static(app)

    # Outermost first: headers on every answer (even 413 and 429), then size, rate, audit.
    app.add_middleware(AuditTrail, log=state.audit)  # type: ignore[arg-type]
    app.add_middleware(RateLimit, settings=settings.server)  # type: ignore[arg-type]
    app.add_middleware(BodyLimit, settings=settings.server)  # type: ignore[arg-type]
    app.add_middleware(SecureHeaders, tls=settings.server.tls_cert is not None)  # type: ignore[arg-type]
    return app


def api_routes(app: FastAPI) -> list[Any]:
    """The API's routes (for tests generated from the route table).

    Read from the routers themselves: FastAPI includes routers lazily, so ``app.routes``
    holds wrappers rather than the routes.
    """
    from fastapi.routing import APIRoute

    return [
        route
        for router in app.state.api_routers
        for route in router.routes
        if isinstance(route, APIRoute) and route.path.startswith("/api/")
    ]
