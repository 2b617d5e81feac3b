"""The edge runner: row assembly and alarms in-process, then for real over mosquitto."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from shopfloor.edge.bundle import write_bundle
from shopfloor.edge.runner import EdgeRunner
from shopfloor.maintenance.live import AlarmRules, live_scores
from shopfloor.streaming.broker import MosquittoBroker
from tests.edge.fleet import SIGNALS, faulty, live_model, machine_rows

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
RULES = AlarmRules(on_after=3, off_after=5)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("edge") / "bundle"
    models = [live_model("M1", 1), live_model("M2", 2)]
    return write_bundle(out, models, source={"name": "condition", "version": 1}, rules=RULES)


def _row(ts_ms: int, values: dict[str, float]) -> bytes:
    return json.dumps({"ts": ts_ms, "values": values}).encode()


def _rows(frame: Any, start: int) -> list[tuple[int, dict[str, float]]]:
    return [
        (T0_MS + (start + i) * 1000, {k: float(v) for k, v in row.items()})
        for i, (_, row) in enumerate(frame.iterrows())
    ]


# -- in-process: no broker needed for the assembly rules ------------------------------------
def test_rows_are_cut_at_each_new_timestamp(bundle: Path) -> None:
    runner = EdgeRunner(bundle, "127.0.0.1:1", flush_s=60)
    data = machine_rows(seed=7, rows=4)
    rows = _rows(data, 0)
    for name, value in rows[0][1].items():  # one topic per signal, all at t0
        runner.handle(f"s/a/l/M2/{name}", json.dumps({"ts": rows[0][0], "value": value}).encode())
    assert runner.stats.rows == 0 and runner.stats.readings == 5  # t0 may still grow
    runner.handle("s/a/l/M2/speed", json.dumps({"ts": rows[1][0], "value": 1500.0}).encode())
    assert runner.stats.rows == 1  # a newer reading completes t0
    runner.handle("s/a/l/M2/speed", json.dumps({"ts": rows[0][0], "value": 1.0}).encode())
    assert runner.stats.late_readings == 1
    runner.flush(0.0)
    assert runner.stats.rows == 2  # the idle row, with the other signals held from t0
    # A gateway's batch of whole rows: complete on arrival, scored in one model run.
    runs = runner.stats.model_runs
    batch = [{"ts": ts, "values": v} for ts, v in rows[2:]]
    runner.handle("s/a/l/M2", json.dumps(batch).encode())
    assert runner.stats.rows == 4 and runner.stats.model_runs == runs + 1
    assert runner.stats.scored_rows == 4


def test_bad_messages_are_counted_not_fatal(bundle: Path) -> None:
    runner = EdgeRunner(bundle, "127.0.0.1:1")
    for payload in (b"{not json", b'{"values": 5}', b'{"ts": 1, "values": {"speed": 1}}'):
        assert runner.handle("s/a/l/M1", payload) == []
    runner.handle("too/short", b"1")
    runner.handle("s/a/l/M9", _row(T0_MS, {"speed": 1.0}))
    runner.handle("s/a/l/M1", _row(T0_MS, {"speed": 1500.0, "oil": 3.0}))
    stats = runner.stats
    assert (stats.malformed, stats.unknown_topic, stats.unknown_asset) == (3, 1, 1)
    assert stats.ignored_readings == 1 and stats.rows == 1


def test_fault_raises_then_clears_with_the_worn_signal_named(bundle: Path) -> None:
    runner = EdgeRunner(bundle, "127.0.0.1:1")
    normal = machine_rows(seed=11, rows=40)
    normal = normal[normal["speed"] > 1000]  # full speed: the fault shows in every row
    fault = faulty(normal.iloc[10:14])
    changes = []
    for ts, values in _rows(normal.iloc[:10], 0) + _rows(fault, 10) + _rows(normal, 20):
        changes += runner.handle("s/a/l/M1", _row(ts, values))
    assert [(c.asset, c.kind) for c in changes] == [("M1", "raised"), ("M1", "cleared")]
    raised = changes[0]
    model = live_model("M1", 1)
    score, sigma = live_scores(model, fault[list(SIGNALS)], fault["speed"])
    first = 0 if score[0] > RULES.upper_factor * model.threshold else RULES.on_after - 1
    assert raised.ts_us == (T0_MS + (10 + first) * 1000) * 1000
    assert raised.top[0][0] == "vibration" == SIGNALS[int(np.argmax(np.abs(sigma[first])))]
    assert raised.score == pytest.approx(score[first], rel=1e-12)


# -- for real: a subprocess through `shopfloor edge run`, a real broker ---------------------
def _client(broker: MosquittoBroker, name: str) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=name)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _wait_for(path: Path, text: str, proc: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        assert proc.poll() is None, path.read_text(errors="replace")
        assert time.monotonic() < deadline, f"no {text!r} in: {path.read_text()}"
        time.sleep(0.05)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_runner_over_mosquitto(bundle: Path, broker: MosquittoBroker, tmp_path: Path) -> None:
    alerts: queue.Queue[dict[str, Any]] = queue.Queue()
    listener = _client(broker, "test-alerts")
    listener.on_message = lambda c, u, m: alerts.put(json.loads(m.payload))
    listener.subscribe("shopfloor/alerts/#", qos=1)
    log = tmp_path / "runner.log"
    code = "import sys; from shopfloor.cli.edge_cmd import app; sys.exit(app())"
    cmd = [sys.executable, "-c", code, "run", "--model", str(bundle), "--mqtt", broker.address]
    with log.open("w") as err:
        proc = subprocess.Popen(
            [*cmd, "--json", "--flush-s", "0.3"], stdout=subprocess.PIPE, stderr=err, text=True
        )
    publisher = None
    try:
        _wait_for(log, "subscribed to", proc, timeout=30)
        publisher = _client(broker, "test-plant")

        def send(topic: str, payload: bytes) -> None:
            publisher.publish(topic, payload, qos=1).wait_for_publish(5)

        normal = machine_rows(seed=11, rows=40)
        normal = normal[normal["speed"] > 1000]
        for ts, values in _rows(normal.iloc[:10], 0):  # M2 one topic per signal
            for name, value in values.items():
                send(f"plant/hall/l1/M2/{name}", json.dumps({"ts": ts, "value": value}).encode())
        for payload in (b"\xff\xfe", b"[]", b'{"ts": "yesterday", "values": {"speed": 1}}'):
            send("plant/hall/l1/M1", payload)
        send("plant/hall/l1/M7", _row(T0_MS, {"speed": 1.0}))
        for ts, values in _rows(normal.iloc[:10], 0) + _rows(faulty(normal.iloc[10:16]), 10):
            send("plant/hall/l1/M1", _row(ts, values))
        raised = alerts.get(timeout=15)
        assert (raised["asset"], raised["kind"], raised["source"]) == ("M1", "raised", "edge")
        assert raised["signals"][0]["signal"] == "vibration"
        assert raised["score"] > raised["threshold"] and raised["ts"].startswith("2026-01-01T")
        for ts, values in _rows(normal.iloc[16:], 16):
            send("plant/hall/l1/M1", _row(ts, values))
        cleared = alerts.get(timeout=15)
        assert (cleared["asset"], cleared["kind"]) == ("M1", "cleared")
        # Sent last: once logged, every message before it has been handled (one
        # publisher, one subscription: the broker keeps their order).
        send("plant/hall/l1/M1", b"sentinel")
        _wait_for(log, "malformed payload #4", proc, timeout=15)
        peak_mb = _peak_rss_mb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for client in (listener, publisher):
            if client is not None:
                client.loop_stop()
                client.disconnect()
    assert proc.returncode == 0, log.read_text()
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["malformed"] == 4 and stats["unknown_asset"] == 1
    assert (stats["raised"], stats["cleared"]) == (1, 1)  # nothing for the healthy M2
    assert stats["rows"] == 10 + len(normal) and stats["connects"] == 1
    assert alerts.empty()
    assert peak_mb < 200, f"peak RSS {peak_mb:.0f} MB"


def test_runner_stays_light_and_refuses_a_bad_bundle(tmp_path: Path) -> None:
    code = (
        "import sys, shopfloor.edge.runner; print([m for m in ('pandas', 'pyarrow', 'duckdb', "
        "'deltalake', 'sklearn', 'torch', 'onnx', 'shopfloor.lake', 'shopfloor.registry', "
        "'shopfloor.workflows') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    cmd = "import sys; from shopfloor.cli.edge_cmd import app; sys.exit(app())"
    bad = subprocess.run(
        [sys.executable, "-c", cmd, "run", "--model", str(tmp_path), "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert (
        bad.stderr.strip()
        == f"error: {tmp_path / 'manifest.json'}: no manifest: not an edge bundle directory"
    )


def test_runner_reconnects_after_a_broker_restart(
    bundle: Path, broker: MosquittoBroker, tmp_path: Path
) -> None:
    log = tmp_path / "runner.log"
    cmd = [sys.executable, "-m", "shopfloor.edge.runner", "--model", str(bundle)]
    with log.open("w") as err:
        proc = subprocess.Popen(
            [*cmd, "--mqtt", broker.address, "--json"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    listener = publisher = None
    try:
        _wait_for(log, "subscribed to", proc, timeout=30)
        broker.restart()
        deadline = time.monotonic() + 30
        while log.read_text().count("subscribed to") < 2:  # paho's backoff starts at 1 s
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.05)
        alerts: queue.Queue[dict[str, Any]] = queue.Queue()
        listener = _client(broker, "test-alerts")
        listener.on_message = lambda c, u, m: alerts.put(json.loads(m.payload))
        subscribed = threading.Event()
        listener.on_subscribe = lambda *_: subscribed.set()
        listener.subscribe("shopfloor/alerts/#", qos=1)
        assert subscribed.wait(10)
        publisher = _client(broker, "test-plant")
        rows = machine_rows(seed=11, rows=40)
        rows = faulty(rows[rows["speed"] > 1000].iloc[:5])
        for ts, values in _rows(rows, 0):
            publisher.publish("p/h/l/M2", _row(ts, values), qos=1).wait_for_publish(5)
        assert alerts.get(timeout=15)["asset"] == "M2"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for client in (listener, publisher):
            if client is not None:
                client.loop_stop()
                client.disconnect()
    assert json.loads(out.strip().splitlines()[-1])["connects"] == 2
