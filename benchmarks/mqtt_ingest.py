"""MQTT ingest into the lake vs mosquitto_sub, through a real mosquitto, in the same run.

Two measurements, both with QoS 1 and persistent sessions, for each payload size
(``--readings-per-message``, whole-row JSON messages of 10 signals):

- **live**: a paced publisher (``--rate`` readings/s, paho) publishes for ``--seconds``
  while ``mosquitto_sub`` and ``shopfloor stream`` are both subscribed; each one's
  delivered rate is measured over the same window.  This is the sustained case: does
  the ingester keep up with what the broker delivers?
- **drain**: the broker holds ``--messages`` queued messages for each of the two
  (published once while both were offline); each drains its queue alone, as fast as it
  can.  This is each consumer's ceiling: mosquitto_sub (C, discards the data) against
  the ingester (Python: decode, de-duplicate, fsync to the spool, acknowledge, commit
  to Delta).  The ingester's time runs until the last reading is committed to the lake.

Usage::

    .venv/bin/python benchmarks/mqtt_ingest.py --json .bench/results/mqtt-ingest.json
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from common import fmt_table, machine_info
from shopfloor.config import Settings
from shopfloor.lake import Lake
from shopfloor.streaming.broker import MosquittoBroker
from shopfloor.streaming.payloads import encode_rows

T0_US = 1_764_000_000_000_000
SIGNALS = [f"s{i}" for i in range(10)]
ASSETS = [f"M{i:02d}" for i in range(50)]


def messages(count: int, readings: int, start: int = 0) -> list[tuple[str, bytes]]:
    rows = max(1, readings // len(SIGNALS))
    out = []
    for m in range(start, start + count):
        asset = ASSETS[m % len(ASSETS)]
        base = T0_US + (m // len(ASSETS)) * rows * 1000
        payload = encode_rows(
            [
                (base + r * 1000, {s: 50.0 + (m + r + i) % 7 for i, s in enumerate(SIGNALS)})
                for r in range(rows)
            ]
        )
        out.append((f"P1/A/L1/{asset}", payload))
    return out


def publisher(broker: MosquittoBroker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def register_session(broker: MosquittoBroker, client_id: str) -> None:
    subprocess.run(
        [
            "mosquitto_sub",
            "-h",
            broker.host,
            "-p",
            str(broker.port),
            "-i",
            client_id,
            "-c",
            "-q",
            "1",
            "-t",
            "P1/#",
            "-W",
            "1",
        ],
        capture_output=True,
        check=False,
    )


def raw_sub(broker: MosquittoBroker, count: int, client_id: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            broker.host,
            "-p",
            str(broker.port),
            "-i",
            client_id,
            "-c",
            "-q",
            "1",
            "-t",
            "P1/#",
            "-C",
            str(count),
        ],
        stdout=subprocess.DEVNULL,
    )


class Ingester:
    """`shopfloor stream` in its own process (its own GIL, as in production).

    ``committed`` reads the row count of this stream's commits from the Delta log.
    """

    def __init__(self, lake: Lake, address: str, name: str) -> None:
        self.lake = lake
        self.name = name
        self.address = address
        self.process: subprocess.Popen[bytes] | None = None
        self._table: Any = None

    def start(self) -> Ingester:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shopfloor.cli.main",
                "stream",
                "--lake",
                str(self.lake.path),
                "--mqtt",
                self.address,
                "--name",
                self.name,
                "--commit-s",
                "0.5",
                "--quiet",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        return self

    @property
    def committed(self) -> int:
        from deltalake import DeltaTable

        path = self.lake.table_path("readings")
        if not (path / "_delta_log").exists():
            return 0
        if self._table is None:
            self._table = DeltaTable(str(path))
        else:
            self._table.update_incremental()  # reads only the new commits
        actions = self._table.get_add_actions(flatten=True)
        return int(sum(n or 0 for n in actions.column("num_records").to_pylist()))

    def peak_rss_mb(self) -> float:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
        return kb / 1024

    def finish(self) -> dict[str, Any]:
        assert self.process is not None
        self.peak_mb = self.peak_rss_mb()
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=120)
        return dict(json.loads(out))

    def wait_for(self, rows: int, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while self.committed < rows and time.monotonic() < deadline:
            time.sleep(0.25)


def drain(workdir: Path, count: int, readings: int) -> dict[str, Any]:
    broker = MosquittoBroker(workdir / "broker-drain").start()
    lake = Lake(workdir / "lake-drain", Settings(lake=workdir / "lake-drain"))
    try:
        register_session(broker, "raw-drain")
        probe = Ingester(lake, broker.address, "drain").start()  # registers its session
        broker.wait_for_subscriber("shopfloor-drain", timeout=60)
        probe.finish()
        client = publisher(broker)
        infos = [client.publish(t, p, qos=1) for t, p in messages(count, readings)]
        for info in infos:
            info.wait_for_publish()
        client.disconnect()
        client.loop_stop()
        total = count * (readings // len(SIGNALS)) * len(SIGNALS)
        started = time.monotonic()
        raw = raw_sub(broker, count, "raw-drain")
        raw.wait()
        raw_s = time.monotonic() - started
        ingester = Ingester(lake, broker.address, "drain").start()
        # timed from the subscription: the process start-up (imports) is not ingest
        broker.wait_for_subscriber("shopfloor-drain", timeout=60, times=2)
        started = time.monotonic()
        ingester.wait_for(total)
        ours_s = time.monotonic() - started
        summary = ingester.finish()
    finally:
        broker.stop()
    return {
        "mode": "drain",
        "messages": count,
        "readings_per_message": total // count,
        "raw_msgs_s": count / raw_s,
        "raw_readings_s": total / raw_s,
        "ours_msgs_s": count / ours_s,
        "ours_readings_s": total / ours_s,
        "ratio": raw_s / ours_s,
        "committed": summary["committed_rows"],
        "ingester_peak_rss_mb": ingester.peak_mb,
        "duplicates": summary["duplicates"],
    }


def live(workdir: Path, rate: float, seconds: float, readings: int) -> dict[str, Any]:
    broker = MosquittoBroker(workdir / "broker-live").start()
    lake = Lake(workdir / "lake-live", Settings(lake=workdir / "lake-live"))
    per = (readings // len(SIGNALS)) * len(SIGNALS)
    msg_rate = rate / per
    count = int(msg_rate * seconds)
    try:
        register_session(broker, "raw-live")
        ingester = Ingester(lake, broker.address, "live").start()
        broker.wait_for_subscriber("shopfloor-live", timeout=60)
        raw = raw_sub(broker, count, "raw-live")
        payloads = messages(count, readings)
        client = publisher(broker)
        started = time.monotonic()
        for n, (topic, payload) in enumerate(payloads):
            client.publish(topic, payload, qos=1)
            delay = started + (n + 1) / msg_rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        published_s = time.monotonic() - started
        raw.wait(timeout=600)
        raw_s = time.monotonic() - started
        total = count * per
        ingester.wait_for(total)
        ours_s = time.monotonic() - started
        summary = ingester.finish()
        client.disconnect()
        client.loop_stop()
    finally:
        broker.stop()
    return {
        "mode": "live",
        "messages": count,
        "readings_per_message": per,
        "offered_readings_s": count * per / published_s,
        "raw_msgs_s": count / raw_s,
        "raw_readings_s": count * per / raw_s,
        "ours_msgs_s": count / ours_s,
        "ours_readings_s": count * per / ours_s,
        "ratio": raw_s / ours_s,
        "committed": summary["committed_rows"],
        "ingester_peak_rss_mb": ingester.peak_mb,
        "duplicates": summary["duplicates"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings-per-message", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--rate", type=float, default=60_000, help="live: readings/s offered")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--drain-readings", type=int, default=1_500_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, readings in enumerate(args.readings_per_message):
            work = Path(tmp) / f"run{n}"
            results.append(live(work, args.rate, args.seconds, readings))
            print(json.dumps(results[-1]), flush=True)
            count = max(100, args.drain_readings // readings)
            results.append(drain(work, count, readings))
            print(json.dumps(results[-1]), flush=True)
    peak_mb = max(r["ingester_peak_rss_mb"] for r in results)
    headers = [
        "mode",
        "readings/msg",
        "mosquitto_sub msg/s",
        "readings/s",
        "shopfloor msg/s",
        "readings/s",
        "ratio",
        "dupes",
    ]
    rows = [
        [
            r["mode"],
            r["readings_per_message"],
            round(r["raw_msgs_s"]),
            round(r["raw_readings_s"]),
            round(r["ours_msgs_s"]),
            round(r["ours_readings_s"]),
            f"{r['ratio']:.0%}",
            r["duplicates"],
        ]
        for r in results
    ]
    print(fmt_table(headers, rows))
    print(f"peak RSS of the ingester process: {peak_mb:.0f} MB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"machine": machine_info(), "results": results, "peak_rss_mb": peak_mb}, indent=2
            )
        )


if __name__ == "__main__":
    main()
