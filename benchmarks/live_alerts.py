"""Publish → alert latency of live scoring in `shopfloor stream --score`, at 10,000 readings/s.

50 machines × (speed + 4 signals) × 40 rows/s = 10,000 readings/s through a local
mosquitto, one whole-row JSON message per machine every 100 ms (4 rows).  The lake holds
a registered condition fleet fitted on synthetic normal data; `shopfloor stream --score`
runs in its own process (ingest to the lake, exactly once, and live scoring).  Every
``--fault-every`` seconds one machine, round robin, gets a faulty last row (three of four
signals × 5); the latency is the time from that message's publish call to the alert
arriving (a) on ``shopfloor/alerts/#`` at a subscriber in this process and (b) as a
``live`` event on the SSE stream of a running ``shopfloor serve`` (``server.mqtt`` set),
read by an HTTP client in this process: one clock for all three.

Usage::

    .venv/bin/python benchmarks/live_alerts.py --seconds 60 --json .bench/results/live-alerts.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import paho.mqtt.client as mqtt
import pandas as pd
from paho.mqtt.enums import CallbackAPIVersion

from common import fmt_table, machine_info
from shopfloor.config import Settings
from shopfloor.lake import Lake
from shopfloor.maintenance.condition import ConditionMonitor, FleetConditionMonitor
from shopfloor.registry import ModelRegistry
from shopfloor.streaming.broker import MosquittoBroker
from shopfloor.streaming.payloads import encode_rows

SIGNALS = ("vibration", "acoustic", "current", "temp")
GAIN = {"vibration": (2.0, 1.2), "acoustic": (60.0, 0.5), "current": (10.0, 0.9), "temp": (40, 0.1)}


def normal_rows(rng: np.random.Generator, n: int) -> pd.DataFrame:
    speed = 1500 * rng.uniform(0.5, 1.0, n)
    data = {"speed": speed}
    for name, (scale, power) in GAIN.items():
        data[name] = scale * (speed / 1500) ** power * (1 + 0.02 * rng.standard_normal(n))
    return pd.DataFrame(data, index=pd.date_range("2026-01-01", periods=n, freq="10min", tz="UTC"))


def register(lake: Lake, assets: list[str], rng: np.random.Generator) -> None:
    """The machines in the asset registry (site P1) and a condition fleet for them."""
    from shopfloor.workflows.ingest import ingest

    registry = Path(lake.path).parent / "assets.csv"
    registry.write_text("asset,level,site\n" + "".join(f"{a},machine,P1\n" for a in assets))
    ingest(lake, [registry], "assets")
    frame = pd.concat(normal_rows(rng, 600).assign(asset=a) for a in assets)
    fleet = FleetConditionMonitor(template=ConditionMonitor(min_threshold=3.0)).fit(frame)
    ModelRegistry.for_lake(lake.path).register("condition", fleet, stage="production")


QUANTILES = (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))


def match(faults: list[tuple[str, float]], seen: dict[str, list[float]]) -> tuple[list[float], int]:
    """Latency (ms) of the first alert of each fault's asset after the fault was sent."""
    latencies: list[float] = []
    missed = 0
    used: dict[str, int] = {}
    for asset, sent in faults:
        times = seen.get(asset, [])
        i = used.get(asset, 0)
        while i < len(times) and times[i] < sent:
            i += 1
        # an alert more than 5 s later belongs to a later fault: this one was missed
        if i < len(times) and times[i] - sent < 5.0:
            latencies.append((times[i] - sent) * 1000)
            used[asset] = i + 1
        else:
            missed += 1
    return latencies, missed


def start_sse(
    lake: Lake, broker: MosquittoBroker, tmp: Path
) -> tuple[subprocess.Popen[bytes], dict[str, list[float]]]:
    """`shopfloor serve` relaying the broker's alerts, and an SSE reader thread."""
    import os
    import threading

    import httpx

    from shopfloor.streaming.broker import free_port, wait_for_port
    from shopfloor.workflows.access import access_store

    store = access_store(lake)
    store.add_user("bench", "bench password 123", "admin", None)
    token = store.issue_token("bench", expires_in_s=3600, label="bench").secret
    port = free_port()
    env = {**os.environ, "SHOPFLOOR_SERVER__MQTT": broker.address}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopfloor.cli.main",
            "serve",
            "--lake",
            str(lake.path),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "serve.log").open("wb"),
    )
    wait_for_port("127.0.0.1", port, timeout=60)
    arrivals: dict[str, list[float]] = {}
    connected = threading.Event()

    def read() -> None:
        url = f"http://127.0.0.1:{port}/api/alerts/stream"
        headers = {"Authorization": f"Bearer {token}"}
        event = ""
        try:
            with httpx.stream("GET", url, headers=headers, timeout=None) as response:
                for line in response.iter_lines():
                    connected.set()
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "live":
                        alert = json.loads(line[6:])
                        if alert["kind"] == "raised":
                            arrivals.setdefault(alert["asset"], []).append(time.monotonic())
        except httpx.HTTPError:
            return  # the server went away at the end of the run

    threading.Thread(target=read, daemon=True).start()
    connected.wait(60)
    return server, arrivals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--rows-per-s", type=int, default=40)
    parser.add_argument("--fault-every", type=float, default=0.25)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    assets = [f"M{i:02d}" for i in range(args.machines)]
    rows_per_msg = max(1, args.rows_per_s // 10)
    with tempfile.TemporaryDirectory() as tmp, MosquittoBroker(Path(tmp) / "broker") as broker:
        lake = Lake(Path(tmp) / "lake", Settings(lake=Path(tmp) / "lake"))
        register(lake, assets, rng)
        log = Path(tmp) / "stream.log"
        stream = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shopfloor.cli.main",
                "stream",
                "--lake",
                str(lake.path),
                "--mqtt",
                broker.address,
                "--score",
                "--quiet",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=log.open("wb"),
        )
        broker.wait_for_subscriber("shopfloor-default", timeout=60)
        server, sse_arrivals = start_sse(lake, broker, Path(tmp))
        arrivals: dict[str, list[float]] = {}
        listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="alert-listener")

        def on_alert(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
            alert = json.loads(message.payload)
            if alert["kind"] == "raised":
                arrivals.setdefault(alert["asset"], []).append(time.monotonic())

        listener.on_message = on_alert
        listener.connect(broker.host, broker.port)
        listener.subscribe("shopfloor/alerts/#", qos=1)
        listener.loop_start()
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="plant")
        publisher.max_inflight_messages_set(1000)
        publisher.connect(broker.host, broker.port)
        publisher.loop_start()
        pool = normal_rows(rng, 20_000)
        faults: list[tuple[str, float]] = []
        next_fault, victim, tick, readings = 0.0, 0, 0, 0
        start_us = time.time_ns() // 1000
        started = time.monotonic()
        while time.monotonic() - started < args.seconds:
            due_fault = time.monotonic() - started >= next_fault
            fault_asset = assets[victim % len(assets)] if due_fault else None
            for a, asset in enumerate(assets):
                base = ((tick * len(assets) + a) * rows_per_msg) % (len(pool) - rows_per_msg)
                frame = pool.iloc[base : base + rows_per_msg].copy()
                if asset == fault_asset:
                    for name in ("vibration", "acoustic", "current"):
                        frame.iloc[-1, frame.columns.get_loc(name)] *= 5.0
                ts0 = start_us + tick * 100_000
                rows = [
                    (ts0 + r * (100_000 // rows_per_msg), {k: float(v) for k, v in rec.items()})
                    for r, rec in enumerate(frame.to_dict("records"))
                ]
                publisher.publish(f"P1/A/L1/{asset}", encode_rows(rows), qos=1)
                readings += len(rows) * 5
                if asset == fault_asset:
                    faults.append((asset, time.monotonic()))
            if due_fault:
                victim += 1
                next_fault += args.fault_every
            tick += 1
            delay = started + tick * 0.1 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        elapsed = time.monotonic() - started
        time.sleep(2.0)
        stream.terminate()
        server.terminate()
        server.wait(timeout=60)
        out, _ = stream.communicate(timeout=120)
        summary = json.loads(out)
        listener.loop_stop()
        publisher.loop_stop()
    result: dict[str, Any] = {
        "machine": machine_info(),
        "readings_per_s": readings / elapsed,
        "faults": len(faults),
        "stream": summary,
    }
    rows = []
    for channel, seen in (("mqtt", arrivals), ("sse", sse_arrivals)):
        latencies, missed = match(faults, seen)
        lat = np.array(latencies)
        figures = {q: float(np.percentile(lat, p)) for q, p in QUANTILES} if len(lat) else {}
        result[channel] = {
            "alerts_matched": len(latencies),
            "missed": missed,
            "alerts_total": sum(len(v) for v in seen.values()),
            "latency_ms": figures,
        }
        rows.append(
            [channel, round(result["readings_per_s"]), len(faults), len(latencies), missed]
            + ([round(v, 1) for v in figures.values()] if figures else ["-"] * 4)
        )
    headers = ["channel", "readings/s", "faults", "alerts", "missed"]
    print(fmt_table([*headers, "p50 ms", "p95 ms", "p99 ms", "max ms"], rows))
    print(f"stream: {summary['committed_rows']:,} readings committed, {summary['alerts']} alerts")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
