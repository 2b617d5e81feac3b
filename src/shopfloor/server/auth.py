"""Authentication and authorisation as FastAPI dependencies.

A request authenticates with ``Authorization: Bearer sf_...`` (an API token) or with the
dashboard's session cookie.  Every check runs against the database on every request, so
a revoked token fails on the very next request.  Cookie-authenticated changes must come
from the server's own pages (same Origin), which with ``SameSite=Strict`` cookies stops
cross-site request forgery.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response

from shopfloor.errors import AuthError, PermissionDeniedError, RateLimitedError
from shopfloor.server.middleware import SESSION_COOKIE
from shopfloor.server.state import ServerState
from shopfloor.workflows.access import Principal, User, role_at_least

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.shopfloor
    return state


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthError("use 'Authorization: Bearer <token>'")
    return value.strip()


def _same_origin(request: Request) -> bool:
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return False
    return urlsplit(source).netloc == request.headers.get("host", "")


def authenticate(request: Request) -> Principal:
    """The principal of this request, or AuthError (401)."""
    state = server_state(request)
    bearer = _bearer(request)
    if bearer is not None:
        principal = state.access.authenticate(bearer, "api")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise AuthError("log in, or send an API token")
        principal = state.access.authenticate(cookie, "session")
        if request.method not in SAFE_METHODS and not _same_origin(request):
            raise PermissionDeniedError("a change by cookie must come from this server's pages")
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require(role: str):  # type: ignore[no-untyped-def]
    """Dependency: an authenticated principal of at least ``role``."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not role_at_least(principal.role, role):
            raise PermissionDeniedError(f"needs the {role} role (you are {principal.role})")
        return principal

    check.__name__ = f"require_{role}"
    return check


Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Engineer = Annotated[Principal, Depends(require("engineer"))]
Admin = Annotated[Principal, Depends(require("admin"))]


class LoginThrottle:
    """Failed logins per (address, user name): a pause after ``limit`` in a minute."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.failures: dict[tuple[str, str], list[float]] = {}
        self.lock = threading.Lock()

    def check(self, address: str, username: str) -> None:
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self.failures.get((address, username), []) if now - t < 60]
            self.failures[(address, username)] = recent
        if len(recent) >= self.limit:
            raise RateLimitedError(60 - (now - recent[0]))

    def failed(self, address: str, username: str) -> None:
        with self.lock:
            self.failures.setdefault((address, username), []).append(time.monotonic())


def set_session_cookie(request: Request, response: Response, secret: str, expires: float) -> None:
    """The dashboard's session cookie: HttpOnly, SameSite=Strict, Secure under TLS."""
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(expires - time.time()),
        httponly=True,
        samesite="strict",
        secure=server_state(request).settings.server.tls_cert is not None,
        path="/",
    )


def login(request: Request, username: str, password: str) -> tuple[User, str, float]:
    """Check a password and open a dashboard session: (user, session secret, expiry)."""
    state = server_state(request)
    address = request.client.host if request.client else "-"
    throttle: LoginThrottle = request.app.state.login_throttle
    request.state.login_user = username[:64]
    throttle.check(address, username)
    try:
        user = state.access.check_password(username, password)
    except AuthError:
        throttle.failed(address, username)
        raise
    hours = state.settings.server.session_hours
    issued = state.access.issue_token(user.username, kind="session", expires_in_s=hours * 3600)
    return user, issued.secret, issued.info.expires_at
