"""Fault tests: SIGKILL of the ingester, a broker restart and a dropped connection, all
under load, each counted against the publisher's ledger: zero acknowledged readings lost
and zero duplicates in the lake."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from shopfloor.config import Settings
from shopfloor.lake import Lake
from shopfloor.streaming.broker import MosquittoBroker
from tests.workflows.stream_support import DroppingProxy, LedgerPublisher, start_ingester

pytestmark = pytest.mark.slow


def _lake_keys(lake_path: Path) -> tuple[int, set[tuple[str, str, int]]]:
    lake = Lake(lake_path, Settings(lake=lake_path))
    if lake.version("readings") is None:
        return 0, set()
    table = lake.table("readings").select(["asset", "signal", "ts"])
    ts = table.column("ts").cast("int64").to_pylist()
    keys = list(
        zip(table.column("asset").to_pylist(), table.column("signal").to_pylist(), ts, strict=False)
    )
    return len(keys), set(keys)


def _settle(lake_path: Path, ledger: set[tuple[str, str, int]], timeout: float = 30.0) -> None:
    """Wait until the lake holds every ledger reading (or time is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, keys = _lake_keys(lake_path)
        if ledger <= keys:
            return
        time.sleep(0.5)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def _check(lake_path: Path, publisher: LedgerPublisher) -> None:
    rows, keys = _lake_keys(lake_path)
    lost = publisher.ledger - keys
    assert publisher.ledger, "the publisher got no acknowledgement at all"
    assert not lost, f"{len(lost)} acknowledged readings missing, e.g. {sorted(lost)[:3]}"
    assert rows == len(keys), f"{rows - len(keys)} duplicate rows in the lake"


def test_sigkill_of_the_ingester_under_load_loses_and_duplicates_nothing(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    lake, log = tmp_path / "lake", tmp_path / "ingester.log"
    ingester = start_ingester(lake, broker.address, log)
    broker.wait_for_subscriber("shopfloor-default")  # its session exists from now on
    publisher = LedgerPublisher(broker.host, broker.port, rate=300).start()
    try:
        for _ in range(2):  # two kills: the second one hits a run that recovered
            time.sleep(2.5)
            ingester.send_signal(signal.SIGKILL)
            ingester.wait()
            time.sleep(0.5)  # the broker queues meanwhile
            ingester = start_ingester(lake, broker.address, log)
        time.sleep(2.0)
    finally:
        publisher.stop()
    _settle(lake, publisher.ledger)
    _stop(ingester)
    _check(lake, publisher)
    assert len(publisher.ledger) > 10_000


def test_broker_restart_under_load_loses_and_duplicates_nothing(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    lake, log = tmp_path / "lake", tmp_path / "ingester.log"
    ingester = start_ingester(lake, broker.address, log)
    broker.wait_for_subscriber("shopfloor-default")  # its session exists from now on
    publisher = LedgerPublisher(broker.host, broker.port, rate=300).start()
    try:
        time.sleep(2.5)
        broker.restart()  # graceful: mosquitto saves its queues and sessions
        time.sleep(3.0)
    finally:
        publisher.stop()
    _settle(lake, publisher.ledger)
    _stop(ingester)
    _check(lake, publisher)
    assert "error" not in log.read_text().lower()


def test_dropped_connection_under_load_loses_and_duplicates_nothing(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    lake, log = tmp_path / "lake", tmp_path / "ingester.log"
    proxy = DroppingProxy(broker.host, broker.port)
    ingester = start_ingester(lake, f"127.0.0.1:{proxy.port}", log)
    broker.wait_for_subscriber("shopfloor-default")
    publisher = LedgerPublisher(broker.host, broker.port, rate=300).start()
    try:
        for _ in range(3):
            time.sleep(1.5)
            assert proxy.drop() > 0
        time.sleep(2.0)
    finally:
        publisher.stop()
    _settle(lake, publisher.ledger)
    _stop(ingester)
    proxy.close()
    _check(lake, publisher)
