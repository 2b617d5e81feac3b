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
import resource
import subprocess
import sys
import tempfile
import threading
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
from shopfloor.workflows.streaming import StreamOptions, run_stream

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
    """run_stream in a thread; ``committed`` follows the lake commits."""

    def __init__(self, lake: Lake, address: str, name: str) -> None:
        self.committed = 0
        self.stop = threading.Event()
        self.summary: Any = None
        options = StreamOptions(name=name, mqtt=address, commit_s=0.5)

        def progress(figures: dict[str, Any]) -> None:
            self.committed = figures["committed"]

        def run() -> None:
            self.summary = run_stream(lake, options, stop=self.stop, progress=progress)

        self.thread = threading.Thread(target=run, daemon=True)

    def start(self) -> Ingester:
        self.thread.start()
        return self

    def finish(self) -> Any:
        self.stop.set()
        self.thread.join()
        return self.summary


def drain(workdir: Path, count: int, readings: int) -> dict[str, Any]:
    broker = MosquittoBroker(workdir / "broker-drain").start()
    lake = Lake(workdir / "lake-drain", Settings(lake=workdir / "lake-drain"))
    try:
        register_session(broker, "raw-drain")
        probe = Ingester(lake, broker.address, "drain").start()  # registers its session
        broker.wait_for_subscriber("shopfloor-drain")
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
        started = time.monotonic()
        ingester = Ingester(lake, broker.address, "drain").start()
        while ingester.committed < total and time.monotonic() - started < 600:
            time.sleep(0.05)
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
        "committed": summary.committed_rows,
        "duplicates": summary.duplicates,
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
        broker.wait_for_subscriber("shopfloor-live")
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
        while ingester.committed < total and time.monotonic() - started < 600:
            time.sleep(0.05)
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
        "committed": summary.committed_rows,
        "duplicates": summary.duplicates,
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
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
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
    print(f"peak RSS of the benchmark process (ingester inside): {peak_mb:.0f} MB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"machine": machine_info(), "results": results, "peak_rss_mb": peak_mb}, indent=2
            )
        )


if __name__ == "__main__":
    main()
