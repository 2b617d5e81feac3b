"""Live alerts relayed from the MQTT alert topic to the SSE stream, within the user's sites."""

from __future__ import annotations

import json
import threading
import time

from shopfloor.config import Settings
from shopfloor.lake import Lake
from shopfloor.streaming.broker import MosquittoBroker
from shopfloor.workflows.alert_feed import AlertFeed
from shopfloor.workflows.ingest import ingest

PASSWORD = "correct horse battery"


def _publish_later(
    broker: MosquittoBroker, feed: AlertFeed, alerts: list[dict[str, object]]
) -> threading.Thread:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    def run() -> None:
        broker.wait_for_subscriber(feed.client_id)
        deadline = time.monotonic() + 30
        while not feed.listeners and time.monotonic() < deadline:
            time.sleep(0.02)  # until the SSE request has registered its listener
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="scorer")
        client.connect(broker.host, broker.port)
        client.loop_start()
        for alert in alerts:
            topic = f"shopfloor/alerts/{alert['asset']}"
            client.publish(topic, json.dumps(alert), qos=1).wait_for_publish(5)
        client.publish("shopfloor/alerts/x", b"not json", qos=1).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_live_alerts_reach_the_sse_stream_of_their_site_only(
    broker: MosquittoBroker, lake: Lake, write_file
) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from shopfloor.server import create_app

    ingest(
        lake, [write_file("a.csv", "asset,level,site\nM1,machine,P1\nM2,machine,P2\n")], "assets"
    )
    settings = Settings(lake=lake.path, server={"mqtt": broker.address})
    app = create_app(settings)
    access = app.state.shopfloor.access
    access.add_user("viewer1", PASSWORD, "viewer", ["P1"])
    token = access.issue_token("viewer1", expires_in_s=3600, label="test").secret
    alerts = [
        {"asset": "M2", "kind": "raised", "score": 9.0},  # another site: never shown
        {"asset": "M1", "kind": "raised", "score": 7.5},
    ]
    with TestClient(app) as client:
        publisher = _publish_later(broker, app.state.shopfloor.alert_feed, alerts)
        headers = {"Authorization": f"Bearer {token}"}
        with client.stream("GET", "/api/alerts/stream?seconds=2", headers=headers) as stream:
            text = "".join(stream.iter_text())
        publisher.join()
    live = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    assert "event: live" in text
    assert live == [{"asset": "M1", "kind": "raised", "score": 7.5}]
    assert "M2" not in text
