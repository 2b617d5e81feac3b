"""ASGI middleware: secure headers, body size limits, rate limits and the audit trail.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, so that streamed uploads and the
Server-Sent Events stream pass through without being buffered.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

import anyio

from shopfloor.config import ServerSettings
from shopfloor.workflows.access import AuditLog

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "shopfloor_session"
UPLOAD_PREFIX = "/api/ingest/"
# Not audited: they carry no plant data (the health probe, static assets, the favicon).
UNAUDITED = ("/api/health", "/static/", "/favicon.ico")

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


async def _json_response(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecureHeaders:
    """CSP without inline scripts, no framing, no sniffing, no referrer; HSTS under TLS."""

    def __init__(self, app: App, tls: bool) -> None:
        self.app = app
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-security-policy", _CSP.encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if tls:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
                if not scope["path"].startswith("/static/"):
                    message["headers"].append((b"cache-control", b"no-store"))
            await send(message)

        await self.app(scope, receive, with_headers)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """413 for bodies over the limit, whether announced by Content-Length or streamed."""

    def __init__(self, app: App, settings: ServerSettings) -> None:
        self.app = app
        self.small = settings.max_body_kb * 1024
        self.upload = settings.max_upload_mb * 1024 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload if scope["path"].startswith(UPLOAD_PREFIX) else self.small
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    announced = int(value)
                except ValueError:
                    await _json_response(send, 400, "Content-Length is not a number")
                    return
                if announced > limit:
                    await _json_response(send, 413, f"request body over {limit:,} bytes")
                    return
        seen = 0
        exceeded = False
        replaced = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def watch(message: Message) -> None:
            # The app may catch _TooLarge while parsing (FastAPI answers 400): whatever it
            # answers then, the client gets the 413 instead.
            nonlocal replaced
            if exceeded:
                if not replaced:
                    replaced = True
                    await _json_response(send, 413, f"request body over {limit:,} bytes")
                return
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except _TooLarge:
            if not replaced:
                await _json_response(send, 413, f"request body over {limit:,} bytes")


def credential_key(scope: Scope) -> str:
    """Who is asking, for rate limits: a digest of the credential, else the address."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return "t:" + hashlib.sha256(value).hexdigest()[:24]
        if name == b"cookie" and SESSION_COOKIE.encode() in value:
            return "c:" + hashlib.sha256(value).hexdigest()[:24]
    client = scope.get("client") or ("-", 0)
    return f"a:{client[0]}"


class RateLimit:
    """Token bucket per credential (or address): ``rate_per_minute``, ``rate_burst`` at once."""

    def __init__(self, app: App, settings: ServerSettings) -> None:
        self.app = app
        self.rate = settings.rate_per_minute / 60.0
        self.burst = float(settings.rate_burst)
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed, else seconds until a request would be."""
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self.buckets[key] = (tokens - 1.0, now)
                return 0.0
            self.buckets[key] = (tokens, now)
            if len(self.buckets) > 100_000:  # forget idle keys rather than grow forever
                self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 120}
            return (1.0 - tokens) / self.rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        wait = self.take(credential_key(scope))
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            await _json_response(
                send,
                429,
                f"too many requests; retry after {seconds} s",
                [(b"retry-after", str(seconds).encode())],
            )
            return
        await self.app(scope, receive, send)


def _action(method: str, status: int, path: str) -> str:
    if path in ("/api/auth/login", "/login"):
        return "login"
    if status in (401, 403, 429):
        return "denied"
    return "read" if method in ("GET", "HEAD") else "change"


class AuditTrail:
    """One chained audit row per request: who, what (path and query), how it ended.

    The principal is what the auth dependency put into ``scope['state']``; requests that
    never authenticated are written as '-'.  The row is written when the response
    starts, so that a long stream (SSE) is on record from its first byte.
    """

    def __init__(self, app: App, log: AuditLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNAUDITED):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})

        async def audited(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope["state"]
                principal = state.get("principal")
                query = scope.get("query_string", b"").decode("latin-1")
                target = scope["path"] + (f"?{unquote(query)}" if query else "")
                status = int(message["status"])
                await anyio.to_thread.run_sync(
                    lambda: self.log.append(
                        principal=principal.user if principal else state.get("login_user", "-"),
                        action=_action(scope["method"], status, scope["path"]),
                        method=scope["method"],
                        target=target,
                        status=status,
                        sites=principal.site_label if principal else "",
                        detail=state.get("audit_detail", ""),
                    )
                )
            await send(message)

        await self.app(scope, receive, audited)
