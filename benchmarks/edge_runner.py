"""Edge runner benchmark: live readings over a real broker, scored on onnxruntime.

A fleet of ``--assets`` machines × ``--signals`` signals (+ the speed context) publishes
one whole-row message per machine ``--rate`` times a second (QoS 1, machine topics,
timestamps = publish time) to a local mosquitto for ``--seconds``.  The runner
(``python -m shopfloor.edge.runner``, what ``shopfloor edge run`` executes) scores them
from a bundle of models fitted here on synthetic normal data.  Halfway through, a fault
(``--fault-signals`` signals × 2) is injected for 10 s into ``--faults`` machines.

Measured: readings/s handled by the runner (its own counters over the publishing
window), the runner's CPU (seconds, and readings per CPU-second: its capacity on one
core), alert latency (alert received − publish time of the row that switched the alarm,
and − publish time of the fault's first row: detection latency, hysteresis included),
false alarms on healthy machines, the drain time (last publish → a sentinel message
handled: backlog), and the runner's peak RSS (VmHWM, the kernel's exact peak).

Usage::

    nice .venv/bin/python benchmarks/edge_runner.py --seconds 60 --json out.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pandas as pd
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, MemoryPeak, fmt_table, machine_info
from shopfloor.edge.bundle import write_bundle
from shopfloor.maintenance.condition import ConditionMonitor
from shopfloor.maintenance.live import AlarmRules, LiveModel
from shopfloor.streaming.broker import MosquittoBroker


class Plant:
    """Signals that follow the speed with per-signal gain and noise (seeded)."""

    def __init__(self, assets: int, signals: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.names = [f"M{i:03d}" for i in range(assets)]
        self.signals = [f"s{k}" for k in range(signals)]
        self.base = rng.uniform(1.0, 50.0, (assets, signals))
        self.gain = rng.uniform(0.2, 1.0, (assets, signals))
        self.noise = rng.uniform(0.01, 0.04, (assets, signals))
        self.rng = rng

    def rows(self, asset: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        speed = np.where(self.rng.random(n) < 0.8, 1500.0, 600.0)
        speed = speed * (1 + 0.01 * self.rng.standard_normal(n))
        level = self.base[asset] * (1 + self.gain[asset] * speed[:, None] / 1500.0)
        noise = 1 + self.noise[asset] * self.rng.standard_normal((n, len(self.signals)))
        return speed, level * noise


def fit_bundle(plant: Plant, out: Path, train_rows: int) -> list[LiveModel]:
    index = pd.date_range("2026-01-01", periods=train_rows, freq="10min", tz="UTC")
    models = []
    for i, name in enumerate(plant.names):
        speed, values = plant.rows(i, train_rows)
        frame = pd.DataFrame(values, index=index, columns=plant.signals)
        frame.insert(0, "speed", speed)
        monitor = ConditionMonitor(min_threshold=3.0).fit(frame)
        models.append(LiveModel.from_monitor(name, monitor))
    write_bundle(out, models, source={"name": "benchmark", "version": 1}, rules=AlarmRules())
    return models


def _client(broker: MosquittoBroker, name: str) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=name)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _wait_for(path: Path, text: str, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {text!r} in the runner log: {path.read_text()[-2000:]}")
        time.sleep(0.01)
    return time.time()


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(args: argparse.Namespace) -> dict[str, Any]:
    plant = Plant(args.assets, args.signals, args.seed)
    work = Path(tempfile.mkdtemp(prefix="edge-bench-"))
    started = time.perf_counter()
    fit_bundle(plant, work / "bundle", args.train)
    fit_s = time.perf_counter() - started
    faulty = list(range(0, args.assets, max(args.assets // max(args.faults, 1), 1)))[: args.faults]
    fault_cols = list(range(args.fault_signals))
    alerts: list[tuple[float, dict[str, Any]]] = []
    with MosquittoBroker(work / "broker") as broker:
        log = work / "runner.log"
        cmd = [
            sys.executable, "-m", "shopfloor.edge.runner", "--model", str(work / "bundle"),
            "--mqtt", broker.address, "--json", "--flush-s", "1",
        ]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        with log.open("w") as err:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO, env=env
            )
        listener = _client(broker, "bench-alerts")
        listener.on_message = lambda c, u, m: alerts.append((time.time(), json.loads(m.payload)))
        listener.subscribe("shopfloor/alerts/#", qos=1)
        _wait_for(log, "subscribed to", 60)
        publisher = _client(broker, "bench-plant")
        topics = [f"plant/hall/l1/{name}" for name in plant.names]
        ticks = int(args.seconds * args.rate)
        fault_from, fault_to = ticks // 2, ticks // 2 + int(10 * args.rate)
        first_fault_wall: float | None = None
        published = 0
        with MemoryPeak([proc.pid], interval=0.2) as mem:
            t0 = time.monotonic()
            for tick in range(ticks):
                target = t0 + tick / args.rate
                if (pause := target - time.monotonic()) > 0:
                    time.sleep(pause)
                now = time.time()
                ts_ms = int(now * 1000)
                for i, topic in enumerate(topics):
                    speed, values = plant.rows(i, 1)
                    if i in faulty and fault_from <= tick < fault_to:
                        speed[0] = 1500.0  # at full speed: every faulty row is scored
                        values[0, fault_cols] *= 2.0
                        first_fault_wall = first_fault_wall or now
                    row = dict(zip(plant.signals, values[0].round(4).tolist(), strict=True))
                    row["speed"] = round(float(speed[0]), 2)
                    payload = json.dumps({"ts": ts_ms, "values": row}, separators=(",", ":"))
                    publisher.publish(topic, payload, qos=1)
                    published += len(row)
            publish_s = time.monotonic() - t0
            last_publish = time.time()
            publisher.publish(topics[0], b"sentinel", qos=1)
            drained = _wait_for(log, "malformed payload #1", 120)
            hwm = _vm_hwm_mb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        for client in (publisher, listener):
            client.loop_stop()
            client.disconnect()
    stats = json.loads(out.strip().splitlines()[-1])
    raised = [(t, a) for t, a in alerts if a["kind"] == "raised"]
    names = {plant.names[i] for i in faulty}
    true = [(t, a) for t, a in raised if a["asset"] in names]
    switch = [
        t - dt.datetime.fromisoformat(a["ts"]).timestamp() for t, a in true
    ]  # alert received − publish of the row that raised it
    detect = [t - first_fault_wall for t, _ in true] if first_fault_wall else []
    cpu = mem.cpu_s
    return {
        "assets": args.assets,
        "signals_per_asset": args.signals,
        "rows_per_s_per_asset": args.rate,
        "seconds": round(publish_s, 1),
        "fit_s": round(fit_s, 1),
        "readings_published": published,
        "readings_handled": stats["readings"],
        "readings_per_s": round(stats["readings"] / publish_s),
        "rows_scored": stats["scored_rows"],
        "model_runs": stats["model_runs"],
        "runner_cpu_s": round(cpu, 1),
        "runner_cpu_pct": round(100 * cpu / publish_s, 1),
        "readings_per_cpu_s": round(stats["readings"] / cpu) if cpu else None,
        "drain_s": round(drained - last_publish, 3),
        "faulty_assets": len(names),
        "alerts_raised_faulty": len({a["asset"] for _, a in true}),
        "false_alarms": len(raised) - len(true),
        "alert_latency_ms_median": round(1000 * float(np.median(switch)), 1) if switch else None,
        "alert_latency_ms_max": round(1000 * float(np.max(switch)), 1) if switch else None,
        "detection_latency_ms_median": round(1000 * float(np.median(detect)), 1)
        if detect
        else None,
        "peak_rss_mb_vmhwm": round(hwm, 1),
        "peak_rss_mb_sampled": round(mem.peak_rss / 2**20, 1),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=50)
    parser.add_argument("--signals", type=int, default=8, help="signals per asset")
    parser.add_argument("--rate", type=float, default=10.0, help="rows per second per asset")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--train", type=int, default=600, help="training rows per asset")
    parser.add_argument("--faults", type=int, default=5, help="machines that develop a fault")
    parser.add_argument("--fault-signals", type=int, default=5, help="signals × 2 in a fault")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the result here too")
    args = parser.parse_args()
    result = run(args)
    payload = {
        "benchmark": "edge_runner",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "result": result,
    }
    print(fmt_table(["figure", "value"], [[k, v] for k, v in result.items()]))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
