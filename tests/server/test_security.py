"""Security properties, generated from the API's route table.

For every route (but health and login): no answer without authentication; roles below
the route's own are refused; a principal of one site can neither read nor infer the
other site's data, whatever the path and query point at.  Adding a route adds it here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shopfloor.access import ROLES
from shopfloor.server.app import api_routes
from tests.server.conftest import Service

PUBLIC = {("GET", "/api/health"), ("POST", "/api/auth/login")}
ROLE_OF_USER = {"viewer1": "viewer", "operator1": "operator", "engineer1": "engineer"}
ADMIN_OF_SITE_ONE = None  # no PLANT1-only admin: root stands in (admin of every site)


def _routes(service: Service) -> list[tuple[str, str, Any]]:
    out = []
    for route in api_routes(service.app):  # type: ignore[arg-type]
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            if (method, route.path) not in PUBLIC:
                out.append((method, route.path, route))
    return out


def _needed_role(route: Any) -> str | None:
    """The role a route's dependencies demand (None: any authenticated principal)."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        name = getattr(dep.call, "__name__", "")
        if name.startswith("require_"):
            return name.removeprefix("require_")
        stack += dep.dependencies
    return None


def _plant1_alert(service: Service, client: Any) -> str:
    alerts = client.get("/api/alerts", headers=service.headers("root")).json()
    return next(a["alert_id"] for a in alerts if a["asset"].startswith("L"))


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


@pytest.fixture(scope="module")
def plant1_values(service: Service, client: Any) -> dict[str, str]:
    """Path parameters pointing at PLANT1's things (and a few that exist nowhere)."""
    return {
        "asset": "L1-M01",
        "alert_id": _plant1_alert(service, client),
        "schedule_id": "latest",
        "job_id": "0123456789abcdef",
        "token_id": service.token_ids["viewer1"],
        "username": "viewer1",
        "table": "readings",
    }


def _site_ids(service: Service, site: str) -> set[str]:
    with service.lake.meta.connect() as con:  # type: ignore[attr-defined]
        rows = con.execute("SELECT asset FROM assets WHERE site = ?", (site,)).fetchall()
    return {str(r[0]) for r in rows} | {site}


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) | {str(k)} for k, v in value.items())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def _leaks(text: str, ids: set[str]) -> set[str]:
    """Ids of the other site found in an answer: as values, or inside longer strings."""
    found: set[str] = set()
    chunks = [text]
    if "data:" in text:  # an event stream: look at each event's JSON
        chunks = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
    for chunk in chunks:
        try:
            strings = _strings(json.loads(chunk))
        except ValueError:
            strings = {chunk}
        for s in strings:
            found |= {i for i in ids if s == i or (len(i) >= 5 and i in s)}
    return found


def test_the_route_table_is_what_the_tests_cover(service: Service) -> None:
    routes = _routes(service)
    assert len(routes) >= 30, "fewer API routes than expected: did a router drop out?"
    for method, path, route in routes:
        assert _needed_role(route) is not None or path.startswith(
            ("/api/me", "/api/tokens", "/api/auth/logout")
        ), f"{method} {path} has no role check"


def test_no_route_answers_without_authentication(
    service: Service, client: Any, plant1_values: dict[str, str]
) -> None:
    for method, path, _ in _routes(service):
        url = _fill(path, plant1_values)
        answer = client.request(method, url, json={})
        assert answer.status_code == 401, f"{method} {path}: {answer.status_code} {answer.text}"
        assert answer.headers.get("www-authenticate") == "Bearer"
        bad = client.request(method, url, json={}, headers={"Authorization": "Bearer sf_nope"})
        assert bad.status_code == 401, f"{method} {path} with a forged token"


def test_roles_below_a_route_are_refused_and_its_own_role_passes(
    service: Service, client: Any, plant1_values: dict[str, str]
) -> None:
    values = {
        **plant1_values,
        "alert_id": "NO-SUCH-ALERT",
        "username": "nobody-here",
        "token_id": "000000000000",
    }
    bodies = {"/api/jobs": {"kind": "bogus-kind"}, "/api/users": {"username": "x"}}
    for method, path, route in _routes(service):
        needed = _needed_role(route)
        if needed is None:
            continue
        url = _fill(path, values)
        if path == "/api/alerts/stream":
            url += "?seconds=0.05"
        for user, role in ROLE_OF_USER.items():
            answer = client.request(
                method, url, json=bodies.get(path, {}), headers=service.headers(user)
            )
            allowed = ROLES.index(role) >= ROLES.index(needed)
            if allowed:
                assert answer.status_code != 403 or "site" in answer.text, (
                    f"{user} ({role}) refused on {method} {path}: {answer.text}"
                )
            else:
                assert answer.status_code == 403, f"{user} ({role}) let in on {method} {path}"
                assert f"needs the {needed} role" in answer.json()["detail"]


@pytest.mark.parametrize(("user", "other_site"), [("viewer2", "PLANT1"), ("viewer1", "PLANT2")])
def test_no_get_route_reveals_the_other_site(
    service: Service, client: Any, plant1_values: dict[str, str], user: str, other_site: str
) -> None:
    other = _site_ids(service, other_site)
    values = dict(plant1_values)
    if other_site == "PLANT2":
        values["asset"] = "P2-M01"
    checked = 0
    for method, path, _ in _routes(service):
        if method != "GET":
            continue
        url = _fill(path, values)
        query = {"asset": values["asset"]} if "asset" not in path else {}
        if path == "/api/alerts/stream":
            query["seconds"] = "0.05"
        answer = client.get(url, params=query, headers=service.headers(user))
        assert answer.status_code in (200, 403, 404, 422), f"{path}: {answer.text[:200]}"
        leaked = _leaks(answer.text, other)
        asked = str(answer.request.url)
        # A refusal may name what the caller itself asked for; anything else is a leak.
        echoed = {i for i in leaked if i in asked} if answer.status_code >= 400 else set()
        assert not leaked - echoed, f"{user} sees {other_site}'s {sorted(leaked)[:5]} on {url}"
        # Asking without the pointer still shows nothing of the other site.
        endless = {"seconds": "0.05"} if path == "/api/alerts/stream" else {}
        plain = client.get(_fill(path, values), params=endless, headers=service.headers(user))
        leaked = _leaks(plain.text, other)
        echoed = {i for i in leaked if i in str(plain.request.url)}
        assert plain.status_code >= 400 or not echoed, f"{user} reads {other_site} on GET {path}"
        assert not leaked - echoed, f"{user} sees {other_site} on GET {path}"
        checked += 1
    assert checked >= 20


def test_another_sites_asset_answers_like_a_missing_one(service: Service, client: Any) -> None:
    """404 with the same words for PLANT1's machine and a name that exists nowhere."""
    headers = service.headers("viewer2")
    real = client.get("/api/assets/L1-M01", headers=headers)
    fake = client.get("/api/assets/L9-M99", headers=headers)
    assert real.status_code == fake.status_code == 404
    assert real.json()["detail"].replace("L1-M01", "X") == fake.json()["detail"].replace(
        "L9-M99", "X"
    )


def test_changes_across_sites_are_refused(
    service: Service, client: Any, plant1_values: dict[str, str]
) -> None:
    headers = service.headers("admin2")  # admin, but of PLANT2 only
    alert = plant1_values["alert_id"]
    before = client.get("/api/alerts", headers=service.headers("root")).json()
    state = next(a["state"] for a in before if a["alert_id"] == alert)
    answer = client.post(f"/api/alerts/{alert}/close", json={"comment": "x"}, headers=headers)
    assert answer.status_code == 404
    after = client.get("/api/alerts", headers=service.headers("root")).json()
    assert next(a["state"] for a in after if a["alert_id"] == alert) == state
    upload = "asset,signal,ts,value\nL1-M01,temperature,2026-10-30T00:00:00Z,20\n"
    answer = client.post(
        "/api/ingest/readings?format=csv",
        content=upload,
        headers={**headers, "content-type": "text/csv"},
    )
    assert answer.status_code == 422 and "not in your sites" in answer.json()["detail"]
    answer = client.post(
        "/api/users",
        headers=headers,
        json={
            "username": "sneaky",
            "password": "0123456789ab",
            "role": "viewer",
            "sites": ["PLANT1"],
        },
    )
    assert answer.status_code == 403
    assert client.get("/api/audit", headers=headers).status_code == 403
    assert client.delete("/api/users/viewer1", headers=headers).status_code == 404


def test_a_token_works_until_revoked_and_not_a_request_after(service: Service, client: Any) -> None:
    made = client.post("/api/tokens", json={"label": "t"}, headers=service.headers("viewer1"))
    assert made.status_code == 201
    secret, token_id = made.json()["token"], made.json()["token_id"]
    mine = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/me", headers=mine).json()["user"] == "viewer1"
    assert client.get("/api/assets", headers=mine).status_code == 200
    revoked = client.delete(f"/api/tokens/{token_id}", headers=mine)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    answer = client.get("/api/assets", headers=mine)
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    # Revoked from the command line's store too: the very next request fails.
    state = service.app.state.shopfloor  # type: ignore[attr-defined]
    other = state.access.issue_token("viewer1", expires_in_s=60)
    header = {"Authorization": f"Bearer {other.secret}"}
    assert client.get("/api/me", headers=header).status_code == 200
    state.access.revoke(other.info.token_id)
    assert client.get("/api/me", headers=header).status_code == 401


def test_every_request_is_in_the_audit_log(service: Service, client: Any) -> None:
    headers = service.headers("viewer1")
    client.get("/api/assets/L1-M01/signals", headers=headers)
    client.get("/api/assets/L1-M01/signals")  # unauthenticated
    rows = client.get("/api/audit?limit=5", headers=service.headers("root")).json()
    targets = [(r["principal"], r["target"], r["status"], r["action"]) for r in rows]
    assert ("-", "/api/assets/L1-M01/signals", 401, "denied") in targets
    assert ("viewer1", "/api/assets/L1-M01/signals", 200, "read") in targets
    check = client.get("/api/audit/verify", headers=service.headers("root")).json()
    assert check["ok"] and check["rows"] > 2
