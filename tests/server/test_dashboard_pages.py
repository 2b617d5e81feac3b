"""The dashboard's page routes without a browser: sessions, redirects, 404s, roles, sites.

Each test that logs in uses its own TestClient (its own cookie jar): the session's
``client`` must stay cookie-free for the API tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shopfloor.errors import AuthError
from tests.server.conftest import PASSWORD, Service

PAGES = ("/", "/assets", "/assets/L1-M01", "/alerts", "/quality", "/planning", "/supply", "/data")


@pytest.fixture
def browser(service: Service) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    # No lifespan: the session's client owns the app's job pool.
    yield TestClient(service.app, base_url="http://testserver")  # type: ignore[arg-type]


def _log_in(browser: Any, user: str, password: str = PASSWORD, **extra: str) -> Any:
    return browser.post(
        "/login",
        data={"username": user, "password": password, **extra},
        follow_redirects=False,
    )


def test_pages_send_a_visitor_without_a_session_to_the_login(browser: Any) -> None:
    for path in PAGES:
        answer = browser.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/login?next={path.split('?')[0]}"
    form = browser.get("/login?next=/quality")
    assert form.status_code == 200 and 'name="next" value="/quality"' in form.text
    assert "<script>" not in form.text  # CSP: script-src 'self', no inline script


def test_login_sets_a_strict_http_only_cookie_and_goes_where_it_was_asked(browser: Any) -> None:
    answer = _log_in(browser, "operator1", next="/alerts")
    assert answer.status_code == 303 and answer.headers["location"] == "/alerts"
    cookie = answer.headers["set-cookie"].lower()
    assert "shopfloor_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    page = browser.get("/alerts")
    assert page.status_code == 200 and "operator1" in page.text
    assert 'data-alert-action="acknowledge"' in page.text


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "\\\\evil", "x"])
def test_login_never_redirects_off_the_server(browser: Any, target: str) -> None:
    answer = _log_in(browser, "viewer1", next=target)
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_a_wrong_password_is_a_401_page_and_no_cookie(browser: Any) -> None:
    answer = _log_in(browser, "viewer1", "wrong password!")
    assert answer.status_code == 401
    assert "wrong user name or password" in answer.text
    assert "set-cookie" not in answer.headers
    assert browser.get("/", follow_redirects=False).status_code == 303


def test_a_login_posted_from_another_site_is_refused(browser: Any) -> None:
    answer = browser.post(
        "/login",
        data={"username": "viewer1", "password": PASSWORD},
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_logout_revokes_the_session(browser: Any, service: Service) -> None:
    _log_in(browser, "viewer1")
    secret = browser.cookies.get("shopfloor_session")
    assert browser.get("/").status_code == 200
    answer = browser.post("/logout", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    browser.cookies.set("shopfloor_session", secret)  # the old cookie, replayed
    assert browser.get("/", follow_redirects=False).status_code == 303
    state = service.app.state.shopfloor  # type: ignore[attr-defined]
    with pytest.raises(AuthError, match="revoked"):
        state.access.authenticate(secret, "session")


def test_every_page_renders_for_each_role(browser: Any) -> None:
    for user in ("root", "operator1", "viewer1"):
        browser.cookies.clear()
        _log_in(browser, user)
        for path in PAGES:
            page = browser.get(path)
            assert page.status_code == 200, (user, path, page.text[:300])
            assert "text/html" in page.headers["content-type"]
            assert f"data-user>{user}<" in page.text


def test_another_sites_asset_and_a_typo_are_a_404_page(browser: Any) -> None:
    _log_in(browser, "viewer2")
    for path in ("/assets/L1-M01", "/assets/NO-SUCH-ASSET"):
        page = browser.get(path)
        assert page.status_code == 404 and "text/html" in page.headers["content-type"]
        assert "Not found" in page.text and "viewer2" in page.text
    assert browser.get("/quality/map?path=/etc/passwd").status_code == 404
    overview = browser.get("/")
    assert overview.status_code == 200 and "L1-M01" not in overview.text


def test_only_principals_of_every_site_see_lineage_and_suppliers(browser: Any) -> None:
    _log_in(browser, "engineer1")
    assert "lineage is for principals of every site" in browser.get("/data").text
    assert "scorecards are for principals of every site" in browser.get("/supply").text
    browser.cookies.clear()
    _log_in(browser, "root")
    assert 'data-table="lineage"' in browser.get("/data").text
    assert 'data-table="suppliers"' in browser.get("/supply").text


def test_figures_travel_as_json_and_plotly_comes_from_the_package(browser: Any) -> None:
    _log_in(browser, "root")
    page = browser.get("/")
    assert '<script type="application/json" id="fig-oee">' in page.text
    assert '<script src="/static/plotly.min.js" defer></script>' in page.text
    plotly = browser.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and plotly.headers["content-type"].startswith(
        "text/javascript"
    )
    assert len(plotly.content) > 1_000_000 and b"plotly" in plotly.content[:2000].lower()
    assert browser.get("/static/app.js").status_code == 200
    assert browser.get("/static/app.css").status_code == 200


def test_page_choices_are_checked(browser: Any) -> None:
    _log_in(browser, "viewer1")
    # Unknown choices fall back to the defaults rather than failing.
    assert browser.get("/assets/L1-M01?every=5y&days=12").status_code == 200
    assert browser.get("/alerts?show=everything").status_code == 200
    assert browser.get("/quality?series=99999").status_code == 200
    assert browser.get("/supply?item=NOPE@NOWHERE").status_code == 200
    assert browser.get("/data?check=spike").status_code == 200
