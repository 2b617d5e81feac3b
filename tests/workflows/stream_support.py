"""Test support for the streaming fault tests: a publisher with a ledger, a TCP proxy.

The ledger is the referee: it holds the natural key of every reading whose message the
broker acknowledged (PUBACK), so "zero acknowledged readings lost" and "zero duplicates"
are counted against it.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from shopfloor.streaming.payloads import encode_rows

T0_US = 1_764_000_000_000_000  # 2025-11-24, well inside the lake's accepted range


class LedgerPublisher:
    """Publishes whole-row messages at ``rate`` messages/s until stopped (QoS 1)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        assets: int = 4,
        signals: int = 5,
        rows_per_message: int = 10,
        rate: float = 200.0,
        client_id: str = "ledger-publisher",
    ) -> None:
        import paho.mqtt.client as mqtt

        self.assets = [f"M{i}" for i in range(assets)]
        self.signals = [f"s{i}" for i in range(signals)]
        self.rows = rows_per_message
        self.rate = rate
        self.ledger: set[tuple[str, str, int]] = set()
        self.published = 0
        self._pending: dict[int, list[tuple[str, str, int]]] = {}
        self._early: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        client.max_inflight_messages_set(100)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(0.1, 1.0)
        client.on_publish = self._on_publish
        client.connect(host, port, keepalive=10)
        client.loop_start()
        self.client = client

    def _on_publish(self, client, userdata, mid, reason, props) -> None:  # type: ignore[no-untyped-def]
        with self._lock:
            keys = self._pending.pop(mid, None)
            if keys is None:
                self._early.add(mid)  # acknowledged before _run registered it
            else:
                self.ledger.update(keys)

    def _run(self) -> None:
        n = 0
        started = time.monotonic()
        while not self._stop.is_set():
            asset = self.assets[n % len(self.assets)]
            base = T0_US + (n // len(self.assets)) * self.rows * 1000
            rows = [
                (base + r * 1000, {s: float(n % 97) + r for s in self.signals})
                for r in range(self.rows)
            ]
            keys = [(asset, s, ts) for ts, _ in rows for s in self.signals]
            # Not under our lock: paho may hold its own lock while calling on_publish.
            info = self.client.publish(f"P1/A/L1/{asset}", encode_rows(rows), qos=1)
            with self._lock:
                if info.mid in self._early:
                    self._early.discard(info.mid)
                    self.ledger.update(keys)
                else:
                    self._pending[info.mid] = keys
            n += 1
            self.published = n
            delay = started + n / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def start(self) -> LedgerPublisher:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self, settle_s: float = 15.0) -> None:
        """Stop publishing and wait until every message is acknowledged (or time is up)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        deadline = time.monotonic() + settle_s
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.05)
        self.client.disconnect()
        self.client.loop_stop()


class DroppingProxy:
    """A TCP proxy whose live connections can be cut (a network drop), still listening."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def drop(self) -> int:
        """Cut every live connection; returns how many sockets were cut."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        return len(sockets)

    def close(self) -> None:
        self.drop()
        self.server.close()


def start_ingester(lake: Path, address: str, log: Path) -> subprocess.Popen[bytes]:
    """`shopfloor stream` in its own process (so that it can be SIGKILLed)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopfloor.cli.main",
            "stream",
            "--lake",
            str(lake),
            "--mqtt",
            address,
            "--commit-s",
            "0.3",
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )
