"""The demo's live minute: the plant published over a real mosquitto, ingested and scored.

A local mosquitto (persistent, on a free port, state beside the lake) carries the demo
plant as ``shopfloor simulate`` publishes it; ``run_stream`` ingests it into the demo
lake exactly once and scores it live with the registered condition model; a subscriber
collects the alerts.  What a plant engineer sees is what the services do, end to end.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from shopfloor.lake import Lake
from shopfloor.streaming.broker import MosquittoBroker
from shopfloor.workflows.simulate import SimulateConfig, Simulator
from shopfloor.workflows.streaming import StreamOptions, StreamSummary, run_stream


@dataclass
class LiveDemo:
    broker: str
    published: int
    acknowledged: int
    stream: StreamSummary
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "broker": self.broker,
            "published": self.published,
            "acknowledged": self.acknowledged,
            "committed": self.stream.committed_rows,
            "duplicates": self.stream.duplicates,
            "quarantined": self.stream.quarantined,
            "alerts": self.alerts,
        }


def run_live_demo(lake: Lake, *, seconds: float = 15.0, rate: float = 600.0) -> LiveDemo:
    """Publish the plant for ``seconds`` at ``rate`` readings/s; ingest and score it live."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    with MosquittoBroker(lake.path / ".broker") as broker:
        alerts: list[dict[str, Any]] = []
        listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-alert-listener")
        listener.on_message = lambda c, u, m: alerts.append(json.loads(m.payload))
        listener.connect(broker.host, broker.port)
        listener.subscribe("shopfloor/alerts/#", qos=1)
        listener.loop_start()
        stop = threading.Event()
        out: dict[str, StreamSummary] = {}
        options = StreamOptions(name="demo", mqtt=broker.address, score=True, commit_s=0.5)
        worker = threading.Thread(
            target=lambda: out.update(summary=run_stream(lake, options, stop=stop)), daemon=True
        )
        worker.start()
        broker.wait_for_subscriber("shopfloor-demo", timeout=60)
        stats = Simulator(SimulateConfig(mqtt=broker.address, rate=rate, seconds=seconds)).run()
        time.sleep(1.0)  # the last commit and the last alerts
        stop.set()
        worker.join(timeout=60)
        listener.loop_stop()
        listener.disconnect()
        return LiveDemo(
            broker.address, stats.readings, stats.acked_readings, out["summary"], alerts
        )
