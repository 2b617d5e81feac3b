"""`shopfloor stream`: bad options end with exit 2 and one line; --json reports the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shopfloor.streaming.broker import MosquittoBroker


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shopfloor.cli.main", "stream", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((), "name a source"),
        (("--mqtt", "localhost:notaport"), "is not HOST:PORT"),
        (("--mqtt", "127.0.0.1:1", "--name", "a/b"), "stream name"),
        (("--mqtt", "127.0.0.1:1", "--topic-layout", "{site}/{signal}"), "topic layout"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path: Path, args: tuple[str, ...], said: str) -> None:
    result = run("--lake", str(tmp_path / "lake"), *args)
    assert result.returncode == 2, result.stderr
    assert said in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_timed_run_reports_json(tmp_path: Path) -> None:
    with MosquittoBroker(tmp_path / "broker") as broker:
        result = run(
            "--lake", str(tmp_path / "lake"), "--mqtt", broker.address, "--seconds", "1", "--json"
        )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["committed_rows"] == 0 and summary["seconds"] >= 1
