"""Live alerts from the MQTT alert topic, fanned out to listeners (the SSE streams).

Why a subscription and not the alerts table: the table is written a moment after the
alert is published, and a stream polling it sees the alert up to a poll interval later.
The server keeps one subscription for all its SSE clients; each registers a callback
(called on paho's network thread: it must only hand the alert over, e.g. to an asyncio
queue with ``call_soon_threadsafe``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from shopfloor.streaming.mqtt import split_address

log = logging.getLogger(__name__)
AlertListener = Callable[[dict[str, Any]], None]


class AlertFeed:
    def __init__(self, address: str, topic: str = "shopfloor/alerts/#") -> None:
        self.host, self.port = split_address(address)
        self.topic = topic
        self._listeners: list[AlertListener] = []
        self._lock = threading.Lock()
        self._client: Any = None
        self.received = 0
        self.client_id = f"shopfloor-alert-feed-{os.getpid()}"

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._listeners)

    def add(self, listener: AlertListener) -> Callable[[], None]:
        """Register ``listener``; returns the function that removes it again."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            alert = json.loads(message.payload)
        except ValueError:
            log.warning("not an alert on %s: %r", message.topic, message.payload[:80])
            return
        if not isinstance(alert, dict) or "asset" not in alert:
            return
        self.received += 1
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(alert)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not getattr(reason, "is_failure", False):
            client.subscribe(self.topic, qos=1)

    def start(self) -> AlertFeed:
        """Connect in the background (paho retries with backoff while the broker is away)."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id)
        client.on_message = self._on_message
        client.on_connect = self._on_connect
        client.reconnect_delay_set(1, 30)
        client.connect_async(self.host, self.port, keepalive=30)
        client.loop_start()
        self._client = client
        return self

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
