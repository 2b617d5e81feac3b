"""The API's behaviour on the served demo plant: figures, changes, uploads, streams, jobs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shopfloor.config import Settings
from tests.server.conftest import PASSWORD, Service


def test_figures_match_the_workflows(service: Service, client: Any) -> None:
    from shopfloor.workflows import production

    rows = client.get("/api/production/oee?by=line&period=day", headers=service.headers("root"))
    assert rows.status_code == 200
    frame = production.oee(service.lake, by="line", period="day").frame  # type: ignore[arg-type]
    got = {(r["group"], r["period_start"][:10]): r["oee"] for r in rows.json()}
    first = frame.iloc[0]
    key = (first["group"], first["period_start"].strftime("%Y-%m-%d"))
    assert got[key] == pytest.approx(first["oee"])
    # A site's principal gets its own lines only.
    mine = client.get("/api/production/oee?by=line", headers=service.headers("viewer2")).json()
    assert {r["group"] for r in mine} == {"P2-L1"}


def test_readings_resample_and_refuse_nonsense(service: Service, client: Any) -> None:
    headers = service.headers("viewer1")
    hourly = client.get(
        "/api/assets/L1-M01/readings",
        params={
            "signal": "temperature",
            "every": "1h",
            "start": "2026-10-20T00:00:00Z",
            "end": "2026-10-21T00:00:00Z",
        },
        headers=headers,
    )
    assert hourly.status_code == 200 and len(hourly.json()) == 24
    backwards = client.get(
        "/api/assets/L1-M01/readings?start=2026-10-21T00:00:00Z&end=2026-10-20T00:00:00Z",
        headers=headers,
    )
    assert backwards.status_code == 422 and "end" in backwards.json()["detail"]
    bad = client.get("/api/assets/L1-M01/readings?every=fortnightly", headers=headers)
    assert bad.status_code == 422 and "every" in bad.json()["detail"]
    too_many = client.get("/api/assets/L1-M01/readings", headers=headers)
    assert too_many.status_code == 422 and "resample" in too_many.json()["detail"]


def test_acknowledge_and_close_keep_the_history(service: Service, client: Any) -> None:
    alerts = client.get("/api/alerts?state=open", headers=service.headers("operator1")).json()
    target = alerts[-1]["alert_id"]
    viewer = client.post(f"/api/alerts/{target}/acknowledge", headers=service.headers("viewer1"))
    assert viewer.status_code == 403
    done = client.post(
        f"/api/alerts/{target}/acknowledge",
        json={"comment": "bearing noise, crew on it"},
        headers=service.headers("operator1"),
    )
    assert done.status_code == 200 and done.json()["state"] == "acknowledged"
    assert done.json()["note"] == "operator1: bearing noise, crew on it"
    closed = client.post(f"/api/alerts/{target}/close", headers=service.headers("operator1"))
    assert closed.json()["state"] == "closed"
    history = service.lake.sql(  # type: ignore[attr-defined]
        "SELECT state FROM alerts WHERE alert_id = ? ORDER BY updated_at", [target]
    )
    assert list(history["state"])[-3:] == ["open", "acknowledged", "closed"]


def test_the_alert_stream_sends_a_snapshot_then_changes(service: Service, client: Any) -> None:
    headers = service.headers("viewer2")
    with client.stream("GET", "/api/alerts/stream?seconds=0.3", headers=headers) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    assert text.startswith("event: snapshot\ndata: ")
    assert json.loads(text.split("data: ", 1)[1].split("\n", 1)[0]) == []  # PLANT2 has none


def test_upload_ingests_checks_and_deduplicates(service: Service, client: Any) -> None:
    headers = {**service.headers("engineer1"), "content-type": "text/csv"}
    body = (
        "asset,signal,ts,value\n"
        + "".join(f"L1-M01,temperature,2026-11-02T00:0{i}:00Z,{20 + i}\n" for i in range(5))
        + "L1-M01,temperature,not-a-time,1\n"
    )
    first = client.post(
        "/api/ingest/readings?format=csv&filename=plc.csv", content=body, headers=headers
    )
    assert first.status_code == 200, first.text
    assert (first.json()["accepted"], first.json()["quarantined"]) == (5, 1)
    again = client.post("/api/ingest/readings?format=csv", content=body, headers=headers)
    assert again.json()["skipped"] is True
    empty = client.post(
        "/api/ingest/readings?format=csv&filename=e.csv", content=b"", headers=headers
    )
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    unknown = client.post("/api/ingest/recipes?format=csv", content=body, headers=headers)
    assert unknown.status_code == 422 and "recipes" in unknown.json()["detail"]
    viewer = client.post("/api/ingest/readings", content=body, headers=service.headers("viewer1"))
    assert viewer.status_code == 403


def test_jobs_run_with_progress(service: Service, client: Any) -> None:
    started = client.post(
        "/api/jobs", json={"kind": "maintenance-score"}, headers=service.headers("root")
    )
    assert started.status_code == 202
    job_id = started.json()["job_id"]
    state = service.app.state.shopfloor  # type: ignore[attr-defined]
    finished = state.jobs.wait(job_id, 120)
    assert finished is not None and finished.state == "succeeded", finished
    shown = client.get(f"/api/jobs/{job_id}", headers=service.headers("root")).json()
    assert shown["progress"] == 1.0 and shown["result"]["assets"] >= 12
    # A site's engineer may not start lake-wide work, nor see others' jobs.
    scoped = client.post(
        "/api/jobs", json={"kind": "forecast"}, headers=service.headers("engineer1")
    )
    assert scoped.status_code == 404
    assert (
        client.get(f"/api/jobs/{job_id}", headers=service.headers("engineer1")).status_code == 404
    )


def test_secure_headers_on_every_answer(client: Any) -> None:
    for answer in (client.get("/api/health"), client.get("/api/assets")):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in answer.headers  # plain HTTP here


def test_bodies_over_the_limit_are_refused(service: Service, client: Any) -> None:
    big = {"comment": "x" * (300 * 1024)}
    answer = client.post("/api/alerts/whatever/close", json=big, headers=service.headers("root"))
    assert answer.status_code == 413

    def chunks() -> Any:  # no Content-Length: counted while streaming
        for _ in range(300):
            yield b"y" * 1024

    answer = client.post("/api/tokens", content=chunks(), headers=service.headers("root"))
    assert answer.status_code == 413


def test_session_login_cookie_and_same_origin_changes(service: Service, client: Any) -> None:
    from fastapi.testclient import TestClient

    with TestClient(service.app, base_url="http://testserver") as browser:  # type: ignore[arg-type]
        wrong = browser.post("/api/auth/login", json={"username": "operator1", "password": "no"})
        assert wrong.status_code == 401 and "shopfloor_session" not in browser.cookies
        ok = browser.post("/api/auth/login", json={"username": "operator1", "password": PASSWORD})
        assert ok.status_code == 200 and ok.json()["role"] == "operator"
        assert "httponly" in ok.headers["set-cookie"].lower()
        assert "samesite=strict" in ok.headers["set-cookie"].lower()
        assert browser.get("/api/me").json()["via"] == "session"
        forged = browser.post("/api/tokens", json={}, headers={"origin": "http://evil.example"})
        assert forged.status_code == 403
        same = browser.post("/api/tokens", json={}, headers={"origin": "http://testserver"})
        assert same.status_code == 201
        assert (
            browser.post("/api/auth/logout", headers={"origin": "http://testserver"}).status_code
            == 204
        )
        browser.cookies.clear()
        assert browser.get("/api/me").status_code == 401


def test_rate_limits_and_login_throttle(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from shopfloor.server import create_app

    settings = Settings(
        lake=tmp_path / "lake",
        server={"rate_per_minute": 60, "rate_burst": 5, "login_attempts_per_minute": 3},
    )
    app = create_app(settings)
    app.state.shopfloor.access.add_user("ana", PASSWORD, "viewer", ["A"])
    with TestClient(app) as client:
        codes = [client.get("/api/me").status_code for _ in range(8)]
        assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3
        limited = client.get("/api/me")
        assert int(limited.headers["retry-after"]) >= 1
    app = create_app(
        settings.model_copy(
            update={
                "server": settings.server.model_copy(
                    update={"rate_per_minute": 6000, "rate_burst": 100}
                )
            }
        )
    )
    with TestClient(app) as client:
        tries = [
            client.post(
                "/api/auth/login", json={"username": "ana", "password": "wrong!"}
            ).status_code
            for _ in range(4)
        ]
        assert tries == [401, 401, 401, 429]
        # Even the right password waits out the pause: a guesser learns nothing.
        right = client.post("/api/auth/login", json={"username": "ana", "password": PASSWORD})
        assert right.status_code == 429
