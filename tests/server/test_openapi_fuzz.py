"""Property-based tests of every API operation against its own OpenAPI description.

Schemathesis generates requests from ``/api/openapi.json`` (valid ones and, on purpose,
invalid ones) and sends them in-process to the app; every answer must be no server
error, have a documented status code, content type and headers, match its response
schema, and invalid input must be refused with a 4xx.  It runs twice: as ``root`` (admin
of every site: reaches every route) and as ``viewer1`` (viewer of one site: the 403 and
404 of roles and tenant isolation).

Random path parameters almost never name a real asset or alert, so a share of the valid
cases take real ones (read from the API first): the 200 answers, whose bodies the
response schemas check, are what matters most.

The app serves a copy of the demo plant's lake (same users and tokens): fuzzing changes
things (it acknowledges and closes real alerts, uploads files, adds users and tokens,
starts jobs) and the other server tests must not see any of that.

Schemathesis' own pytest integration (``schemathesis.pytest.from_fixture``) breaks on
pytest 9.2 (it sets ``Node._nodeid``, which pytest no longer has), so the cases are drawn
with its public strategy API, one Hypothesis test per operation, in pytest subtests.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis  # a missing schemathesis fails the run: never skipped
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server.conftest import USERS, Service

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    # Not negative_data_rejection: pydantic's lax parsing accepts a number for a date-time
    # query parameter (Unix seconds, e.g. ?start=0.0), which that check calls a bug.
]
# Bounded: about 40 operations, two principals, on two shared cores.
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same cases on every run
    database=None,
    suppress_health_check=list(HealthCheck),  # slow data, filtered draws: expected here
    print_blob=True,
)


@dataclass
class Fuzzed:
    app: Any
    tokens: dict[str, str]
    token_ids: set[str]
    # Real values of path parameters, per name (read from the API).
    known: dict[str, list[str]] = field(default_factory=dict)


def _no_work_jobs(state: Any) -> None:
    """POST /api/jobs stays in (its validation, 202 and job resource are checked), but the
    jobs it starts do nothing: the real ones check, score and forecast the whole lake for
    minutes, in the background, while the rest of the suite runs."""
    submit = state.jobs.submit

    def submit_without_work(kind: str, user: str, sites: str, work: Any) -> Any:
        return submit(kind, user, sites, lambda progress: {"fuzzed": True})

    state.jobs.submit = submit_without_work


def _known_values(app: Any, token: str) -> dict[str, list[str]]:
    from fastapi.testclient import TestClient

    # Not as a context manager: that would run the app's shutdown (its job pool with it).
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})

    def get(path: str) -> list[dict[str, Any]]:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        found: list[dict[str, Any]] = answer.json()
        return found

    assets = [a["asset"] for a in get("/api/assets")]
    alerts = [a["alert_id"] for a in get("/api/alerts")]
    schedules = [s["schedule_id"] for s in get("/api/planning/schedules")]
    return {
        # Both sites' machines, a line and a site: viewer1 must get 404 for PLANT2's.
        "asset": [a for a in ("L1-M01", "L2-M03", "L1", "PLANT1", "P2-M01") if a in assets],
        "alert_id": alerts[:3] + alerts[-2:],
        "schedule_id": ["latest", *schedules[:2]],
        "table": ["readings", "events", "inspections"],
    }


@pytest.fixture(scope="module")
def fuzzed(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Fuzzed:
    from shopfloor.config import Settings
    from shopfloor.server import create_app

    path = tmp_path_factory.mktemp("fuzzed") / "lake"
    shutil.copytree(Path(service.lake.path), path)  # type: ignore[attr-defined]
    # Rate limits high enough for a few thousand requests with one token.
    settings_ = Settings(lake=path, server={"rate_per_minute": 600_000, "rate_burst": 100_000})
    app = create_app(settings_)
    _no_work_jobs(app.state.shopfloor)
    fuzzed = Fuzzed(app, dict(service.tokens), set(service.token_ids.values()))
    fuzzed.known = _known_values(app, fuzzed.tokens["root"])
    return fuzzed


def _schema(fuzzed: Fuzzed) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "operations": [
                {
                    # An endless stream (until ``seconds``, up to a day): kept, but the
                    # client cuts it after its first event (the snapshot of open alerts).
                    "include-path": "/api/alerts/stream",
                    "max-stream-events": 1,
                    "request-timeout": 30,
                }
            ],
        }
    )
    return schemathesis.openapi.from_asgi("/api/openapi.json", fuzzed.app, config=config)


def _cases(operation: Any, known: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    """Valid and invalid cases as generated, and valid ones naming real things."""
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    names = [n for n in re.findall(r"{(\w+)}", operation.path) if n in known]
    if names:
        real = st.fixed_dictionaries({n: st.sampled_from(known[n]) for n in names})
        strategies.append(
            real.flatmap(
                lambda values: operation.as_strategy(
                    generation_mode=GenerationMode.POSITIVE, path_parameters=values
                )
            )
        )
    return st.one_of(strategies)


def _would_lock_out(case: Any, fuzzed: Fuzzed) -> bool:
    """Disabling a fixture user or revoking a fixture token would turn every later case
    into a 401, which tests nothing: such cases are not sent."""
    if case.method.upper() != "DELETE":
        return False
    target = case.path_parameters or {}
    return target.get("username") in USERS or target.get("token_id") in fuzzed.token_ids


def _fuzz(operation: Any, fuzzed: Fuzzed, headers: dict[str, str]) -> Callable[[], None]:
    @FUZZ
    @given(case=_cases(operation, fuzzed.known))
    def run(case: Any) -> None:
        if _would_lock_out(case, fuzzed):
            return
        case.call_and_validate(headers=headers, checks=CHECKS)

    return run


@pytest.mark.parametrize("user", ["root", "viewer1"])
def test_every_operation_keeps_its_contract(
    fuzzed: Fuzzed, user: str, subtests: pytest.Subtests
) -> None:
    headers = {"Authorization": f"Bearer {fuzzed.tokens[user]}"}
    operations = [result.ok() for result in _schema(fuzzed).get_all_operations()]
    assert len(operations) > 30  # every route, none lost to a schema error
    for operation in operations:
        with subtests.test(msg=f"{operation.method.upper()} {operation.path}"):
            _fuzz(operation, fuzzed, headers)()
