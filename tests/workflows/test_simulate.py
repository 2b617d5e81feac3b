"""`simulate`: the demo plant published live through a real mosquitto (and OPC UA) server."""

from __future__ import annotations

import csv
import queue
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopfloor.demo_plant.layout import default_layout
from shopfloor.streaming.broker import MosquittoBroker, free_port
from shopfloor.streaming.payloads import decode_json
from shopfloor.streaming.records import ReadingBatch
from shopfloor.streaming.sparkplug import SparkplugDecoder
from shopfloor.streaming.topics import TopicLayout
from shopfloor.workflows.simulate import LivePlant, SimulateConfig, Simulator

LAYOUT = default_layout()
ASSETS = {m.asset for m in LAYOUT.machines}
SIGNALS = {s.name for s in LAYOUT.signals}


class Subscriber:
    """A paho QoS 1 subscriber on '#' keeping every (topic, payload) it receives."""

    def __init__(self, broker: MosquittoBroker) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-sub")
        self.client.on_connect = lambda c, *_: c.subscribe("#", qos=1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert ready.wait(10)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.messages.put((message.topic, bytes(message.payload)))

    def take(self, count: int) -> list[tuple[str, bytes]]:
        out = [self.messages.get(timeout=10) for _ in range(count)]
        time.sleep(0.2)
        assert self.messages.empty(), "more messages than the simulator published"
        self.client.loop_stop()
        self.client.disconnect()
        return out


def ledger_keys(path: Path) -> list[tuple[str, str, int]]:
    with path.open(encoding="utf-8") as file:
        return [(r["asset"], r["signal"], int(r["ts_us"])) for r in csv.DictReader(file)]


def check_readings(batch: ReadingBatch, rate: float, seconds: float, started_us: int) -> None:
    # Every signal is on an even grid from the start of the run: over `seconds` each of
    # the 60 fast tags sends ceil(seconds / period) readings and temperature (10 s period)
    # one per machine, so the count is rate x seconds to within one reading per tag.
    assert abs(len(batch) - rate * seconds) <= len(ASSETS) * len(SIGNALS)
    assert set(batch.asset) == ASSETS and set(batch.signal) == SIGNALS
    assert min(batch.ts_us) >= started_us and max(batch.ts_us) < started_us + seconds * 1e6
    assert max(batch.ts_us) < time.time() * 1e6
    assert len(set(batch.keys())) == len(batch)
    assert all(v is not None for v in batch.value)


def test_json_readings_arrive_paced_and_the_ledger_lists_exactly_them(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    subscriber = Subscriber(broker)
    ledger = tmp_path / "ledger.csv"
    config = SimulateConfig(mqtt=broker.address, rate=300, seconds=3, ledger=ledger)
    simulator = Simulator(config)
    began = time.monotonic()
    stats = simulator.run()
    assert time.monotonic() - began >= 3.0  # paced to the wall clock, not as fast as it can
    assert stats.messages == 36  # 12 machines x 3 one-second batches
    assert stats.acked_messages == stats.messages and stats.acked_readings == stats.readings
    layout = TopicLayout()
    batch = ReadingBatch()
    for topic, payload in subscriber.take(stats.messages):
        match = layout.parse(topic)
        assert match is not None and match.signal is None and topic.startswith("PLANT1/PLANT1-A/")
        decode_json(payload, match.asset, None, 0, into=batch)
    check_readings(batch, 300, 3, simulator.start_us)
    assert len(batch) == stats.readings
    assert sorted(ledger_keys(ledger)) == sorted(batch.keys())


def test_sparkplug_births_then_aliased_data_decode_into_the_same_readings(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    from shopfloor.streaming.sparkplug import encode_rebirth_request

    subscriber = Subscriber(broker)
    ledger = tmp_path / "ledger.csv"
    config = SimulateConfig(
        mqtt=broker.address, rate=200, seconds=2, format="sparkplug", ledger=ledger
    )
    simulator = Simulator(config)
    runner = threading.Thread(target=simulator.run)
    runner.start()
    while not simulator.start_us:
        time.sleep(0.02)
    time.sleep(0.5)  # then a host application asks line 2 to rebirth
    request = encode_rebirth_request(int(time.time() * 1000))
    subscriber.client.publish("spBv1.0/PLANT1/NCMD/L2", request, qos=1)
    runner.join(20)
    stats = simulator.stats
    assert stats.rebirth_requests == 1 and stats.births == 3  # L1, L2, L2 again
    decoder = SparkplugDecoder()
    batch = ReadingBatch()
    received = subscriber.take(stats.messages + 1)  # + the NCMD itself
    kinds = [topic.split("/")[2] for topic, _ in received]
    assert kinds[:7] == ["NBIRTH", *["DBIRTH"] * 6] and kinds[-2:] == ["NDEATH", "NDEATH"]
    assert kinds.count("NBIRTH") == 3 and kinds.count("NCMD") == 1
    for topic, payload in received:
        decoder.decode(topic, payload, 0, into=batch)
    assert decoder.stats.seq_gaps == 0 and decoder.stats.unknown_alias == 0
    assert {decoder.site_of(t) for t, _ in received} == {"PLANT1"}
    check_readings(batch, 200, 2, simulator.start_us)
    assert sorted(ledger_keys(ledger)) == sorted(batch.keys())


def test_chunks_continue_one_grid_and_a_fault_triples_vibration() -> None:
    healthy = LivePlant(rate=100)
    failing = LivePlant(rate=100, fault_asset="L1-M04", fault_after_s=0)
    first, second = healthy.chunk_at(0), healthy.chunk_at(healthy.chunk_us)
    vibration = healthy.names.index("vibration_rms")
    m = [m.asset for m in LAYOUT.machines].index("L1-M04")
    stamps = np.concatenate(
        [c.ts[m][c.code[m] == vibration] for c in (first, second)]  # across the boundary
    )
    assert len(set(np.diff(stamps).tolist())) == 1
    ratio = (
        failing.chunk_at(0).value[m][failing.chunk_at(0).code[m] == vibration].mean()
        / first.value[m][first.code[m] == vibration].mean()
    )
    assert ratio > 2.0


def test_opcua_serves_the_values_the_plant_publishes() -> None:
    from shopfloor.streaming.opcua import OpcUaIngester

    endpoint = f"opc.tcp://127.0.0.1:{free_port()}"
    simulator = Simulator(SimulateConfig(opcua=endpoint, rate=300, seconds=30))
    runner = threading.Thread(target=simulator.run)
    runner.start()
    rows: list[tuple[str, str, int, float | None]] = []
    lock = threading.Lock()

    def sink(batch: ReadingBatch) -> None:
        with lock:
            rows.extend(zip(batch.asset, batch.signal, batch.ts_us, batch.value, strict=True))

    try:
        deadline = time.monotonic() + 20
        while simulator.opcua is None or not simulator.opcua.running:
            assert time.monotonic() < deadline and runner.is_alive()
            time.sleep(0.05)
        with OpcUaIngester(endpoint, None, sink, publishing_interval_s=0.1, batch_interval_s=0.05):
            while len({(a, s) for a, s, _, v in rows if v is not None}) < 72:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        simulator.stop()
        runner.join(20)
    valued = [r for r in rows if r[3] is not None]
    assert {a for a, *_ in valued} == ASSETS
    for asset, signal, ts_us, value in valued[:200]:
        assert value == pytest.approx(simulator.value_at(asset, signal, ts_us / 1e6))


def test_messages_unacknowledged_across_a_broker_restart_are_published_again(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    received: queue.Queue[tuple[str, bytes]] = queue.Queue()
    ready = threading.Event()
    # A persistent session: the broker queues (and persists) what arrives for it.
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="keeper", clean_session=False)
    sub.on_connect = lambda c, *_: c.subscribe("PLANT1/#", qos=1)
    sub.on_subscribe = lambda *_: ready.set()
    sub.on_message = lambda c, u, m: received.put((m.topic, bytes(m.payload)))
    sub.reconnect_delay_set(1, 2)
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    assert ready.wait(10)
    ledger = tmp_path / "ledger.csv"
    simulator = Simulator(
        SimulateConfig(mqtt=broker.address, rate=100, seconds=6, batch_ms=250, ledger=ledger)
    )
    runner = threading.Thread(target=simulator.run)
    runner.start()
    try:
        time.sleep(3.0)
        broker.stop()  # graceful: mosquitto saves the queues of persistent sessions
        time.sleep(1.0)
        broker.start()
        runner.join(30)
        stats = simulator.stats
        assert stats.connects >= 2 and stats.disconnects >= 1
        assert stats.acked_messages == stats.messages  # everything went out in the end
        layout = TopicLayout()
        keys: set[tuple[str, str, int]] = set()
        deadline = time.monotonic() + 15
        wanted = set(ledger_keys(ledger))
        while not wanted <= keys and time.monotonic() < deadline:
            try:
                topic, payload = received.get(timeout=0.5)
            except queue.Empty:
                continue
            match = layout.parse(topic)
            assert match is not None
            keys.update(decode_json(payload, match.asset, None, 0).keys())
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert len(wanted) == stats.readings and wanted <= keys  # at least once, none lost
