"""Live scoring in the lake's stream: a registered fleet scores MQTT readings as they
arrive; a fault raises an alert on the MQTT alert topic and in the lake's alerts table."""

from __future__ import annotations

import json
import threading
import time

import pandas as pd
import pytest

from shopfloor.lake import Lake
from shopfloor.maintenance.condition import ConditionMonitor, FleetConditionMonitor
from shopfloor.registry import ModelRegistry
from shopfloor.streaming.broker import MosquittoBroker
from shopfloor.streaming.payloads import encode_rows
from shopfloor.workflows.streaming import StreamOptions, run_stream
from tests.edge.fleet import faulty, machine_rows

pytestmark = pytest.mark.slow


def _register_fleet(lake: Lake) -> None:
    frames = [machine_rows(seed).assign(asset=name) for seed, name in ((1, "A1"), (2, "A2"))]
    fleet = FleetConditionMonitor(template=ConditionMonitor(min_threshold=3.0)).fit(
        pd.concat(frames)
    )
    ModelRegistry.for_lake(lake.path).register("condition", fleet, stage="production")


def _rows(frame: pd.DataFrame, start_us: int) -> list[tuple[int, dict[str, float | None]]]:
    records = frame.to_dict("records")
    return [
        (start_us + i * 100_000, {k: float(v) for k, v in r.items()}) for i, r in enumerate(records)
    ]


def test_a_fault_raises_a_live_alert_on_mqtt_and_in_the_lake(
    broker: MosquittoBroker, lake: Lake
) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    _register_fleet(lake)
    alerts: list[tuple[float, dict[str, object]]] = []
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="alert-listener")
    listener.on_message = lambda c, u, m: alerts.append((time.monotonic(), json.loads(m.payload)))
    listener.connect(broker.host, broker.port)
    listener.subscribe("shopfloor/alerts/#", qos=1)
    listener.loop_start()
    stop = threading.Event()
    summary = {}
    options = StreamOptions(mqtt=broker.address, score=True, commit_s=0.3)
    worker = threading.Thread(
        target=lambda: summary.update(s=run_stream(lake, options, stop=stop)), daemon=True
    )
    worker.start()
    broker.wait_for_subscriber("shopfloor-default")
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="plant")
    publisher.connect(broker.host, broker.port)
    publisher.loop_start()
    now_us = time.time_ns() // 1000
    normal_a, normal_b = machine_rows(11).iloc[:40], machine_rows(12).iloc[:40]
    for asset, frame in (("A1", normal_a), ("A2", normal_b)):
        publisher.publish(
            f"P1/A/L1/{asset}", encode_rows(_rows(frame, now_us)), qos=1
        ).wait_for_publish()
    time.sleep(1.0)
    assert not alerts, f"false alarm on normal rows: {alerts}"
    sent = time.monotonic()
    fault = _rows(faulty(machine_rows(13).iloc[:5]), now_us + 10_000_000)
    publisher.publish("P1/A/L1/A1", encode_rows(fault), qos=1).wait_for_publish()
    deadline = time.monotonic() + 10
    while not alerts and time.monotonic() < deadline:
        time.sleep(0.01)
    assert alerts, "no alert within 10 s"
    arrived, alert = alerts[0]
    assert alert["asset"] == "A1" and alert["kind"] == "raised" and alert["source"] == "lake"
    assert alert["signals"][0]["signal"] == "vibration"  # type: ignore[index]
    assert arrived - sent < 2.0
    time.sleep(0.8)
    stop.set()
    worker.join(timeout=60)
    publisher.loop_stop()
    listener.loop_stop()
    assert summary["s"].alerts == 1
    stored = lake.table("alerts").to_pylist()
    assert [(a["asset"], a["state"], a["note"]) for a in stored] == [("A1", "open", "raised live")]
    assert summary["s"].committed_rows == (40 + 40 + 5) * 5
