"""The feedback routes: verdicts on alerts and work-order outcomes, by role and site.

A small lake of its own (two sites, two alerts, two work orders) rather than the
served demo plant: these routes write, and the other server tests must not see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from shopfloor.config import Settings
from shopfloor.lake import Lake
from shopfloor.schema import TABLES
from shopfloor.workflows.ingest import ingest

ASSETS = (
    "asset,parent,level,name,site,line\n"
    "PLANT1,,site,Plant,PLANT1,\n"
    "L1-M01,PLANT1,machine,press,PLANT1,L1\n"
    "PLANT2,,site,Second,PLANT2,\n"
    "P2-M01,PLANT2,machine,saw,PLANT2,P2-L1\n"
)
WORK_ORDERS = (
    "work_order,asset,kind,created,status\n"
    "WO-1,L1-M01,predictive,2026-10-01T08:00:00Z,done\n"
    "WO-2,P2-M01,corrective,2026-10-01T08:00:00Z,done\n"
)
USERS = {
    "operator1": ("operator", ["PLANT1"]),
    "viewer1": ("viewer", ["PLANT1"]),
    "operator2": ("operator", ["PLANT2"]),
}


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Any, dict[str, dict[str, str]]]]:
    from fastapi.testclient import TestClient

    from shopfloor.server import create_app

    root: Path = tmp_path_factory.mktemp("feedback-api")
    lake = Lake(root / "lake", Settings(lake=root / "lake"))
    for table, text in (("assets", ASSETS), ("work_orders", WORK_ORDERS)):
        (root / f"{table}.csv").write_text(text, encoding="utf-8")
        assert not ingest(lake, [root / f"{table}.csv"], table).errors
    alerts = [
        {
            "alert_id": f"{asset}@20261001T0700",
            "asset": asset,
            "start": pd.Timestamp("2026-10-01T07:00", tz="UTC"),
            "state": "open",
            "model": "condition",
            "model_version": 1,
            "updated_at": pd.Timestamp("2026-10-01T07:00", tz="UTC"),
        }
        for asset in ("L1-M01", "P2-M01")
    ]
    lake.write("alerts", pa.Table.from_pylist(alerts, schema=TABLES["alerts"].schema))
    app = create_app(Settings(lake=lake.path))
    headers = {}
    for user, (role, sites) in USERS.items():
        app.state.shopfloor.access.add_user(user, "correct horse battery", role, sites)
        token = app.state.shopfloor.access.issue_token(user, expires_in_s=3600, label="t")
        headers[user] = {"Authorization": f"Bearer {token.secret}"}
    with TestClient(app) as client:
        yield client, headers


def test_an_operator_judges_an_alert_of_its_site(api: tuple[Any, dict[str, Any]]) -> None:
    client, headers = api
    url = "/api/alerts/L1-M01@20261001T0700/feedback"
    body = {"verdict": "false", "comment": "cable loose"}
    assert client.post(url, json=body, headers=headers["viewer1"]).status_code == 403
    other = client.post(url, json=body, headers=headers["operator2"])
    assert other.status_code == 404 and "no alert" in other.json()["detail"]
    done = client.post(url, json=body, headers=headers["operator1"])
    assert done.status_code == 200, done.text
    assert done.json()["verdict"] == "false" and done.json()["recorded_by"] == "operator1"
    assert done.json()["note"] == "cable loose" and done.json()["model_version"] == 1
    bad = client.post(url, json={"verdict": "maybe"}, headers=headers["operator1"])
    assert bad.status_code == 422
    missing = client.post(
        "/api/alerts/NOPE/feedback", json={"verdict": "true"}, headers=headers["operator1"]
    )
    assert missing.status_code == 404
    history = client.get(url, headers=headers["viewer1"])
    assert history.status_code == 200 and [f["verdict"] for f in history.json()] == ["false"]
    assert client.get(url, headers=headers["operator2"]).status_code == 404


def test_an_operator_reports_a_work_orders_outcome(api: tuple[Any, dict[str, Any]]) -> None:
    client, headers = api
    body = {
        "work_order": "WO-1",
        "fault_found": True,
        "failure_mode": "bearing",
        "cost": 480.0,
        "downtime_h": 2.0,
        "alert_id": "L1-M01@20261001T0700",
    }
    assert (
        client.post("/api/work-orders/outcomes", json=body, headers=headers["viewer1"]).status_code
        == 403
    )
    # The role is checked before the body: a viewer learns nothing from a bad one.
    empty = client.post("/api/work-orders/outcomes", json={}, headers=headers["viewer1"])
    assert empty.status_code == 403 and "needs the operator role" in empty.json()["detail"]
    assert (
        client.post("/api/work-orders/outcomes", json={}, headers=headers["operator1"]).status_code
        == 422
    )
    done = client.post("/api/work-orders/outcomes", json=body, headers=headers["operator1"])
    assert done.status_code == 200, done.text
    assert done.json()["asset"] == "L1-M01" and done.json()["fault_found"] is True
    other = client.post(
        "/api/work-orders/outcomes",
        json={**body, "work_order": "WO-2"},
        headers=headers["operator1"],
    )
    assert other.status_code == 404  # PLANT2's work order, like a missing one
    negative = client.post(
        "/api/work-orders/outcomes", json={**body, "cost": -1}, headers=headers["operator1"]
    )
    assert negative.status_code == 422
    mine = client.get("/api/work-orders/outcomes", headers=headers["viewer1"]).json()
    assert [o["work_order"] for o in mine] == ["WO-1"]
    assert client.get("/api/work-orders/outcomes", headers=headers["operator2"]).json() == []
    hidden = client.get(
        "/api/work-orders/outcomes", params={"asset": "L1-M01"}, headers=headers["operator2"]
    )
    assert hidden.status_code == 404
