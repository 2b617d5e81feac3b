"""MQTT ingest: subscribe (QoS 1, persistent session), decode, spool, acknowledge.

The delivery contract, end to end:

1. the broker delivers a QoS 1 message and keeps it until we acknowledge it (our session
   is persistent: ``clean_session=False`` under a fixed client id, so messages that
   arrive while the ingester is down are queued for it);
2. ``on_message`` decodes the payload (JSON on the topic layout, or Sparkplug B under
   ``spBv1.0/``), drops readings already spooled (redeliveries), appends the rest to the
   write-ahead :class:`~shopfloor.streaming.spool.Spool` and queues the acknowledgement;
3. every ``sync_interval_s`` the sync thread fsyncs the spool and only then sends the
   queued acknowledgements (paho's ``manual_ack``): group commit, so one fsync covers
   hundreds of messages;
4. the owner (``workflows.streaming.run_stream``) seals spool segments and commits them
   to the lake on its own clock.

Sparkplug B state survives a restart: the last NBIRTH/DBIRTH of every node and device is
kept beside the spool and replayed into a fresh decoder, so DATA queued while the
ingester was down still resolves its aliases.  An edge node whose aliases or sequence are
unknown is asked to rebirth (``NCMD`` with ``Node Control/Rebirth``, at most every 10 s).

A message that cannot be decoded is acknowledged too (redelivering it would not help)
but spooled as a rejection, for the quarantine table, with its reason.

Backpressure: when more than ``max_pending_segments`` sealed segments wait for the lake,
``on_message`` waits.  That stops paho reading the socket, so the broker holds (and
queues) the rest; nothing is dropped and memory stays bounded.

Reconnection: paho reconnects on its own with exponential backoff between
``reconnect_min_s`` and ``reconnect_max_s``; the persistent session keeps the
subscriptions and the queue across it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor.errors import ConfigError
from shopfloor.streaming.payloads import decode_json
from shopfloor.streaming.records import ReadingBatch, Rejected
from shopfloor.streaming.spool import Spool
from shopfloor.streaming.topics import TopicLayout

log = logging.getLogger(__name__)

SPARKPLUG_ROOT = "spBv1.0"
Listener = Callable[[ReadingBatch, int], None]  # fresh readings, receive time (µs)
_MAX_QUARANTINED_PAYLOAD = 64 * 1024


def split_address(address: str, default_port: int = 1883) -> tuple[str, int]:
    """``host:port``, ``host`` (the default port) or ``[v6]:port`` → (host, port).

    The one parser of broker addresses (the ingester, the simulator, the SSE feed and
    the edge runner), with a one-line error for anything else.
    """
    host, sep, port = address.rpartition(":")
    if not sep or "]" in port:  # no port, or a bare [v6] address
        host, port = address, str(default_port)
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"'{address}' is not HOST:PORT")
    return host, int(port)


@dataclass
class IngesterStats:
    messages: int = 0
    readings: int = 0  # fresh readings spooled
    duplicates: int = 0
    rejected: int = 0
    acknowledged: int = 0
    connects: int = 0
    disconnects: int = 0
    rebirths_requested: int = 0
    waited_s: float = 0.0  # time on_message spent waiting for the lake (backpressure)
    connected: bool = False


class MqttIngester:
    """One subscriber feeding one spool.  ``start()``, then ``stop()``."""

    def __init__(
        self,
        address: str,
        spool: Spool,
        *,
        client_id: str = "shopfloor-ingest",
        layout: TopicLayout | None = None,
        sparkplug: bool = True,
        topics: tuple[str, ...] = (),
        qos: int = 1,
        keepalive: int = 30,
        sync_interval_s: float = 0.005,
        max_pending_segments: int = 64,
        reconnect_min_s: int = 1,
        reconnect_max_s: int = 10,
        listeners: tuple[Listener, ...] = (),
    ) -> None:
        self.host, self.port = split_address(address)
        self.spool = spool
        self.client_id = client_id
        self.layout = layout or TopicLayout()
        self.sparkplug = sparkplug
        self.topics = topics or tuple(self.layout.subscription())
        self.qos = qos
        self.keepalive = keepalive
        self.sync_interval_s = sync_interval_s
        self.max_pending_segments = max_pending_segments
        self.reconnect = (reconnect_min_s, reconnect_max_s)
        self.listeners = list(listeners)
        self.stats = IngesterStats()
        self._unacked: list[int] = []
        self._ack_lock = threading.Lock()
        self._stop = threading.Event()
        self._sync_thread: threading.Thread | None = None
        self._sparkplug_decoder: Any = None
        self._rebirth_asked: dict[tuple[str, str], float] = {}
        self._client: Any = None

    # -- decoding -----------------------------------------------------------------------
    def decode(self, topic: str, payload: bytes, received_us: int) -> ReadingBatch:
        """Readings of one message; raises ValueError (with the reason) when unreadable."""
        if topic.startswith(SPARKPLUG_ROOT + "/"):
            if not self.sparkplug:
                raise ValueError("Sparkplug B message, but Sparkplug decoding is off")
            return self._decode_sparkplug(topic, payload, received_us)
        match = self.layout.parse(topic)
        if match is None:
            raise ValueError(f"topic does not fit the layout '{self.layout.template}'")
        return decode_json(payload, match.asset, match.signal, received_us)

    def _decode_sparkplug(self, topic: str, payload: bytes, received_us: int) -> ReadingBatch:
        if self._sparkplug_decoder is None:
            from shopfloor.streaming.sparkplug import SparkplugDecoder

            self._sparkplug_decoder = SparkplugDecoder()
            self._replay_births()
        decoder = self._sparkplug_decoder
        try:
            batch: ReadingBatch = decoder.decode(topic, payload, received_us)
        finally:
            self._request_rebirths()
        kind = topic.split("/")[2] if topic.count("/") >= 3 else ""
        if kind in ("NBIRTH", "DBIRTH"):
            self._keep_birth(topic, payload)
        elif kind in ("NDEATH", "DDEATH"):
            self._drop_births(topic)
        return batch

    @property
    def _births_dir(self) -> Path:
        return self.spool.directory / "sparkplug-births"

    def _keep_birth(self, topic: str, payload: bytes) -> None:
        folder = self._births_dir
        folder.mkdir(exist_ok=True)
        name = hashlib.sha1(topic.encode(), usedforsecurity=False).hexdigest()
        scratch = folder / f"{name}.tmp"
        scratch.write_bytes(topic.encode() + b"\n" + payload)
        os.replace(scratch, folder / f"{name}.bin")

    def _stored_births(self) -> list[tuple[str, bytes, Path]]:
        out = []
        for path in self._births_dir.glob("*.bin"):
            topic, _, payload = path.read_bytes().partition(b"\n")
            out.append((topic.decode(errors="replace"), payload, path))
        return out

    def _drop_births(self, topic: str) -> None:
        # NDEATH forgets the node and its devices; DDEATH one device.
        parts = topic.split("/")
        for stored, _, path in self._stored_births():
            other = stored.split("/")
            same_node = other[1] == parts[1] and other[3] == parts[3]
            if same_node and (parts[2] == "NDEATH" or other[4:] == parts[4:]):
                path.unlink(missing_ok=True)

    def _replay_births(self) -> None:
        births = sorted(
            self._stored_births(), key=lambda b: ("/DBIRTH/" in b[0], b[2].stat().st_mtime)
        )
        for topic, payload, _ in births:
            try:
                self._sparkplug_decoder.decode(topic, payload, 0)
            except ValueError:
                continue
        self._sparkplug_decoder.rebirth_needed.clear()  # the stored births stand in

    def _request_rebirths(self) -> None:
        decoder = self._sparkplug_decoder
        client = self._client
        if decoder is None or client is None or not decoder.rebirth_needed:
            return
        from shopfloor.streaming.sparkplug import encode_rebirth_request, topic

        now = time.monotonic()
        for group, node in list(decoder.rebirth_needed):
            if now - self._rebirth_asked.get((group, node), -1e9) < 10.0:
                continue
            self._rebirth_asked[(group, node)] = now
            client.publish(
                topic(group, "NCMD", node), encode_rebirth_request(time.time_ns() // 1_000_000)
            )
            self.stats.rebirths_requested += 1

    # -- paho callbacks -----------------------------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT connect to %s:%s refused: %s", self.host, self.port, reason)
            return
        self.stats.connects += 1
        self.stats.connected = True
        subscriptions = [(t, self.qos) for t in self.topics]
        if self.sparkplug:
            subscriptions.append((f"{SPARKPLUG_ROOT}/#", self.qos))
        client.subscribe(subscriptions)

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self.stats.connected = False
        self.stats.disconnects += 1
        with self._ack_lock:
            # Acknowledgements of this connection are void: the broker redelivers.
            self._unacked.clear()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        received_us = time.time_ns() // 1000
        self._wait_for_lake()
        self.stats.messages += 1
        topic = message.topic
        try:
            batch = self.decode(topic, message.payload, received_us)
        except ValueError as err:
            self.spool.reject(
                Rejected(
                    topic, str(err), bytes(message.payload[:_MAX_QUARANTINED_PAYLOAD]), received_us
                )
            )
            self.stats.rejected += 1
            batch = ReadingBatch()
        if len(batch):
            fresh = self.spool.append(batch)
            self.stats.readings += len(fresh)
            self.stats.duplicates += len(batch) - len(fresh)
            if len(fresh):
                for listener in self.listeners:
                    listener(fresh, received_us)
        if message.qos > 0:
            with self._ack_lock:
                self._unacked.append(message.mid)

    def _wait_for_lake(self) -> None:
        if len(self.spool.pending()) <= self.max_pending_segments:
            return
        started = time.monotonic()
        while len(self.spool.pending()) > self.max_pending_segments and not self._stop.is_set():
            time.sleep(0.02)
        self.stats.waited_s += time.monotonic() - started

    # -- sync thread --------------------------------------------------------------------
    def _sync_loop(self) -> None:
        while not self._stop.wait(self.sync_interval_s):
            self.flush_acks()

    def flush_acks(self) -> int:
        """fsync the spool, then acknowledge every message it now holds durably."""
        with self._ack_lock:
            mids, self._unacked = self._unacked, []
        self.spool.sync()
        client = self._client
        if client is not None:
            for mid in mids:
                client.ack(mid, self.qos)
        self.stats.acknowledged += len(mids)
        return len(mids)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, timeout: float | None = None) -> MqttIngester:
        """Connect in the background; with ``timeout``, wait until subscribed or fail."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(*self.reconnect)  # whole seconds: paho's own backoff
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        self._client = client
        client.connect_async(self.host, self.port, keepalive=self.keepalive)
        client.loop_start()
        self._sync_thread = threading.Thread(
            target=self._sync_loop, name="shopfloor-spool-sync", daemon=True
        )
        self._sync_thread.start()
        if timeout is not None:
            deadline = time.monotonic() + timeout
            while not self.stats.connected:
                if time.monotonic() > deadline:
                    self.stop()
                    raise ConfigError(
                        f"no MQTT broker answers at {self.host}:{self.port} after {timeout:g} s"
                    )
                time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Acknowledge what is durable, then disconnect."""
        self._stop.set()
        client = self._client
        if client is not None:
            self.flush_acks()
            client.disconnect()
            client.loop_stop()
            self._client = None
        if self._sync_thread is not None:
            self._sync_thread.join(timeout=5)
            self._sync_thread = None
