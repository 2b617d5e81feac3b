"""Users, passwords and tokens in the lake's metadata store."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from shopfloor.access import AccessStore
from shopfloor.errors import AuthError, InputError

PASSWORD = "a long enough password"


@pytest.fixture
def store(tmp_path: Path) -> AccessStore:
    return AccessStore(tmp_path / "meta.sqlite")


def test_password_is_stored_as_argon2_hash_and_checked(store: AccessStore) -> None:
    store.add_user("ana", PASSWORD, "operator", ["PLANT1"])
    with sqlite3.connect(store.database) as con:
        stored = con.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    user = store.check_password("ana", PASSWORD)
    assert user.role == "operator" and user.sites == frozenset({"PLANT1"})
    with pytest.raises(AuthError, match="wrong user name or password"):
        store.check_password("ana", PASSWORD + "x")
    with pytest.raises(AuthError, match="wrong user name or password"):
        store.check_password("nobody", PASSWORD)


@pytest.mark.parametrize(
    ("name", "password", "role", "sites", "field"),
    [
        ("bad name!", PASSWORD, "viewer", ["A"], "username"),
        ("ana", "short", "viewer", ["A"], "password"),
        ("ana", PASSWORD, "superuser", ["A"], "role"),
        ("ana", PASSWORD, "engineer", None, "sites"),  # only admins may see every site
        ("ana", PASSWORD, "viewer", [], "sites"),
    ],
)
def test_bad_users_are_refused_naming_the_field(
    store: AccessStore, name: str, password: str, role: str, sites: list[str] | None, field: str
) -> None:
    with pytest.raises(InputError) as caught:
        store.add_user(name, password, role, sites)
    assert caught.value.field == field


def test_duplicate_user_is_refused_unless_replaced(store: AccessStore) -> None:
    store.add_user("ana", PASSWORD, "viewer", ["A"])
    with pytest.raises(InputError, match="exists already"):
        store.add_user("ana", PASSWORD, "admin", None)
    assert store.add_user("ana", PASSWORD, "admin", None, replace=True).sites is None


def test_token_is_hashed_at_rest_and_authenticates_until_revoked(store: AccessStore) -> None:
    store.add_user("ana", PASSWORD, "engineer", ["A", "B"])
    issued = store.issue_token("ana", expires_in_s=3600, label="scada")
    assert issued.secret.startswith(f"sf_{issued.info.token_id}_")
    with sqlite3.connect(store.database) as con:
        (digest,) = con.execute("SELECT digest FROM tokens").fetchone()
    assert issued.secret not in digest and len(digest) == 64
    principal = store.authenticate(issued.secret, "api")
    assert (principal.user, principal.role, principal.sites) == ("ana", "engineer", {"A", "B"})
    store.revoke(issued.info.token_id)
    with pytest.raises(AuthError, match="revoked"):
        store.authenticate(issued.secret, "api")


def test_expired_wrong_kind_and_forged_tokens_fail(store: AccessStore) -> None:
    store.add_user("ana", PASSWORD, "viewer", ["A"])
    short = store.issue_token("ana", expires_in_s=0.05)
    time.sleep(0.1)
    with pytest.raises(AuthError, match="expired"):
        store.authenticate(short.secret, "api")
    session = store.issue_token("ana", kind="session", expires_in_s=60)
    with pytest.raises(AuthError):
        store.authenticate(session.secret, "api")  # a session cookie is no API token
    good = store.issue_token("ana", expires_in_s=60)
    forged = good.secret[:-4] + ("AAAA" if not good.secret.endswith("AAAA") else "BBBB")
    for secret in (forged, "sf_nothing", "", "Bearer " + good.secret):
        with pytest.raises(AuthError):
            store.authenticate(secret, "api")


def test_disabling_a_user_revokes_every_token(store: AccessStore) -> None:
    store.add_user("ana", PASSWORD, "viewer", ["A"])
    tokens = [store.issue_token("ana", expires_in_s=60) for _ in range(2)]
    store.disable_user("ana")
    for token in tokens:
        with pytest.raises(AuthError):
            store.authenticate(token.secret, "api")
    with pytest.raises(AuthError):
        store.check_password("ana", PASSWORD)
    with pytest.raises(InputError, match="disabled"):
        store.issue_token("ana", expires_in_s=60)
