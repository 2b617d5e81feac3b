"""Sparkplug B through `run_stream`: aliases survive an ingester restart (the births are
kept beside the spool), and an unknown edge node is asked to rebirth."""

from __future__ import annotations

import threading

from shopfloor.lake import Lake
from shopfloor.streaming.broker import MosquittoBroker
from shopfloor.streaming.sparkplug import (
    DataType,
    encode_birth,
    encode_data,
    is_rebirth_request,
    topic,
)
from shopfloor.workflows.streaming import StreamOptions, StreamSummary, run_stream

MS = 1_764_000_000_000


def _client(broker: MosquittoBroker, name: str):  # type: ignore[no-untyped-def]
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _send(broker: MosquittoBroker, messages: list[tuple[str, bytes]]) -> None:
    client = _client(broker, "edge-node")
    for name, payload in messages:
        client.publish(name, payload, qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def _run(lake: Lake, broker: MosquittoBroker, messages: list[tuple[str, bytes]]) -> StreamSummary:
    stop = threading.Event()
    out: dict[str, StreamSummary] = {}
    worker = threading.Thread(
        target=lambda: out.update(
            s=run_stream(lake, StreamOptions(mqtt=broker.address, commit_s=0.2), stop=stop)
        )
    )
    worker.start()
    broker.wait_for_subscriber("shopfloor-default")
    _send(broker, messages)
    threading.Event().wait(1.0)
    stop.set()
    worker.join(timeout=60)
    return out["s"]


def test_aliases_survive_a_restart_and_unknown_nodes_are_asked_to_rebirth(
    broker: MosquittoBroker, lake: Lake
) -> None:
    births = [
        (topic("P1", "NBIRTH", "L1"), encode_birth({}, MS, 0, bd_seq=0, rebirth_control=True)),
        (
            topic("P1", "DBIRTH", "L1", "M1"),
            encode_birth({"temp": (1, DataType.Double)}, MS, 1, values={"temp": 20.0}),
        ),
        (topic("P1", "DDATA", "L1", "M1"), encode_data([(1, 21.0, MS + 1000)], MS + 1000, 2)),
    ]
    first = _run(lake, broker, births)
    # while the ingester is down: alias-only data, queued by the broker for its session
    _send(broker, [(topic("P1", "DDATA", "L1", "M1"), encode_data([(1, 22.0, MS + 2000)], MS, 3))])
    requests: list[bytes] = []
    watcher = _client(broker, "watcher")
    watcher.on_message = lambda c, u, m: requests.append(m.payload)
    watcher.subscribe("spBv1.0/+/NCMD/#", qos=1)
    stranger = (topic("P1", "DDATA", "L9", "X1"), encode_data([(7, 1.0, MS)], MS, 5))
    second = _run(lake, broker, [stranger])
    watcher.loop_stop()
    assert (first.committed_rows, second.committed_rows) == (2, 1)
    values = lake.sql("SELECT value FROM readings ORDER BY ts")["value"].tolist()
    assert values == [20.0, 21.0, 22.0]
    reasons = lake.sql("SELECT reason FROM quarantine")["reason"].tolist()
    assert len(reasons) == 1 and "alias 7" in reasons[0]
    assert requests and all(is_rebirth_request(r) for r in requests)
