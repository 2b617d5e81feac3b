"""Shared fixtures: small lakes and files made on the fly (no committed data)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shopfloor.config import Settings
from shopfloor.lake import Lake

if TYPE_CHECKING:
    from shopfloor.compute import SparkBackend
    from shopfloor.streaming.broker import MosquittoBroker

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEMO_END = "2026-11-01"


@pytest.fixture(scope="session")
def demo_plant(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A 30-day demo plant through the whole pipeline (shared: it takes a minute or two).

    Tests may add alerts or model versions to it but must not rely on being first.
    """
    import pandas as pd

    from shopfloor.workflows.demo import run_demo

    path = tmp_path_factory.mktemp("demo") / "lake"
    lake = Lake(path, Settings(lake=path))
    return lake, run_demo(lake, days=30, seed=11, end=pd.Timestamp(DEMO_END, tz="UTC"))


@pytest.fixture(scope="session")
def demo_week(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """A 7-day demo plant lake (~4.3 M readings, ~25 s): the backends are compared on it.

    Read-only for the tests that share it: a test that writes copies it first.
    """
    import pandas as pd

    from shopfloor.workflows.demo import run_demo

    path = tmp_path_factory.mktemp("demo-week") / "lake"
    lake = Lake(path, Settings(lake=path))
    run_demo(lake, days=7, seed=11, end=pd.Timestamp(DEMO_END, tz="UTC"))
    return lake


@pytest.fixture(scope="session")
def spark_backend() -> Iterator[SparkBackend]:
    """One real Spark session in local mode for the whole run (it takes ~10 s to start).

    No skip when pyspark or Java is missing: the Spark tests run in CI and must fail there.
    """
    from shopfloor.compute import SparkBackend

    backend = SparkBackend("local[2]", conf={"spark.sql.shuffle.partitions": "4"})
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A real mosquitto per test, on a free port (started and stopped here)."""
    from shopfloor.streaming.broker import MosquittoBroker

    with MosquittoBroker(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake", Settings(lake=tmp_path / "lake"))


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


def readings_csv(rows: int, asset: str = "M1", signal: str = "temp", start: int = 0) -> str:
    lines = ["asset,signal,ts,value"]
    for i in range(start, start + rows):
        minute, second = divmod(i * 10, 60)
        hour, minute = divmod(minute, 60)
        day, hour = divmod(hour, 24)
        lines.append(
            f"{asset},{signal},2026-01-{day + 1:02d}T{hour:02d}:{minute:02d}:{second:02d}Z,"
            f"{20 + (i % 7) * 0.5}"
        )
    return "\n".join(lines) + "\n"
