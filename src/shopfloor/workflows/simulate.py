"""`shopfloor simulate`: the demo plant, live, over MQTT (JSON or Sparkplug B) and OPC UA.

Values come from the demo plant's own model: :func:`simulate_operations` (states, waits,
breakdowns, wear) per 12-hour *segment*, and :func:`machine_readings` on top of it.  The
plant runs on a *virtual* clock, a Monday from 08:00 (two hours into the first shift) so
the lines are busy whenever the simulator runs; virtual time advances with the wall clock
and readings are stamped ``start of run + elapsed`` ("now").  Past 12 h a new segment
starts (the next virtual Monday, the next seed).

Rate: by default every signal at its nominal period (12 machines x 6 signals / 10 s = 7.2
readings/s).  ``rate=N`` rescales the sampling periods so the plant sends N readings/s in
all; the machines stay the demo plant's (every reading has a known asset and signal).
Above the natural rate only the fast signals speed up: temperature (a 20-minute thermal
lag) keeps its 10 s period, as slow signals do on real gateways.

Chunks: the sensor model's first-order lags start at steady state in every generated
window, so temperature is generated a whole segment at a time, and the fast signals (lags
of 5..30 s) in chunks of up to 10 min after a discarded pre-roll of up to 150 s (5 time
constants of pressure, the slowest).  Above ~5,000 readings/s chunk and pre-roll shrink
to bound memory (about a million readings per chunk); a short pre-roll can leave a small
step in pressure at a chunk boundary that follows a state change.

Delivery: QoS 1 on a persistent session; paho keeps each message until its PUBACK and
re-sends the unacknowledged ones after a reconnect (with backoff): at-least-once across
broker restarts.  The ledger lists the readings of every acknowledged message, for fault
tests to compare with the lake.  Past ``max_pending`` unacknowledged messages the
simulator waits (bounded memory while the broker is away).  Sparkplug: group = site,
edge node = line, device = machine; NBIRTH + DBIRTH (aliases, no values) first, after a
reconnect and on an ``NCMD`` rebirth request, then DDATA by alias, all at QoS 1 (the
specification says 0 for data; the simulator exists to test loss-free ingest).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.demo_plant.layout import MachineSpec, PlantLayout, SignalSpec, default_layout
from shopfloor.errors import ConfigError, InputError

if TYPE_CHECKING:
    from shopfloor.streaming.opcua_server import SimulatedOpcUaServer

IntArr = npt.NDArray[np.int64]
FloatArr = npt.NDArray[np.float64]
Format = Literal["json", "sparkplug"]

_VIRTUAL_MONDAY = pd.Timestamp("2024-01-01 06:00", tz="UTC")  # shift start (operations clock)
_WARM_UP_US = 2 * 3_600_000_000  # the live plant starts at 08:00
_SEGMENT_US = 12 * 3_600_000_000  # 08:00..20:00, inside the 06:00..22:00 shift
_MAX_CHUNK_US = 600_000_000
_MAX_PREROLL_US = 150_000_000
_BUDGET = 1_000_000  # readings generated per chunk, pre-roll included (bounds memory)
_SLOW_KINDS = frozenset({"temperature"})
MAX_RATE = 1_000_000.0


# -- the plant model ----------------------------------------------------------------------


@dataclass
class Chunk:
    """Readings of elapsed [start_us, end_us): per machine, sorted elapsed µs, codes, values."""

    start_us: int
    end_us: int
    ts: list[IntArr]
    code: list[npt.NDArray[np.int8]]
    value: list[FloatArr]


class LivePlant:
    """The demo plant's readings over elapsed time, chunk by chunk (see the module doc)."""

    def __init__(
        self,
        layout: PlantLayout | None = None,
        *,
        rate: float | None = None,
        seed: int = 7,
        fault_asset: str | None = None,
        fault_after_s: float = 60.0,
        batch_us: int = 1_000_000,
        resolution_us: int = 1,
    ) -> None:
        self.layout = layout or default_layout()
        self.seed = seed
        self.names = [s.name for s in self.layout.signals]
        assets = [m.asset for m in self.layout.machines]
        if fault_asset is not None and fault_asset not in assets:
            raise InputError(
                f"'{fault_asset}' is not a machine of the demo plant ({', '.join(assets)})",
                field="fault",
            )
        self.fault_asset = fault_asset
        self.fault_us = round(fault_after_s * 1e6)
        slow = [s for s in self.layout.signals if s.kind in _SLOW_KINDS]
        fast = [s for s in self.layout.signals if s.kind not in _SLOW_KINDS]
        n = len(self.layout.machines)
        natural = n * sum(1.0 / s.period_s for s in self.layout.signals)
        slow_rate = n * sum(1.0 / s.period_s for s in slow)
        if rate is not None and not 0 < rate <= MAX_RATE:
            raise InputError(f"must be > 0 and at most {MAX_RATE:,.0f} readings/s", field="rate")
        if rate is None or rate <= natural:  # every period scaled alike
            scale = 1.0 if rate is None else natural / rate
            periods = {s.name: s.period_s * scale for s in self.layout.signals}
        else:  # temperature keeps its period; the fast signals make up the rest
            fast_period = n * len(fast) / (rate - slow_rate)
            periods = {
                s.name: s.period_s if s in slow else fast_period for s in self.layout.signals
            }
        # Whole resolution_us periods: the grid is integer µs (Sparkplug stamps whole ms).
        steps = {
            k: max(1, round(p * 1e6 / resolution_us)) * resolution_us for k, p in periods.items()
        }
        self.slow, self.fast = (
            [replace(s, period_s=steps[s.name] / 1e6) for s in group] for group in (slow, fast)
        )
        self.rate = n * sum(1.0 / s.period_s for s in (*self.slow, *self.fast))
        fast_rate = max(self.rate - n * sum(1.0 / s.period_s for s in self.slow), 1e-9)
        step_us = max(round(s.period_s * 1e6) for s in self.fast) if self.fast else 1_000_000
        chunk = min(_MAX_CHUNK_US, max(1_000_000, round(_BUDGET / 3 / fast_rate * 1e6)))
        # Chunks are whole batches (a batch never straddles two) and segments whole chunks.
        self.chunk_us = max(batch_us, max(step_us, chunk) // batch_us * batch_us)
        self.segment_us = max(self.chunk_us, _SEGMENT_US // self.chunk_us * self.chunk_us)
        self.preroll_us = min(_MAX_PREROLL_US, 2 * self.chunk_us)
        self._segment_index = -1
        self._segment: dict[str, Any] = {}

    def chunk_at(self, elapsed_us: int) -> Chunk:
        """The chunk holding ``elapsed_us`` (chunks tile elapsed time from 0)."""
        start = elapsed_us // self.chunk_us * self.chunk_us
        k, offset = divmod(start, self.segment_us)
        end = min(start + self.chunk_us, (k + 1) * self.segment_us)
        segment = self._load_segment(k)
        v0 = segment["v0"]  # virtual µs of the segment's elapsed 0
        lo_v, hi_v = v0 + offset, v0 + offset + (end - start)
        chunk = Chunk(start, end, [], [], [])
        for i, machine in enumerate(self.layout.machines):
            slow_ts, slow_code, slow_value = segment["slow"][i]
            a, b = np.searchsorted(slow_ts, [lo_v, hi_v])
            ts, code, value = self._generate(
                self.fast, machine, i, segment, lo_v, hi_v, self.preroll_us, lo_v
            )
            order = np.argsort(ts := np.concatenate([slow_ts[a:b], ts]), kind="stable")
            chunk.ts.append(ts[order] - v0 + k * self.segment_us)
            chunk.code.append(np.concatenate([slow_code[a:b], code])[order])
            chunk.value.append(np.concatenate([slow_value[a:b], value])[order])
        return chunk

    def _load_segment(self, k: int) -> dict[str, Any]:
        if k == self._segment_index:
            return self._segment
        from shopfloor.demo_plant.operations import simulate_operations

        monday = _VIRTUAL_MONDAY + pd.Timedelta(weeks=k)
        v0_ts = monday + pd.Timedelta(microseconds=_WARM_UP_US)
        v0 = int(v0_ts.value // 1000)
        v1_ts = v0_ts + pd.Timedelta(microseconds=self.segment_us)
        ops = simulate_operations(self.layout, monday, v1_ts + pd.Timedelta(hours=1), self.seed + k)
        events = {a: f for a, f in ops.events[ops.events["kind"] == "state"].groupby("asset")}
        health = {a: f.sort_values("ts") for a, f in ops.health.groupby("asset")}
        segment: dict[str, Any] = {"v0": v0, "events": events, "health": health, "slow": []}
        if self.fault_asset is not None and self.fault_us < (k + 1) * self.segment_us:
            fault_v = v0 + max(0, self.fault_us - k * self.segment_us)
            wear = health.get(self.fault_asset, pd.DataFrame(columns=["asset", "ts", "health"]))
            health[self.fault_asset] = _failing_from(wear, self.fault_asset, fault_v)
        segment["slow"] = [
            self._generate(self.slow, m, i, segment, v0, v0 + self.segment_us, 0, k)
            for i, m in enumerate(self.layout.machines)
        ]
        self._segment_index, self._segment = k, segment
        return segment

    def _generate(
        self, signals: list[SignalSpec], machine: MachineSpec, i: int, segment: dict[str, Any],
        lo_v: int, hi_v: int, preroll_us: int, salt: int,
    ) -> tuple[IntArr, npt.NDArray[np.int8], FloatArr]:  # fmt: skip
        from shopfloor.demo_plant.sensors import machine_readings

        if not signals:
            return np.empty(0, np.int64), np.empty(0, np.int8), np.empty(0, np.float64)
        # Grid points sit at v0 + j*step; start on one, a whole number of steps early, so
        # chunks continue one even grid (the demo's signals of a kind share one period).
        step, v0 = round(signals[0].period_s * 1e6), segment["v0"]
        start = v0 + -(-(lo_v - v0) // step) * step - preroll_us // step * step
        no_events = pd.DataFrame(columns=["asset", "kind", "start", "end", "code"])
        frame = machine_readings(
            replace(self.layout, signals=tuple(signals)),
            machine,
            segment["events"].get(machine.asset, no_events),
            segment["health"].get(machine.asset, pd.DataFrame(columns=["asset", "ts", "health"])),
            pd.Timestamp(start, unit="us", tz="UTC"),
            pd.Timestamp(hi_v, unit="us", tz="UTC"),
            np.random.default_rng([self.seed, i, salt % (1 << 62)]),
        )
        ts = np.asarray(pd.DatetimeIndex(frame["ts"]).as_unit("us").asi8, dtype=np.int64)
        names = [sig.name for sig in signals]
        codes = pd.Categorical(frame["signal"].astype(str), categories=names).codes
        remap = np.array([self.names.index(n) for n in names], dtype=np.int8)
        keep = ts >= lo_v
        return ts[keep], remap[codes[keep]], frame["value"].to_numpy(np.float64)[keep]


def _failing_from(health: pd.DataFrame, asset: str, fault_v: int) -> pd.DataFrame:
    """Health 1 (failing: vibration triples, current, heat and noise rise) from ``fault_v``."""
    ts = pd.DatetimeIndex(health["ts"]).as_unit("us").asi8
    level = float(np.interp(fault_v, ts, health["health"].to_numpy())) if len(ts) else 0.0
    stamps = pd.to_datetime([fault_v - 1, fault_v, fault_v + 400 * 86_400_000_000], unit="us")
    step = pd.DataFrame({"asset": asset, "ts": stamps.tz_localize("UTC"), "health": [level, 1, 1]})
    return pd.concat([health[ts < fault_v], step], ignore_index=True)


# -- publishing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulateConfig:
    mqtt: str | None = None  # HOST:PORT
    opcua: str | None = None  # opc.tcp://HOST:PORT
    rate: float | None = None  # readings/s of the whole plant; None: nominal periods
    seconds: float | None = None  # None: until stopped
    batch_ms: int = 1000
    format: Format = "json"
    ledger: Path | None = None
    fault_asset: str | None = None
    fault_after_s: float = 60.0
    seed: int = 7
    client_id: str | None = None
    qos: int = 1
    max_pending: int = 10_000
    drain_s: float = 10.0  # at the end, how long to wait for outstanding acknowledgements


@dataclass
class SimulateStats:
    messages: int = 0
    readings: int = 0
    acked_messages: int = 0
    acked_readings: int = 0
    births: int = 0
    rebirth_requests: int = 0
    connects: int = 0
    disconnects: int = 0
    late_batches: int = 0  # batches published more than one batch late
    elapsed_s: float = 0.0
    target_rate: float = 0.0
    format: str = "json"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rate"] = round(self.readings / self.elapsed_s, 3) if self.elapsed_s else 0.0
        out["unacked_messages"] = self.messages - self.acked_messages
        return out


Progress = Callable[[SimulateStats], None]
_Keys = tuple[str, list[str], list[int]]  # a message's asset, signals and timestamps


def _open_ledger(path: Path) -> Any:
    """The ledger: asset,signal,ts_us of every acknowledged reading (appended)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    file = path.open("a", encoding="utf-8", buffering=1 << 16)
    if file.tell() == 0:
        file.write("asset,signal,ts_us\n")
    return file


class Simulator:
    """Publishes a :class:`LivePlant` in real time; ``run()`` blocks, ``stop()`` ends it."""

    def __init__(
        self,
        config: SimulateConfig,
        plant: LivePlant | None = None,
        *,
        on_progress: Progress | None = None,
        progress_s: float = 5.0,
    ) -> None:
        if config.mqtt is None and config.opcua is None:
            raise InputError("give --mqtt HOST:PORT, --opcua ENDPOINT or both", field="mqtt")
        if not 10 <= config.batch_ms <= 600_000:
            raise InputError("must be between 10 and 600000 ms", field="batch-ms")
        if config.seconds is not None and not config.seconds > 0:
            raise InputError("must be > 0", field="seconds")
        if config.mqtt is not None:
            from shopfloor.streaming.mqtt import split_address

            split_address(config.mqtt)  # a bad address fails now, not after the first chunk
        self.config = config
        self.batch_us = config.batch_ms * 1000
        self.plant = plant or LivePlant(
            rate=config.rate,
            seed=config.seed,
            fault_asset=config.fault_asset,
            fault_after_s=config.fault_after_s,
            batch_us=self.batch_us,
            # Sparkplug timestamps are ms: sample on whole ms, or readings would collide.
            resolution_us=1000 if config.format == "sparkplug" else 1,
        )
        self.stats = SimulateStats(target_rate=self.plant.rate, format=config.format)
        self.on_progress = on_progress
        self.progress_s = progress_s
        self.start_us = 0  # wall-clock µs of elapsed 0, set by run()
        self.opcua: SimulatedOpcUaServer | None = None
        self._stop = threading.Event()
        self._ledger: Any = None  # written from paho's network thread (on_publish)
        self._pending: dict[int, _Keys | None] = {}
        self._early: set[int] = set()  # PUBACKs that beat the registration of their mid
        self._lock = threading.Lock()
        self._rebirth: set[str] = set()
        self._connected = threading.Event()
        self._client: Any = None
        self._seq: dict[str, int] = {}
        self._chunk: Chunk | None = None
        self._last: dict[tuple[int, int], float] = {}  # OPC UA: last value of past chunks
        self._machine_index = {m.asset: i for i, m in enumerate(self.plant.layout.machines)}
        self._codes = {name: j for j, name in enumerate(self.plant.names)}
        from shopfloor.streaming.sparkplug import topic
        from shopfloor.streaming.topics import TopicLayout

        layout = self.plant.layout
        self._site, machine_topic = layout.site, TopicLayout().topic
        self._topics = {
            m.asset: topic(layout.site, "DDATA", m.line, m.asset)
            if config.format == "sparkplug"
            else machine_topic(site=layout.site, area=layout.area, line=m.line, machine=m.asset)
            for m in layout.machines
        }
        self._aliases = {  # unique across the edge node (the line), as the spec asks
            m.asset: {name: 100 * (m.position + 1) + j for j, name in enumerate(self.plant.names)}
            for m in layout.machines
        }

    # -- lifecycle ---------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def run(self) -> SimulateStats:
        """Publish until ``seconds`` have passed or :meth:`stop`; returns the counters."""
        chunk = self._chunk = self.plant.chunk_at(0)  # before the clock starts (imports)
        if self.config.ledger is not None:
            self._ledger = _open_ledger(self.config.ledger)
        try:
            if self.config.opcua is not None:
                self._start_opcua(self.config.opcua)
            if self.config.mqtt is not None:
                self._connect(self.config.mqtt)
                self._publish_births()  # Sparkplug: born before the first data
            self.start_us = time.time_ns() // 1_000_000 * 1000  # whole ms (Sparkplug)
            end_us = round(self.config.seconds * 1e6) if self.config.seconds else None
            self._loop(chunk, end_us)
        finally:
            self._finish()
        return self.stats

    def _loop(self, chunk: Chunk, end_us: int | None) -> None:
        b0, next_progress = 0, time.monotonic() + self.progress_s
        while not self._stop.is_set() and (end_us is None or b0 < end_us):
            b1 = b0 + self.batch_us if end_us is None else min(b0 + self.batch_us, end_us)
            if b0 >= chunk.end_us:
                if self.opcua is not None:
                    self._remember(chunk)
                chunk = self._chunk = self.plant.chunk_at(b0)
            late_us = time.time_ns() // 1000 - (self.start_us + b1)
            if late_us < 0 and self._stop.wait(-late_us / 1e6):
                break
            if late_us > self.batch_us:
                self.stats.late_batches += 1
            if self._client is not None:
                self._wait_for_room()
                self._publish_births()
                self._publish_batch(chunk, b0, b1)
            b0 = b1
            self.stats.elapsed_s = (time.time_ns() // 1000 - self.start_us) / 1e6
            if self.on_progress is not None and time.monotonic() >= next_progress:
                next_progress += self.progress_s
                self.on_progress(self.stats)

    def _finish(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            if self.config.format == "sparkplug":  # a clean goodbye: the nodes go offline
                from shopfloor.streaming.sparkplug import encode_death, topic

                for line in self.plant.layout.lines:
                    self._send(client, topic(self._site, "NDEATH", line), encode_death(0), None)
            deadline = time.monotonic() + self.config.drain_s
            while self._pending and time.monotonic() < deadline:
                time.sleep(0.02)
            client.disconnect()
            client.loop_stop()
        if self.opcua is not None:
            self.opcua.stop()
        if self._ledger is not None:
            self._ledger.close()

    # -- MQTT --------------------------------------------------------------------------
    def _connect(self, address: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from shopfloor.streaming.mqtt import split_address

        host, port = split_address(address)
        client_id = self.config.client_id or f"shopfloor-simulate-{os.getpid()}"
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id, clean_session=False)
        client.max_inflight_messages_set(1000)
        client.reconnect_delay_set(1, 10)
        client.on_connect, client.on_disconnect = self._on_connect, self._on_disconnect
        client.on_publish, client.on_message = self._on_publish, self._on_message
        try:
            client.connect(host, port, keepalive=30)
        except (OSError, ValueError) as err:
            raise ConfigError(f"cannot reach the MQTT broker at {host}:{port}: {err}") from None
        client.loop_start()
        if not self._connected.wait(10.0):
            client.loop_stop()
            raise ConfigError(f"the MQTT broker at {host}:{port} did not accept the connection")
        self._client = client
        if self.config.format == "sparkplug":
            self._rebirth.update(self.plant.layout.lines)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False):
            return
        self.stats.connects += 1
        self._connected.set()
        if self.config.format == "sparkplug":
            client.subscribe(f"spBv1.0/{self._site}/NCMD/+", qos=1)
            if self.stats.connects > 1:  # a new session: the nodes are born again (spec)
                with self._lock:
                    self._rebirth.update(self.plant.layout.lines)

    def _on_disconnect(self, *_: Any) -> None:
        self.stats.disconnects += 1
        self._connected.clear()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        from shopfloor.streaming.sparkplug import is_rebirth_request

        node = message.topic.rsplit("/", 1)[-1]
        if node in self.plant.layout.lines and is_rebirth_request(message.payload):
            self.stats.rebirth_requests += 1
            with self._lock:
                self._rebirth.add(node)

    def _on_publish(self, client: Any, userdata: Any, mid: int, *_: Any) -> None:
        with self._lock:
            if mid not in self._pending:
                self._early.add(mid)
                return
            keys = self._pending.pop(mid)
        self._acked(keys)

    def _acked(self, keys: _Keys | None) -> None:
        self.stats.acked_messages += 1
        if keys is not None:
            self.stats.acked_readings += len(keys[2])
            if self._ledger is not None:
                asset, signals, stamps = keys
                self._ledger.writelines(
                    f"{asset},{s},{t}\n" for s, t in zip(signals, stamps, strict=True)
                )

    def _send(self, client: Any, topic: str, payload: bytes, keys: _Keys | None) -> None:
        info = client.publish(topic, payload, qos=self.config.qos)
        self.stats.messages += 1
        if self.config.qos == 0:
            self._acked(keys)
            return
        with self._lock:
            early = info.mid in self._early
            if early:
                self._early.discard(info.mid)
            else:
                self._pending[info.mid] = keys
        if early:
            self._acked(keys)

    def _wait_for_room(self) -> None:
        while len(self._pending) >= self.config.max_pending and not self._stop.wait(0.05):
            pass

    def _publish_batch(self, chunk: Chunk, b0: int, b1: int) -> None:
        from shopfloor.streaming.payloads import encode_rows

        names, base = self.plant.names, self.start_us
        for i, machine in enumerate(self.plant.layout.machines):
            ts = chunk.ts[i]
            a, b = np.searchsorted(ts, [b0, b1])
            if a == b:
                continue
            stamps = (ts[a:b] + base).tolist()
            signals = [names[c] for c in chunk.code[i][a:b].tolist()]
            values = [None if math.isnan(v) else v for v in chunk.value[i][a:b].tolist()]
            if self.config.format == "sparkplug":
                payload = self._ddata(machine, signals, stamps, values)
            else:
                rows: list[tuple[int, dict[str, float | None]]] = []
                for stamp, signal, value in zip(stamps, signals, values, strict=True):
                    if not rows or rows[-1][0] != stamp:
                        rows.append((stamp, {}))
                    rows[-1][1][signal] = value
                payload = encode_rows(rows)
            self._send(
                self._client, self._topics[machine.asset], payload, (machine.asset, signals, stamps)
            )
            self.stats.readings += len(stamps)

    # -- Sparkplug ---------------------------------------------------------------------
    def _next_seq(self, line: str) -> int:
        seq = self._seq.get(line, -1) + 1
        self._seq[line] = seq % 256
        return seq % 256

    def _ddata(
        self, machine: MachineSpec, signals: list[str], stamps: list[int], values: list[Any]
    ) -> bytes:
        from shopfloor.streaming.sparkplug import encode_data

        aliases = self._aliases[machine.asset]
        metrics = [
            (aliases[s], v, t // 1000) for s, v, t in zip(signals, values, stamps, strict=True)
        ]
        return encode_data(metrics, time.time_ns() // 1_000_000, self._next_seq(machine.line))

    def _publish_births(self) -> None:
        if not self._rebirth:
            return
        from shopfloor.streaming import sparkplug as sp

        with self._lock:
            lines, self._rebirth = sorted(self._rebirth), set()
        now_ms = time.time_ns() // 1_000_000
        for line in lines:
            self._seq[line] = -1
            node = sp.encode_birth({}, now_ms, self._next_seq(line), bd_seq=0, rebirth_control=True)
            self._send(self._client, sp.topic(self._site, "NBIRTH", line), node, None)
            for machine in self.plant.layout.machines_on(line):
                metrics = {
                    n: (a, sp.DataType.Double) for n, a in self._aliases[machine.asset].items()
                }
                birth = sp.encode_birth(metrics, now_ms, self._next_seq(line))
                self._send(
                    self._client, sp.topic(self._site, "DBIRTH", line, machine.asset), birth, None
                )
            self.stats.births += 1

    # -- OPC UA ------------------------------------------------------------------------
    def _start_opcua(self, endpoint: str) -> None:
        try:
            from shopfloor.streaming.opcua_server import SimulatedOpcUaServer
        except ImportError:
            raise ConfigError("OPC UA simulation needs shopfloor.streaming.opcua_server") from None
        fast = min(s.period_s for s in (*self.plant.fast, *self.plant.slow))
        machines = {m.asset: list(self.plant.names) for m in self.plant.layout.machines}
        self.opcua = SimulatedOpcUaServer(
            endpoint, machines, rate_hz=min(10.0, max(0.1, 1.0 / fast)), value_fn=self.value_at
        )
        self.opcua.start()

    def _remember(self, chunk: Chunk) -> None:
        for i in range(len(chunk.ts)):
            for code, value in zip(chunk.code[i].tolist(), chunk.value[i].tolist(), strict=True):
                self._last[(i, code)] = value

    def value_at(self, asset: str, signal: str, t: float) -> float:
        """``asset``'s ``signal`` at wall-clock ``t`` (s) as published: the OPC UA feed."""
        chunk, i, code = self._chunk, self._machine_index.get(asset), self._codes.get(signal)
        if chunk is None or i is None or code is None or not self.start_us:
            return math.nan
        mask = chunk.code[i] == code
        at = int(np.searchsorted(chunk.ts[i][mask], round(t * 1e6) - self.start_us, "right"))
        return float(chunk.value[i][mask][at - 1]) if at else self._last.get((i, code), math.nan)


def simulate(
    config: SimulateConfig, on_progress: Progress | None = None, progress_s: float = 5.0
) -> SimulateStats:
    """Publish the demo plant live as ``config`` says; blocks until done (or Ctrl-C)."""
    simulator = Simulator(config, on_progress=on_progress, progress_s=progress_s)
    try:
        return simulator.run()
    except KeyboardInterrupt:
        simulator.stop()
        return simulator.stats
