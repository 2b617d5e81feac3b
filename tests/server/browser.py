"""A real server and a real browser for the dashboard tests.

``LiveServer`` runs uvicorn over an app in a background thread on 127.0.0.1 and a free
port; ``chrome`` starts Debian's headless Chromium through its chromedriver, named
explicitly so that Selenium Manager never tries to download one.  A missing browser is a
failure with the packages to install, never a skip: the dashboard's acceptance tests must
run wherever the suite runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver",)
REPO = Path(__file__).resolve().parents[2]


def _first(candidates: tuple[str, ...], name: str) -> str | None:
    for path in candidates:
        if Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return shutil.which(name)


def browser_paths() -> tuple[str, str]:
    """Chromium and chromedriver, or a test failure naming the Debian packages."""
    binary = os.environ.get("SHOPFLOOR_CHROMIUM") or _first(CHROMIUM, "chromium")
    driver = os.environ.get("SHOPFLOOR_CHROMEDRIVER") or _first(CHROMEDRIVER, "chromedriver")
    if not binary or not driver:
        missing = "chromium" if not binary else "chromedriver"
        pytest.fail(
            f"the dashboard's browser tests need headless Chromium, and {missing} is not "
            "installed: apt-get install chromium chromium-driver (Debian packages), or set "
            "SHOPFLOOR_CHROMIUM and SHOPFLOOR_CHROMEDRIVER",
            pytrace=False,
        )
    return binary, driver


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("SHOPFLOOR_SCREENSHOTS") or REPO / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving ``app`` in a thread until ``stop``.

    The lifespan is off by default: a test app is often shared with a TestClient, whose
    lifespan owns the app's job pool (uvicorn's shutdown would close it for everyone).
    """

    def __init__(self, app: Any, lifespan: str = "off") -> None:
        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan=lifespan
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def start(self, timeout_s: float = 30.0) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn stopped while starting (port taken?)")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"uvicorn did not answer {self.url}/api/health in {timeout_s} s")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@contextmanager
def live_server(app: Any) -> Iterator[LiveServer]:
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()


def chrome(width: int = 1400, height: int = 1000) -> Any:
    """Headless Chromium with the browser console log readable (``get_log('browser')``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-extensions",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--metrics-recording-only",
        "--password-store=basic",
        "--use-mock-keychain",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def severe(driver: Any) -> list[str]:
    """The SEVERE console entries since the last call (CSP violations among them)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def full_page_screenshot(driver: Any, path: Path) -> Path:
    """A screenshot of the whole page (the window grown to its height, then restored)."""
    size = driver.get_window_size()
    height = driver.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
    )
    driver.set_window_size(size["width"], min(max(int(height) + 40, size["height"]), 6000))
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(size["width"], size["height"])
    return path
