"""Users and tokens in the lake's SQLite metadata store.

A token reads ``sf_<id>_<secret>``: the id (public, 12 hex digits) finds the row, the
secret (256 random bits) is checked against its SHA-256 digest.  A slow hash is not
needed for secrets that cannot be guessed; passwords, which can, get argon2id.
Sessions of the dashboard are tokens of kind ``session`` with a short life.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from shopfloor.access.principals import ALL_SITES, ROLES, Principal, Role
from shopfloor.access.sqlite import connection, open_database
from shopfloor.errors import AuthError, InputError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    sites TEXT NOT NULL,          -- JSON list of sites, or "*" for every site
    created_at REAL NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
    token_id TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username),
    kind TEXT NOT NULL,           -- api | session
    label TEXT,
    digest TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked_at REAL,
    last_used_at REAL
);
CREATE INDEX IF NOT EXISTS tokens_by_user ON tokens (username);
"""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_TOKEN = re.compile(r"^sf_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    sites: frozenset[str] | None  # None: every site
    created_at: float
    disabled: bool


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    username: str
    kind: str
    label: str
    created_at: float
    expires_at: float
    revoked_at: float | None
    last_used_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > time.time()


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``secret`` is the whole bearer value, shown once and stored nowhere."""

    secret: str
    info: TokenInfo


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _sites_text(sites: Iterable[str] | None) -> str:
    return ALL_SITES if sites is None else json.dumps(sorted(set(sites)))


def _sites_value(text: str) -> frozenset[str] | None:
    return None if text == ALL_SITES else frozenset(json.loads(text))


class AccessStore:
    """Users and tokens of one lake (``<lake>/meta.sqlite``)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        database.parent.mkdir(parents=True, exist_ok=True)
        # Every request authenticates: each thread keeps one connection for that lookup
        # (opening one costs more than the query).
        self._local = threading.local()
        with self.connect() as con:
            con.executescript(_SCHEMA)

    @classmethod
    def for_lake(cls, lake_path: Path) -> AccessStore:
        return cls(lake_path / "meta.sqlite")

    def connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connection(self.database)

    def _reader(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = open_database(self.database)
            self._local.con = con
        return con

    # -- users --------------------------------------------------------------------------
    def add_user(
        self,
        username: str,
        password: str,
        role: str,
        sites: Iterable[str] | None,
        *,
        replace: bool = False,
    ) -> User:
        """Create (or with ``replace`` reset) a user; ``sites=None`` means every site."""
        if not _NAME.match(username):
            raise InputError(
                "must be 1-64 letters, digits or _ . @ - (starting with a letter or digit)",
                field="username",
            )
        if role not in ROLES:
            raise InputError(f"must be one of {', '.join(ROLES)}", field="role")
        if len(password) < MIN_PASSWORD:
            raise InputError(f"must have at least {MIN_PASSWORD} characters", field="password")
        site_list = None if sites is None else sorted(set(sites))
        if site_list is not None and (not site_list or any(not s.strip() for s in site_list)):
            raise InputError("give at least one site, or every site", field="sites")
        if site_list is None and role != "admin":
            raise InputError("only an admin may see every site; name the sites", field="sites")
        hashed = _hasher().hash(password)
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        try:
            with self.connect() as con:
                con.execute(
                    f"{verb} INTO users (username, password_hash, role, sites, created_at, "
                    "disabled) VALUES (?, ?, ?, ?, ?, 0)",
                    (username, hashed, role, _sites_text(site_list), time.time()),
                )
        except sqlite3.IntegrityError:
            raise InputError(f"user '{username}' exists already", field="username") from None
        return self.user(username)

    def user(self, username: str) -> User:
        with self.connect() as con:
            row = con.execute("SELECT * FROM users WHERE username=?", (username,)).fetchone()
        if row is None:
            raise InputError(f"no user '{username}'", field="username")
        return User(
            row["username"],
            row["role"],
            _sites_value(row["sites"]),
            row["created_at"],
            bool(row["disabled"]),
        )

    def users(self) -> list[User]:
        with self.connect() as con:
            names = [r[0] for r in con.execute("SELECT username FROM users ORDER BY username")]
        return [self.user(n) for n in names]

    def disable_user(self, username: str) -> None:
        """Disable a user and revoke every token and session they hold."""
        self.user(username)
        now = time.time()
        with self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            con.execute("UPDATE users SET disabled=1 WHERE username=?", (username,))
            con.execute(
                "UPDATE tokens SET revoked_at=? WHERE username=? AND revoked_at IS NULL",
                (now, username),
            )
            con.execute("COMMIT")

    def check_password(self, username: str, password: str) -> User:
        """The user when the password is right; one error for every way it can fail."""
        from argon2.exceptions import InvalidHashError, VerificationError

        with self.connect() as con:
            row = con.execute(
                "SELECT password_hash, disabled FROM users WHERE username=?", (username,)
            ).fetchone()
        if row is None:
            # Spend the same time as a real check, so that timing does not tell names apart.
            _hasher().hash(password)
            raise AuthError("wrong user name or password")
        try:
            _hasher().verify(row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            raise AuthError("wrong user name or password") from None
        if row["disabled"]:
            raise AuthError("wrong user name or password")
        return self.user(username)

    # -- tokens -------------------------------------------------------------------------
    def issue_token(
        self,
        username: str,
        *,
        kind: Literal["api", "session"] = "api",
        expires_in_s: float,
        label: str = "",
    ) -> IssuedToken:
        user = self.user(username)
        if user.disabled:
            raise InputError(f"user '{username}' is disabled", field="username")
        if expires_in_s <= 0:
            raise InputError("must be positive", field="expires")
        token_id = secrets.token_hex(6)
        secret = f"sf_{token_id}_{secrets.token_urlsafe(32)}"
        now = time.time()
        with self.connect() as con:
            con.execute(
                "INSERT INTO tokens (token_id, username, kind, label, digest, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token_id, username, kind, label, _digest(secret), now, now + expires_in_s),
            )
        return IssuedToken(secret, self.token(token_id))

    def token(self, token_id: str) -> TokenInfo:
        with self.connect() as con:
            row = con.execute(
                "SELECT token_id, username, kind, label, created_at, expires_at, revoked_at, "
                "last_used_at FROM tokens WHERE token_id=?",
                (token_id,),
            ).fetchone()
        if row is None:
            raise InputError(f"no token '{token_id}'", field="token")
        return TokenInfo(**{k: row[k] for k in row.keys()} | {"label": row["label"] or ""})  # noqa: SIM118 - sqlite3.Row iterates values

    def tokens(self, username: str | None = None) -> list[TokenInfo]:
        sql = "SELECT token_id FROM tokens"
        params: tuple[str, ...] = ()
        if username is not None:
            sql += " WHERE username=?"
            params = (username,)
        with self.connect() as con:
            ids = [r[0] for r in con.execute(sql + " ORDER BY created_at", params)]
        return [self.token(i) for i in ids]

    def revoke(self, token_id: str) -> TokenInfo:
        """Revoke a token or session: it fails from the next request on."""
        self.token(token_id)
        with self.connect() as con:
            con.execute(
                "UPDATE tokens SET revoked_at=? WHERE token_id=? AND revoked_at IS NULL",
                (time.time(), token_id),
            )
        return self.token(token_id)

    def authenticate(self, secret: str, kind: Literal["api", "session"]) -> Principal:
        """The principal a bearer secret stands for; AuthError when it does not (any more)."""
        found = _TOKEN.match(secret)
        if found is None:
            raise AuthError("malformed token")
        token_id = found.group(1)
        row = (
            self._reader()
            .execute(
                "SELECT t.digest, t.kind, t.expires_at, t.revoked_at, u.username, u.role, "
                "u.sites, u.disabled FROM tokens t JOIN users u ON u.username = t.username "
                "WHERE t.token_id=?",
                (token_id,),
            )
            .fetchone()
        )
        if row is None or not hmac.compare_digest(row["digest"], _digest(secret)):
            raise AuthError("unknown token")
        if row["kind"] != kind:
            raise AuthError("unknown token")
        if row["revoked_at"] is not None:
            raise AuthError("token revoked")
        if row["expires_at"] <= time.time():
            raise AuthError("token expired")
        if row["disabled"]:
            raise AuthError("user disabled")
        return Principal(
            user=row["username"],
            role=row["role"],
            sites=_sites_value(row["sites"]),
            via="session" if kind == "session" else "token",
            token_id=token_id,
        )
