"""Health, login and logout, who am I, users and tokens, and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from shopfloor import __version__
from shopfloor.errors import NotFoundError, PermissionDeniedError
from shopfloor.server.api.common import ERRORS
from shopfloor.server.auth import Admin, CurrentPrincipal, login, server_state, set_session_cookie
from shopfloor.server.middleware import SESSION_COOKIE
from shopfloor.server.schemas import (
    AuditCheck,
    AuditRow,
    Health,
    IssuedTokenOut,
    LoginRequest,
    LoginResult,
    Me,
    NewToken,
    NewUser,
    TokenOut,
    UserOut,
)
from shopfloor.server.state import ServerState
from shopfloor.workflows.access import Principal, TokenInfo, User

router = APIRouter(prefix="/api", responses=ERRORS)
State = Annotated[ServerState, Depends(server_state)]


def _at(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _sites(value: frozenset[str] | None) -> list[str] | None:
    return None if value is None else sorted(value)


def _me(principal: Principal) -> Me:
    return Me(
        user=principal.user,
        role=principal.role,
        sites=_sites(principal.sites),
        via=principal.via,
    )


def _token(info: TokenInfo) -> TokenOut:
    return TokenOut(
        token_id=info.token_id,
        username=info.username,
        kind=info.kind,
        label=info.label,
        created_at=datetime.fromtimestamp(info.created_at, UTC),
        expires_at=datetime.fromtimestamp(info.expires_at, UTC),
        revoked_at=_at(info.revoked_at),
        active=info.active,
    )


def _user(user: User) -> UserOut:
    return UserOut(
        username=user.username, role=user.role, sites=_sites(user.sites), disabled=user.disabled
    )


@router.get("/health", response_model=Health, tags=["service"])
def health() -> Health:
    """Liveness probe: no authentication, no plant data."""
    return Health(status="ok", version=__version__)


@router.post("/auth/login", response_model=LoginResult, tags=["service"])
def login_route(body: LoginRequest, request: Request, response: Response) -> LoginResult:
    """Check a password and set the dashboard's session cookie (HttpOnly, SameSite=Strict)."""
    user, secret, expires = login(request, body.username, body.password)
    set_session_cookie(request, response, secret, expires)
    return LoginResult(
        user=user.username,
        role=user.role,
        sites=_sites(user.sites),
        via="session",
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


@router.post("/auth/logout", status_code=204, tags=["service"])
def logout(principal: CurrentPrincipal, state: State, response: Response) -> Response:
    """End this session (a bearer token stays valid: revoke it with DELETE /api/tokens)."""
    if principal.via == "session":
        state.access.revoke(principal.token_id)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/me", response_model=Me, tags=["service"])
def me(principal: CurrentPrincipal) -> Me:
    """Who this request acts as: user, role and sites."""
    return _me(principal)


@router.get("/tokens", response_model=list[TokenOut], tags=["service"])
def my_tokens(principal: CurrentPrincipal, state: State) -> list[TokenOut]:
    """Your API tokens (never their secrets)."""
    return [_token(t) for t in state.access.tokens(principal.user) if t.kind == "api"]


@router.post("/tokens", response_model=IssuedTokenOut, status_code=201, tags=["service"])
def new_token(body: NewToken, principal: CurrentPrincipal, state: State) -> IssuedTokenOut:
    """A new API token with your role and sites; its secret is in this answer only."""
    issued = state.access.issue_token(
        principal.user, kind="api", expires_in_s=body.expires_days * 86400, label=body.label
    )
    return IssuedTokenOut(**_token(issued.info).model_dump(), token=issued.secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut, tags=["service"])
def revoke_token(token_id: str, principal: CurrentPrincipal, state: State) -> TokenOut:
    """Revoke one of your tokens (an admin of every site may revoke anyone's)."""
    try:
        info = state.access.token(token_id)
    except Exception:
        raise NotFoundError(f"no token '{token_id}'", field="token_id") from None
    mine = info.username == principal.user
    if not mine and not (principal.may("admin") and principal.sites is None):
        raise NotFoundError(f"no token '{token_id}'", field="token_id")
    return _token(state.access.revoke(token_id))


def _admin_over(principal: Principal, sites: frozenset[str] | None) -> None:
    """An admin manages users only within its own sites."""
    if principal.sites is None:
        return
    if sites is None or not sites <= principal.sites:
        raise PermissionDeniedError("you may only manage users of your own sites")


@router.get("/users", response_model=list[UserOut], tags=["admin"])
def users(principal: Admin, state: State) -> list[UserOut]:
    """Users whose sites lie within yours."""
    return [
        _user(u)
        for u in state.access.users()
        if principal.sites is None or (u.sites is not None and u.sites <= principal.sites)
    ]


@router.post("/users", response_model=UserOut, status_code=201, tags=["admin"])
def add_user(body: NewUser, principal: Admin, state: State) -> UserOut:
    sites = None if body.sites is None else frozenset(body.sites)
    _admin_over(principal, sites)
    user = state.access.add_user(body.username, body.password, body.role, body.sites)
    return _user(user)


@router.delete("/users/{username}", response_model=UserOut, tags=["admin"])
def disable_user(username: str, principal: Admin, state: State) -> UserOut:
    """Disable a user and revoke all their tokens and sessions at once."""
    try:
        user = state.access.user(username)
    except Exception:
        raise NotFoundError(f"no user '{username}'", field="username") from None
    if principal.sites is not None and (user.sites is None or not user.sites <= principal.sites):
        raise NotFoundError(f"no user '{username}'", field="username")
    state.access.disable_user(username)
    return _user(state.access.user(username))


def _everything(principal: Principal) -> None:
    # Audit rows name every site's paths: reading them needs an admin of every site.
    if principal.sites is not None:
        raise PermissionDeniedError("the audit log spans every site: admins of every site only")


@router.get("/audit", response_model=list[AuditRow], tags=["admin"])
def audit(
    principal: Admin,
    state: State,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    user: Annotated[str | None, Query(max_length=64)] = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[AuditRow]:
    """The audit log, newest first."""
    _everything(principal)
    return [
        AuditRow(
            id=e.id,
            at=datetime.fromtimestamp(e.at, UTC),
            principal=e.principal,
            action=e.action,
            method=e.method,
            target=e.target,
            status=e.status,
            sites=e.sites,
            detail=e.detail,
        )
        for e in state.audit.entries(limit=limit, principal=user, before_id=before_id)
    ]


@router.get("/audit/verify", response_model=AuditCheck, tags=["admin"])
def audit_verify(principal: Admin, state: State) -> AuditCheck:
    """Walk the hash chain: ok, or the first row that was edited, inserted or removed."""
    _everything(principal)
    found = state.audit.verify()
    return AuditCheck(
        rows=found.rows, ok=found.ok, first_bad_id=found.first_bad_id, problem=found.problem
    )
