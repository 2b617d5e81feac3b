"""MqttIngester's own rules, below the broker: backpressure and acknowledge-after-fsync.

The broker-level behaviour (persistent sessions, redelivery, SIGKILL, restarts) is tested
against a real mosquitto in tests/workflows/test_streaming*.py; these tests pin the two
rules that make it work with a stand-in message, so that a regression names its cause.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from shopfloor.streaming.mqtt import MqttIngester, split_address
from shopfloor.streaming.payloads import encode_rows
from shopfloor.streaming.records import ReadingBatch
from shopfloor.streaming.spool import Spool

T = 1_764_000_000_000_000


@dataclass
class Message:
    topic: str
    payload: bytes
    qos: int = 1
    mid: int = 1


class AckLog:
    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.acked: list[tuple[int, int]] = []  # (mid, syncs the spool had done by then)

    def ack(self, mid: int, qos: int) -> None:
        self.acked.append((mid, self.spool.stats.syncs))


def _row(ts: int) -> bytes:
    return encode_rows([(ts, {"a": 1.0})])


def test_messages_wait_while_too_many_segments_wait_for_the_lake(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    old = ReadingBatch()
    old.append("M1", "a", T, 1.0)
    spool.append(old)
    spool.seal()  # one segment the lake has not taken yet
    ingester = MqttIngester("127.0.0.1:1", spool, max_pending_segments=0)
    worker = threading.Thread(
        target=ingester._on_message, args=(None, None, Message("P/A/L/M1", _row(T + 1)))
    )
    worker.start()
    time.sleep(0.3)
    assert worker.is_alive() and spool.current_size == 0  # held back, nothing spooled
    spool.mark_committed(0)
    worker.join(timeout=5)
    assert not worker.is_alive() and spool.current_size == 1
    assert ingester.stats.waited_s >= 0.25


def test_acknowledgements_go_out_only_after_the_spool_is_synced(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    ingester = MqttIngester("127.0.0.1:1", spool)
    log = AckLog(spool)
    ingester._client = log
    ingester._on_message(None, None, Message("P/A/L/M1", _row(T), mid=7))
    ingester._on_message(None, None, Message("P/A/L/M1", b"{broken", mid=8))
    ingester._on_message(None, None, Message("P/A/L/M1", _row(T), mid=9, qos=0))
    assert log.acked == [] and spool.stats.syncs == 0
    assert ingester.flush_acks() == 2
    assert log.acked == [(7, 1), (8, 1)]  # both after the first fsync; QoS 0 needs none
    assert spool.stats.rejected == 1 and spool.stats.duplicates == 1


def test_broker_addresses() -> None:
    assert split_address("broker") == ("broker", 1883)
    assert split_address("10.0.0.5:8883") == ("10.0.0.5", 8883)
