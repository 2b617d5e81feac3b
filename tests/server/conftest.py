"""A served demo plant with a second site and one user per role and site.

The session's demo lake (``demo_plant``) gets a small second site, ``PLANT2``, so that
every route can be asked for the other site's data, and these principals:

===========  ==========  ==========
user         role        sites
===========  ==========  ==========
root         admin       every site
engineer1    engineer    PLANT1
operator1    operator    PLANT1
viewer1      viewer      PLANT1
viewer2      viewer      PLANT2
admin2       admin       PLANT2
===========  ==========  ==========
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "correct horse battery"
SITE_B_ASSETS = ("PLANT2", "PLANT2-A", "P2-L1", "P2-M01", "DC-EAST")
USERS = {
    "root": ("admin", None),
    "engineer1": ("engineer", ["PLANT1"]),
    "operator1": ("operator", ["PLANT1"]),
    "viewer1": ("viewer", ["PLANT1"]),
    "viewer2": ("viewer", ["PLANT2"]),
    "admin2": ("admin", ["PLANT2"]),
}


def _site_b_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "assets": "asset,parent,level,name,site,line\n"
        "PLANT2,,site,Second plant,PLANT2,\n"
        "PLANT2-A,PLANT2,area,Assembly,PLANT2,\n"
        "P2-L1,PLANT2-A,line,Line P2-L1,PLANT2,P2-L1\n"
        "P2-M01,P2-L1,machine,press 1,PLANT2,P2-L1\n"
        "DC-EAST,PLANT2,area,Distribution centre East,PLANT2,\n",
        "signals": "asset,signal,unit,kind,lower,upper,period_s\n"
        "P2-M01,temperature,degC,temperature,-20,150,60\n",
        "readings": "asset,signal,ts,value\n"
        + "".join(
            f"P2-M01,temperature,2026-10-30T{h:02d}:{m:02d}:00Z,{40 + (h * 60 + m) % 7}\n"
            for h in range(24)
            for m in range(0, 60, 10)
        ),
        "events": "asset,start,end,kind,code,detail\n"
        "P2-M01,2026-10-30T00:00:00Z,2026-10-30T08:00:00Z,state,running,\n"
        "P2-M01,2026-10-30T08:00:00Z,2026-10-30T09:00:00Z,state,down,jam\n",
        "inspections": "asset,ts,product,characteristic,value,lsl,usl,verdict\n"
        "P2-M01,2026-10-30T05:00:00Z,PX,width_mm,10.01,9.9,10.1,pass\n",
    }
    out = {}
    for table, text in files.items():
        out[table] = folder / f"site-b-{table}.csv"
        out[table].write_text(text, encoding="utf-8")
    return out


@dataclass
class Service:
    """A running app over the demo lake, with a bearer token per user."""

    app: object
    lake: object
    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, str] = field(default_factory=dict)

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


@pytest.fixture(scope="session")
def service(demo_plant, tmp_path_factory: pytest.TempPathFactory) -> Service:  # type: ignore[no-untyped-def]
    import shutil

    import pandas as pd

    from shopfloor.config import Settings
    from shopfloor.lake import Lake
    from shopfloor.server import create_app
    from shopfloor.workflows.demo import demo_planning
    from shopfloor.workflows.ingest import ingest

    source, summary = demo_plant
    # A copy: the second site and the schedules must not change the other tests' lake.
    path = tmp_path_factory.mktemp("served") / "lake"
    shutil.copytree(source.path, path, ignore=shutil.ignore_patterns("demo-source"))
    lake = Lake(path, Settings(lake=path))
    demo_planning(lake, pd.Timestamp(summary.end), time_limit_s=5)
    files = _site_b_files(tmp_path_factory.mktemp("site-b"))
    for table in ("assets", "signals", "readings", "events", "inspections"):
        result = ingest(lake, [files[table]], table)
        assert not result.errors, result.errors
    # Generous limits: the tests fire many requests with one token.
    settings = Settings(lake=lake.path, server={"rate_per_minute": 600_000, "rate_burst": 100_000})
    app = create_app(settings)
    state = app.state.shopfloor
    service = Service(app, state.lake)
    for user, (role, sites) in USERS.items():
        state.access.add_user(user, PASSWORD, role, sites)
        issued = state.access.issue_token(user, expires_in_s=86400, label="tests")
        service.tokens[user] = issued.secret
        service.token_ids[user] = issued.info.token_id
    return service


@pytest.fixture(scope="session")
def client(service: Service) -> Iterator[object]:
    from fastapi.testclient import TestClient

    with TestClient(service.app) as test_client:  # type: ignore[arg-type]
        yield test_client


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """A real headless Chromium per test module (tests/server/browser.py starts it)."""
    from tests.server.browser import chrome

    browser = chrome()
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()
