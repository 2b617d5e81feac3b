"""The dashboard in a real headless Chromium, over a real uvicorn (the issue's acceptance).

One browser for the module; each test logs in as the user it needs.  Every page must
draw its Plotly charts, log nothing SEVERE to the console (a CSP violation would), and
show the same figures as the API.  Screenshots of every page go to
``$SHOPFLOOR_SCREENSHOTS`` (default ``build/screenshots``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.server.browser import (
    LiveServer,
    full_page_screenshot,
    live_server,
    screenshot_dir,
    severe,
)
from tests.server.conftest import PASSWORD, Service

pytestmark = pytest.mark.browser
SESSION_COOKIE = "shopfloor_session"


@pytest.fixture(scope="module")
def server(service: Service) -> Iterator[LiveServer]:
    from shopfloor.workflows import views

    state = service.app.state.shopfloor  # type: ignore[attr-defined]
    # Score the condition data while the browser starts (the lifespan's warm-up is off:
    # the app is shared with the session's TestClient, whose lifespan owns the jobs).
    threading.Thread(
        target=lambda: state.cached("condition", "all", lambda: views.condition(state.lake)),
        daemon=True,
    ).start()
    with live_server(service.app) as running:
        yield running


def _wait(driver: Any, condition: Any, seconds: float = 30.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


def _css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def _log_in(driver: Any, server: LiveServer, user: str, password: str = PASSWORD) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{server.url}/login")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.ID, "login").click()


def _open(driver: Any, server: LiveServer, path: str) -> None:
    """Open a page and wait until every chart on it is drawn; nothing SEVERE logged."""
    driver.get(f"{server.url}{path}")
    charts = len(_css(driver, "[data-figure]"))
    if charts:
        _wait(driver, lambda d: len(_css(d, ".js-plotly-plot .main-svg")) >= charts)
        drawn = {e.get_attribute("data-figure") for e in _css(driver, ".js-plotly-plot")}
        assert len(drawn) == charts, f"{path}: {charts} figures, {len(drawn)} drawn"
    errors = severe(driver)
    assert not errors, f"{path}: console errors {errors}"


def _text(driver: Any, selector: str) -> str:
    found = _css(driver, selector)
    assert found, f"nothing matches {selector} on {driver.current_url}"
    return str(found[0].text).strip()


def _pct(value: float) -> str:
    return f"{100.0 * value:.1f} %"


def test_every_page_shows_the_lakes_figures(
    server: LiveServer, driver: Any, service: Service, client: Any
) -> None:
    headers = service.headers("operator1")
    shots = screenshot_dir()
    _log_in(driver, server, "operator1")
    _wait(driver, lambda d: d.current_url.rstrip("/") == server.url)
    assert _text(driver, "[data-user]") == "operator1"
    assert _text(driver, "[data-role]") == "operator"
    assert _text(driver, "[data-sites]") == "PLANT1"

    # Overview: OEE over the period per line, as the API's daily rows sum up.
    _open(driver, server, "/")
    rows = client.get("/api/production/oee?by=line&period=day", headers=headers).json()
    for line in ("L1", "L2"):
        mine = [r for r in rows if r["group"] == line]
        planned = sum(r["planned_time_s"] for r in mine)
        oee = sum(r["oee"] * r["planned_time_s"] for r in mine) / planned
        availability = sum(r["run_time_s"] for r in mine) / planned
        assert _text(driver, f'tr[data-line="{line}"] [data-metric="oee"]') == _pct(oee)
        assert _text(driver, f'tr[data-line="{line}"] [data-metric="availability"]') == _pct(
            availability
        )
    alerts = client.get("/api/alerts", headers=headers).json()
    open_alerts = [a for a in alerts if a["state"] == "open"]
    assert _text(driver, "[data-open-alerts]") == str(len(open_alerts))
    assert len(_css(driver, ".js-plotly-plot")) == 2  # daily OEE and the loss Pareto
    full_page_screenshot(driver, shots / "01-overview.png")

    # Asset: signals, readings, score, RUL as the API gives them.
    _open(driver, server, "/assets")
    assert "L1-M01" in driver.page_source
    full_page_screenshot(driver, shots / "02-assets.png")
    _open(driver, server, "/assets/L1-M01")
    signals = client.get("/api/assets/L1-M01/signals", headers=headers).json()
    assert len(_css(driver, '[data-table="signals"] tbody tr')) == len(signals)
    recs = client.get("/api/maintenance/recommendations", headers=headers).json()
    rul = next(r for r in recs if r["asset"] == "L1-M01")
    assert _text(driver, "[data-rul]") == f"{rul['rul_hours']:,.1f} h"
    assert len(_css(driver, ".js-plotly-plot")) == 3  # health, RUL, readings
    full_page_screenshot(driver, shots / "03-asset-L1-M01.png")

    # Alerts: the inbox lists what the API lists, with buttons for an operator.
    _open(driver, server, "/alerts")
    assert len(_css(driver, "tr[data-alert]")) == len(open_alerts)
    for state in ("open", "acknowledged", "closed"):
        count = sum(a["state"] == state for a in alerts)
        assert _text(driver, f'[data-count="{state}"]') == str(count)
    assert _css(driver, '[data-alert-action="acknowledge"]')
    full_page_screenshot(driver, shots / "04-alerts.png")

    # Quality: one row per SPC series, a control chart, an honest empty image state.
    _open(driver, server, "/quality")
    spc = client.get("/api/quality/spc", headers=headers).json()
    assert len(_css(driver, '[data-table="spc"] tbody tr')) == len(spc) > 0
    assert len(_css(driver, ".js-plotly-plot")) == 1
    assert "No image inspections yet" in driver.page_source
    full_page_screenshot(driver, shots / "05-quality.png")

    # Planning: the latest schedule's Gantt and what its repair moved.
    _open(driver, server, "/planning")
    latest = client.get("/api/planning/schedules/latest", headers=headers).json()
    assert latest["schedule_id"] in _text(driver, '[data-kpi="schedule"]')
    assert len(_css(driver, '[data-table="moves"] tbody tr')) == min(len(latest["moves"]), 200)
    assert len(_css(driver, ".js-plotly-plot")) == 1
    full_page_screenshot(driver, shots / "06-planning.png")

    # Supply: fan charts, the reorder list; scorecards are for every-site principals.
    _open(driver, server, "/supply")
    reorders = client.get("/api/supply/reorder", headers=headers).json()
    assert len(_css(driver, '[data-table="reorders"] tbody tr')) == min(len(reorders), 100)
    forecasts = client.get("/api/supply/forecasts", headers=headers).json()
    pairs = {(f["item"], f["location"]) for f in forecasts}
    assert len(_css(driver, "[data-fan] .js-plotly-plot")) == min(3, len(pairs)) > 0
    assert client.get("/api/supply/suppliers", headers=headers).status_code == 404
    assert "every site" in _text(driver, "[data-note]")
    full_page_screenshot(driver, shots / "07-supply.png")

    # Data: the stored data-quality report, lineage only for every-site principals.
    _open(driver, server, "/data")
    report = client.get("/api/data-quality/report", headers=headers).json()
    checks = _css(driver, '[data-table="dq-checks"] tbody tr')
    shown = sum(int(r.find_elements("css selector", "td")[1].text) for r in checks)
    assert shown == len(report["issues"]) > 0
    assert "lineage is for principals of every site" in driver.page_source
    full_page_screenshot(driver, shots / "08-data.png")


def test_an_operator_acknowledges_an_alert_on_the_page(
    server: LiveServer, driver: Any, service: Service, client: Any
) -> None:
    _log_in(driver, server, "operator1")
    _wait(driver, lambda d: d.current_url.rstrip("/") == server.url)
    _open(driver, server, "/alerts")
    row = _css(driver, "tr[data-alert]")[0]  # the newest (the API tests take the oldest)
    alert_id = row.get_attribute("data-alert")
    comment = f"bearing checked, browser test {uuid.uuid4().hex[:8]}"
    row.find_element("css selector", "[data-comment]").send_keys(comment)
    row.find_element("css selector", '[data-alert-action="acknowledge"]').click()
    _wait(driver, lambda d: row.find_element("css selector", "[data-state]").text == "acknowledged")
    assert comment in row.find_element("css selector", "[data-note]").text
    assert not row.find_elements("css selector", '[data-alert-action="acknowledge"]')
    assert not severe(driver)
    full_page_screenshot(driver, screenshot_dir() / "09-alert-acknowledged.png")

    alerts = client.get("/api/alerts", headers=service.headers("root")).json()
    changed = next(a for a in alerts if a["alert_id"] == alert_id)
    assert changed["state"] == "acknowledged"
    assert comment in changed["note"] and "operator1" in changed["note"]


def test_a_wrong_password_shows_an_error_and_opens_no_session(
    server: LiveServer, driver: Any
) -> None:
    _log_in(driver, server, "operator1", "not the password")
    message = _wait(driver, lambda d: _css(d, "[data-login-error]"))[0].text
    assert "wrong user name or password" in message
    assert driver.get_cookie(SESSION_COOKIE) is None
    assert not [e for e in severe(driver) if "401" not in e]  # the page itself is a 401
    full_page_screenshot(driver, screenshot_dir() / "10-login-failed.png")
    driver.get(f"{server.url}/alerts")
    assert "/login?next=/alerts" in driver.current_url

    _log_in(driver, server, "operator1")
    _wait(driver, lambda d: d.get_cookie(SESSION_COOKIE) is not None)
    cookie = driver.get_cookie(SESSION_COOKIE)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    driver.find_element("css selector", "[data-logout]").click()
    _wait(driver, lambda d: "/login" in d.current_url)
    assert driver.get_cookie(SESSION_COOKIE) is None


PAGES = ("/", "/assets", "/alerts?show=all", "/quality", "/planning", "/supply", "/data")


def test_a_plant2_viewer_sees_nothing_of_plant1(server: LiveServer, driver: Any) -> None:
    _log_in(driver, server, "viewer2")
    _wait(driver, lambda d: d.current_url.rstrip("/") == server.url)
    for path in (*PAGES, "/assets/P2-M01"):
        _open(driver, server, path)
        source = driver.page_source
        for plant1 in ("L1-M01", "L2-M01", "DC-NORTH", "PLANT1"):
            assert plant1 not in source, f"{path} shows {plant1} to a PLANT2 viewer"
    full_page_screenshot(driver, screenshot_dir() / "11-viewer2-asset.png")
    driver.get(f"{server.url}/assets/L1-M01")
    assert _text(driver, "h1") == "Not found"
    assert "L1-M01" not in _text(driver, "main").replace("no asset 'L1-M01'", "")
    severe(driver)  # the 404 itself is logged; nothing else to see


def test_a_viewer_gets_no_acknowledge_buttons(server: LiveServer, driver: Any) -> None:
    _log_in(driver, server, "viewer1")
    _wait(driver, lambda d: d.current_url.rstrip("/") == server.url)
    _open(driver, server, "/alerts?show=all")
    assert _css(driver, "tr[data-alert]")
    assert not _css(driver, "[data-alert-action]")
    assert not _css(driver, "[data-comment]")
