"""The value report over the served demo plant: GET /api/value and the Value page in a real
headless Chromium (same figures, the waterfall drawn, nothing for a one-site principal)."""

from __future__ import annotations

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


def test_the_api_gives_the_workflows_report_to_every_site_principals_only(
    service: Service, client: Any
) -> None:
    from shopfloor.workflows.value import value_report

    answer = client.get("/api/value", headers=service.headers("root"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = value_report(service.lake)  # type: ignore[arg-type]
    assert [lv["name"] for lv in body["levers"]] == [lv.name for lv in expected.levers]
    for got, lever in zip(body["levers"], expected.levers, strict=True):
        assert got["status"] == lever.status
        assert got["money"] == (None if lever.money is None else pytest.approx(lever.money))
    assert body["annual_benefit"] == pytest.approx(expected.annual_benefit)
    assert body["payback_months"] == pytest.approx(expected.payback_months)
    for user in ("viewer1", "viewer2"):  # one site each: the report prices the whole plant
        refused = client.get("/api/value", headers=service.headers(user))
        assert refused.status_code == 404 and "every site" in refused.json()["detail"]
    rows = client.get("/api/audit?limit=10", headers=service.headers("root")).json()
    audited = {(r["principal"], r["target"], r["status"]) for r in rows}
    assert {("root", "/api/value", 200), ("viewer2", "/api/value", 404)} <= audited


@pytest.fixture(scope="module")
def server(service: Service) -> Iterator[LiveServer]:
    with live_server(service.app) as running:
        yield running


def _css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def _log_in(driver: Any, server: LiveServer, user: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.delete_all_cookies()
    driver.get(f"{server.url}/login")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login").click()
    WebDriverWait(driver, 30).until(lambda d: d.current_url.rstrip("/") == server.url)


@pytest.mark.browser
def test_the_value_page_draws_the_levers_the_api_gives(
    server: LiveServer, driver: Any, service: Service, client: Any
) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    body = client.get("/api/value", headers=service.headers("root")).json()
    _log_in(driver, server, "root")
    driver.get(f"{server.url}/value")
    WebDriverWait(driver, 30).until(lambda d: _css(d, ".js-plotly-plot .main-svg"))
    assert len(_css(driver, ".js-plotly-plot")) == 1  # the waterfall
    assert _css(driver, 'nav a[href="/value"][aria-current="page"]')
    rows = _css(driver, '[data-table="levers"] tbody tr')
    assert [r.get_attribute("data-lever") for r in rows] == [lv["name"] for lv in body["levers"]]
    for row, lever in zip(rows, body["levers"], strict=True):
        assert row.get_attribute("data-status") == lever["status"]
        money = row.find_element("css selector", "[data-money]").text.strip()
        assert money == (f"{lever['money']:,.0f}" if lever["money"] is not None else "–")
    payback = _css(driver, '[data-kpi="payback"] .tile-value')[0].text.strip()
    assert payback == f"{body['payback_months']:,.1f} months"
    benefit = _css(driver, '[data-kpi="benefit"] .tile-value')[0].text.strip()
    assert benefit == f"{body['annual_benefit']:,.0f} {body['currency']}"
    assert not severe(driver), "console errors on /value"
    full_page_screenshot(driver, screenshot_dir() / "12-value.png")

    _log_in(driver, server, "viewer1")
    driver.get(f"{server.url}/value")
    assert "for principals of every site only" in _css(driver, "[data-note]")[0].text
    assert not _css(driver, "[data-figure]") and "L2-M01" not in driver.page_source
    assert not severe(driver)
