"""`shopfloor demo`: plans as well, and serves only a person at a terminal."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.slow
def test_demo_without_a_terminal_plans_and_does_not_serve(tmp_path: Path) -> None:
    lake = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "shopfloor.cli.main", "demo", "--days", "5", "--lake", str(lake)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert "serve the dashboard with: shopfloor serve --lake" in result.stdout
    assert "log in at" not in result.stdout
    assert re.search(r"schedule \S+: \d+ operations of \d+ orders", result.stdout)
    assert "repaired as" in result.stdout
    # the live part: the plant over a real mosquitto, every acknowledged reading committed
    text = " ".join(result.stdout.split())
    live = re.search(
        r"\(([\d,]+) acknowledged\); `shopfloor stream` committed ([\d,]+) exactly", text
    )
    assert live, text[-600:]
    assert live.group(1) == live.group(2) and int(live.group(1).replace(",", "")) > 1000


def test_serving_the_demo_prints_a_login_that_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from shopfloor.cli import demo_cmd, serve_cmd
    from shopfloor.workflows.access import access_store

    served: list[Any] = []
    monkeypatch.setattr(
        serve_cmd, "run_server", lambda settings, banner="": served.append(settings)
    )
    demo_cmd._serve(tmp_path / "lake")
    out = capsys.readouterr().out.replace("\n", " ")
    found = re.search(r"log in at http://127\.0\.0\.1:8000 as admin with password (\S+)", out)
    assert found, out
    user = access_store(tmp_path / "lake").check_password("admin", found.group(1))
    assert user.role == "admin" and user.sites is None
    assert served and served[0].lake == tmp_path / "lake"
