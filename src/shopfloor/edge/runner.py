"""The edge runner: live readings in over MQTT, condition scores on onnxruntime, alarms out.

``python -m shopfloor.edge.runner --model BUNDLE --mqtt HOST:PORT`` (which is what
``shopfloor edge run`` executes).  It imports no pandas, pyarrow, duckdb, lake or
registry: numpy, onnxruntime and paho-mqtt only, to stay under 200 MB peak RSS.

Row assembly (why: the models score rows, MQTT delivers readings).  Every asset keeps
the latest value of each of its signals (sample-and-hold: a signal published every
minute still counts between its readings, up to ``max_hold_s`` of data time, after
which it counts as missing and the median skips it).  Rows are cut at each distinct
timestamp of an asset:

- a reading with a newer timestamp closes the asset's pending row (all of the older
  timestamp has then arrived, per-signal topics included) and opens the next;
- a whole-row message (a machine topic, ``{"ts": .., "values": {..}}``) closes its row
  at once: a gateway publishes a machine's row in one message, so it is complete;
- a pending row with no newer reading for ``flush_s`` seconds of wall time is closed
  anyway, so the last row of a burst does not wait for the next burst;
- a reading older than the pending or last closed row is late: counted, not used
  (held values never go back in time).

All rows an incoming message closes for an asset are scored in one onnxruntime run,
then fed row by row to the asset's :class:`LiveAlarm`; each change is published as JSON
(QoS 1) on the alert topic.  A malformed payload is counted and logged, never fatal.
paho reconnects by itself with a growing delay (1 s to 30 s) and the runner
resubscribes on every connect.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from shopfloor.edge.bundle import BundleAsset, EdgeBundle, read_bundle
from shopfloor.errors import InputError, ShopfloorError
from shopfloor.maintenance.live import AlarmChange, LiveAlarm
from shopfloor.streaming.mqtt import split_address
from shopfloor.streaming.payloads import PayloadError, decode_json
from shopfloor.streaming.records import ReadingBatch
from shopfloor.streaming.topics import DEFAULT_LAYOUT, TopicLayout

log = logging.getLogger("shopfloor.edge")

DEFAULT_ALERT_TOPIC = "shopfloor/alerts/{asset}"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_TS = np.iinfo(np.int64).min // 2  # "never seen": older than any max_hold


@dataclass
class RunnerStats:
    """What the runner saw and did (printed by ``--json`` at exit)."""

    messages: int = 0
    readings: int = 0
    malformed: int = 0
    unknown_topic: int = 0  # messages whose topic the layout does not parse
    unknown_asset: int = 0  # messages for assets not in the bundle
    ignored_readings: int = 0  # signals the asset's model does not use
    late_readings: int = 0
    rows: int = 0
    scored_rows: int = 0  # rows with a score (not at rest, some signal present)
    model_runs: int = 0
    raised: int = 0
    cleared: int = 0
    alerts_unsent: int = 0  # publish refused right away (paho retries queued QoS 1 ones)
    connects: int = 0
    seconds: float = 0.0


def iso(ts_us: int) -> str:
    return (_EPOCH + timedelta(microseconds=ts_us)).isoformat()


def alert_payload(change: AlarmChange, source: dict[str, Any], origin: str = "edge") -> bytes:
    """The JSON of an alarm change on the alert topic."""
    return json.dumps(
        {
            "asset": change.asset,
            "kind": change.kind,
            "ts": iso(change.ts_us),
            "score": change.score,
            "threshold": change.threshold,
            "peak_score": change.peak_score if math.isfinite(change.peak_score) else None,
            "signals": [{"signal": s, "sigma": round(v, 3)} for s, v in change.top],
            "source": origin,
            "model": source,
        },
        separators=(",", ":"),
        allow_nan=False,
    ).encode()


class _Asset:
    """One asset's model session, held values, pending row and alarm."""

    def __init__(self, entry: BundleAsset, session: ort.InferenceSession, alarm: LiveAlarm):
        self.entry = entry
        self.session = session
        self.alarm = alarm
        self.columns = {name: i for i, name in enumerate(entry.signals)}
        self.n_signals = len(entry.signals)
        self.context_at = self.columns.setdefault(entry.context, self.n_signals)
        width = max(self.columns.values()) + 1
        self.held = np.full(width, np.nan)
        self.held_ts = np.full(width, _NO_TS, dtype=np.int64)
        self.pending: int | None = None
        self.last_closed = _NO_TS
        self.touched = 0.0  # monotonic time of the last reading

    def close(self, max_hold_us: int, out: list[tuple[int, np.ndarray]]) -> None:
        if self.pending is None:
            return
        fresh = (self.pending - self.held_ts) <= max_hold_us
        out.append((self.pending, np.where(fresh, self.held, np.nan)))
        self.last_closed, self.pending = self.pending, None


class EdgeRunner:
    """Score the readings of a bundle's assets arriving over MQTT; publish alarm changes."""

    def __init__(
        self,
        bundle_dir: Path | str,
        mqtt_address: str = "127.0.0.1:1883",
        *,
        layout: TopicLayout | None = None,
        alert_topic: str = DEFAULT_ALERT_TOPIC,
        client_id: str = "",
        flush_s: float = 2.0,
        max_hold_s: float = 600.0,
        keepalive: int = 30,
        subscribe: bool = True,
        origin: str = "edge",
    ) -> None:
        self.bundle: EdgeBundle = read_bundle(Path(bundle_dir))
        self.host, self.port = split_address(mqtt_address)
        self.layout = layout or TopicLayout(DEFAULT_LAYOUT)
        try:
            alert_topic.format(asset="x")
        except (KeyError, IndexError, ValueError):
            raise InputError(
                f"alert topic {alert_topic!r} may only use {{asset}}", field="alert_topic"
            ) from None
        self.alert_topic = alert_topic
        self.flush_s = flush_s
        self.max_hold_us = int(max_hold_s * 1_000_000)
        self.keepalive = keepalive
        # subscribe=False: the lake's stream ingester feeds handle_batch() itself and the
        # client only publishes alerts.
        self.subscribe = subscribe
        self.origin = origin
        self.stats = RunnerStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        options = ort.SessionOptions()
        # One thread: each run is a few hundred rows at most; pools only cost memory.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        rules = asdict(self.bundle.rules)
        self.assets: dict[str, _Asset] = {}
        for entry in self.bundle.assets:
            path = self.bundle.path(entry)
            try:
                session = ort.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]
                )
            except Exception as err:  # onnxruntime raises its own untyped errors
                raise InputError(f"not a usable ONNX model ({err})", source=str(path)) from None
            alarm = LiveAlarm(entry.asset, entry.threshold, entry.signals, **rules)
            self.assets[entry.asset] = _Asset(entry, session, alarm)
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=not client_id,  # a named client keeps its session across restarts
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # -- MQTT callbacks (paho's network thread) ----------------------------------------
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("broker %s:%s refused the connection: %s", self.host, self.port, reason)
            return
        self.stats.connects += 1
        if self.subscribe:
            client.subscribe([(f, 1) for f in self.layout.subscription()])

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        log.warning("cannot reach the broker %s:%s; retrying", self.host, self.port)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any
    ) -> None:
        log.info(
            "subscribed to %s on %s:%s (%d assets)",
            ", ".join(self.layout.subscription()),
            self.host,
            self.port,
            len(self.assets),
        )

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if not self._stop.is_set():
            log.warning("lost the broker (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self.handle(message.topic, bytes(message.payload))
        except Exception:  # one bad message must not end scoring for the whole plant
            log.exception("failed to handle a message on %s", message.topic)

    # -- scoring -----------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes) -> list[AlarmChange]:
        """Process one message; returns the alarm changes it caused (also published)."""
        stats = self.stats
        with self._lock:
            stats.messages += 1
            match = self.layout.parse(topic)
            if match is None:
                stats.unknown_topic += 1
                return []
            state = self.assets.get(match.asset)
            if state is None:
                stats.unknown_asset += 1
                return []
            try:
                batch = decode_json(payload, match.asset, match.signal, time.time_ns() // 1000)
            except PayloadError as err:
                stats.malformed += 1
                if stats.malformed <= 10 or stats.malformed % 1000 == 0:
                    log.warning("malformed payload #%d on %s: %s", stats.malformed, topic, err)
                return []
            return self._assemble(state, batch, complete=match.signal is None)

    def handle_batch(
        self, asset: str, batch: ReadingBatch, complete: bool | None = None
    ) -> list[AlarmChange]:
        """Score decoded readings of one asset (the lake ingester's path: no re-decoding).

        ``complete``: the batch's last row is whole (None: whole when it names every
        signal of the model).
        """
        with self._lock:
            state = self.assets.get(asset)
            if state is None:
                self.stats.unknown_asset += 1
                return []
            if complete is None:
                last = batch.ts_us[-1] if len(batch) else None
                named = {s for s, t in zip(batch.signal, batch.ts_us, strict=True) if t == last}
                complete = set(state.columns) <= named
            return self._assemble(state, batch, complete)

    def _assemble(self, state: _Asset, batch: ReadingBatch, complete: bool) -> list[AlarmChange]:
        stats = self.stats
        stats.readings += len(batch)
        rows: list[tuple[int, np.ndarray]] = []
        for name, ts, value in zip(batch.signal, batch.ts_us, batch.value, strict=True):
            col = state.columns.get(name)
            if col is None:
                stats.ignored_readings += 1
                continue
            if ts <= state.last_closed or (state.pending is not None and ts < state.pending):
                stats.late_readings += 1
                continue
            if state.pending is not None and ts > state.pending:
                state.close(self.max_hold_us, rows)
            state.pending = ts
            state.held[col] = np.nan if value is None else value
            state.held_ts[col] = ts
        state.touched = time.monotonic()
        if complete:
            state.close(self.max_hold_us, rows)  # a whole row is complete on arrival
        return self._score(state, rows)

    def _score(self, state: _Asset, rows: list[tuple[int, np.ndarray]]) -> list[AlarmChange]:
        if not rows:
            return []
        matrix = np.stack([row for _, row in rows])
        score, sigma = state.session.run(
            ["score", "sigma"],
            {
                "values": np.ascontiguousarray(matrix[:, : state.n_signals]),
                "context": np.ascontiguousarray(matrix[:, state.context_at]),
            },
        )
        stats = self.stats
        stats.model_runs += 1
        stats.rows += len(rows)
        changes = []
        for i, (ts, _) in enumerate(rows):
            value = float(score[i])
            if math.isnan(value):
                continue
            stats.scored_rows += 1
            change = state.alarm.update(ts, value, sigma[i])
            if change is not None:
                changes.append(change)
                self._publish(change)
        return changes

    def _publish(self, change: AlarmChange) -> None:
        if change.kind == "raised":
            self.stats.raised += 1
        else:
            self.stats.cleared += 1
        top = ", ".join(f"{s} {v:+.1f}σ" for s, v in change.top)
        log.info(
            "%s %s at %s: score %.2f (%s)",
            change.asset,
            change.kind,
            iso(change.ts_us),
            change.score,
            top,
        )
        info = self.client.publish(
            self.alert_topic.format(asset=change.asset),
            alert_payload(change, self.bundle.source, self.origin),
            qos=1,
        )
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self.stats.alerts_unsent += 1

    def flush(self, idle_s: float | None = None) -> list[AlarmChange]:
        """Close and score pending rows idle for ``idle_s`` (default ``flush_s``; 0: all)."""
        limit = self.flush_s if idle_s is None else idle_s
        now = time.monotonic()
        changes: list[AlarmChange] = []
        with self._lock:
            for state in self.assets.values():
                if state.pending is not None and now - state.touched >= limit:
                    rows: list[tuple[int, np.ndarray]] = []
                    state.close(self.max_hold_us, rows)
                    changes += self._score(state, rows)
        return changes

    # -- running -----------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def run(self, seconds: float | None = None) -> RunnerStats:
        """Connect (retrying until the broker answers) and score until ``stop()`` or
        ``seconds`` have passed; returns the counters."""
        started = time.monotonic()
        deadline = None if seconds is None else started + seconds
        log.info("connecting to %s:%s", self.host, self.port)
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self.client.loop_start()  # network thread: reconnects by itself with backoff
        try:
            while not self._stop.wait(min(0.25, max(self.flush_s / 2, 0.01))):
                self.flush()
                if deadline is not None and time.monotonic() >= deadline:
                    break
        except KeyboardInterrupt:
            pass
        finally:
            self._stop.set()
            self.flush(0.0)
            self.client.disconnect()
            self.client.loop_stop()
            self.stats.seconds = round(time.monotonic() - started, 3)
        return self.stats


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="shopfloor edge run", description="Score live MQTT readings with an edge bundle."
    )
    p.add_argument("--model", required=True, type=Path, help="edge bundle directory")
    p.add_argument("--mqtt", default="127.0.0.1:1883", help="broker HOST:PORT")
    p.add_argument("--topic-layout", default=DEFAULT_LAYOUT, help="topic template")
    p.add_argument("--alert-topic", default=DEFAULT_ALERT_TOPIC, help="alert topic template")
    p.add_argument("--client-id", default="", help="MQTT client id (keeps a session)")
    p.add_argument("--flush-s", type=float, default=2.0, help="close idle rows after s")
    p.add_argument("--max-hold-s", type=float, default=600.0, help="sample-and-hold limit")
    p.add_argument("--seconds", type=float, default=None, help="stop after s (default never)")
    p.add_argument("--json", action="store_true", help="print the counters as JSON at exit")
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        runner = EdgeRunner(
            args.model,
            args.mqtt,
            layout=TopicLayout(args.topic_layout),
            alert_topic=args.alert_topic,
            client_id=args.client_id,
            flush_s=args.flush_s,
            max_hold_s=args.max_hold_s,
        )
    except ShopfloorError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    stats = runner.run(args.seconds)
    if args.json:
        print(json.dumps({f.name: getattr(stats, f.name) for f in fields(stats)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
