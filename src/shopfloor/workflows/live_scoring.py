"""Live scoring inside the lake's stream ingester: registry model → alerts on MQTT and in the lake.

The registered condition model is exported to an edge bundle (the same ONNX graphs and
row-assembly rules the edge runner uses, so a plant gets the same alarms at the edge and
in the lake) and fed the readings the MQTT/OPC UA ingester has just spooled: decoded
once, no second subscription.  Scoring runs on its own thread behind a queue, so a slow
model never holds up acknowledgements to the broker.  Alarm changes are published on
the alert topic at once (that is the latency that counts) and then written to the
lake's ``alerts`` table by a second thread, where the inbox, the API and the dashboard's
SSE stream see them.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shopfloor.edge.runner import EdgeRunner, iso
from shopfloor.lake import Lake
from shopfloor.maintenance.live import AlarmChange
from shopfloor.streaming.records import ReadingBatch


@dataclass
class LiveStats:
    batches: int = 0
    alerts: int = 0
    cleared: int = 0
    stored: int = 0
    dropped_batches: int = 0  # queue full: scoring could not keep up (ingest unaffected)


def _split(batch: ReadingBatch) -> dict[str, ReadingBatch]:
    first = batch.asset[0]
    if all(a == first for a in batch.asset):
        return {first: batch}
    out: dict[str, ReadingBatch] = {}
    for i, asset in enumerate(batch.asset):
        out.setdefault(asset, ReadingBatch()).append(
            asset, batch.signal[i], batch.ts_us[i], batch.value[i], batch.quality[i]
        )
    return out


class LiveScoring:
    """Queue → edge runner (publish-only MQTT client) → alerts table."""

    def __init__(
        self, lake: Lake, runner: EdgeRunner, *, publish: bool = True, max_queue: int = 10_000
    ) -> None:
        self.lake = lake
        self.runner = runner
        self.publish = publish  # False: no broker to publish to (alerts go to the lake only)
        self.store_every_s = 1.0
        self._raised: dict[str, int] = {}
        self.stats = LiveStats()
        self._queue: queue.Queue[ReadingBatch | None] = queue.Queue(max_queue)
        self._alerts: queue.Queue[tuple[AlarmChange, int] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    @classmethod
    def from_registry(
        cls,
        lake: Lake,
        *,
        model: str = "condition",
        mqtt: str | None = None,
        alert_topic: str = "shopfloor/alerts/{asset}",
        bundle_dir: Path | None = None,
    ) -> LiveScoring:
        from shopfloor.workflows.edge import export_edge_bundle

        target = bundle_dir or lake.path / ".spool" / "live-bundle"
        export_edge_bundle(lake, target, model_name=model, overwrite=True)
        runner = EdgeRunner(
            target,
            mqtt or "127.0.0.1:1883",
            alert_topic=alert_topic,
            subscribe=False,
            origin="lake",
        )
        return cls(lake, runner, publish=mqtt is not None)

    def submit(self, batch: ReadingBatch, received_us: int) -> None:
        """Hand over freshly spooled readings (called on the ingester's thread: never blocks)."""
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            self.stats.dropped_batches += 1

    def _score_loop(self) -> None:
        while (batch := self._queue.get()) is not None:
            self.stats.batches += 1
            for asset, part in _split(batch).items():
                for change in self.runner.handle_batch(asset, part):
                    self._count(change)

    def _count(self, change: AlarmChange) -> None:
        if change.kind == "raised":
            self.stats.alerts += 1
            self._raised[change.asset] = change.ts_us
        else:
            self.stats.cleared += 1
        self._alerts.put((change, self._raised.get(change.asset, change.ts_us)))

    def _store_loop(self) -> None:
        while (change := self._alerts.get()) is not None:
            pending = [change]
            # Collect for up to a second, then write in one commit: the alerts table is
            # read by every dashboard poll, and a commit per alert would make every one of
            # those reads a miss.  (The MQTT alert went out already.)
            deadline = time.monotonic() + self.store_every_s
            while (left := deadline - time.monotonic()) > 0:
                try:
                    more = self._alerts.get(timeout=left)
                except queue.Empty:
                    break
                if more is None:
                    self._alerts.put(None)
                    break
                pending.append(more)
            store_live_alerts(self.lake, pending, self.runner.bundle.source)
            self.stats.stored += len(pending)

    def start(self) -> LiveScoring:
        if self.publish:
            self._threads.append(threading.Thread(target=self.runner.run, daemon=True))
        self._threads.append(threading.Thread(target=self._score_loop, daemon=True))
        self._threads.append(threading.Thread(target=self._store_loop, daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._queue.put(None)
        self._threads[-2].join(timeout=30)
        for change in self.runner.flush(0.0):
            self._count(change)
        self._alerts.put(None)
        self._threads[-1].join(timeout=30)
        self.runner.stop()
        for thread in self._threads:
            thread.join(timeout=10)


def alert_id(asset: str, raised_us: int) -> str:
    return f"{asset}@{iso(raised_us)}"


def store_live_alerts(
    lake: Lake, changes: list[tuple[AlarmChange, int]], model: dict[str, Any]
) -> int:
    """Append raised alarms as open alerts and cleared ones as their end (append-only)."""
    import pyarrow as pa

    from shopfloor.schema import TABLES

    now = datetime.now(UTC)
    rows = []
    for change, start_us in changes:
        signals = [{"signal": s, "sigma": round(v, 3)} for s, v in change.top]
        rows.append(
            {
                "alert_id": alert_id(change.asset, start_us),
                "asset": change.asset,
                "start": datetime.fromtimestamp(start_us / 1e6, UTC),
                "end": None
                if change.kind == "raised"
                else datetime.fromtimestamp(change.ts_us / 1e6, UTC),
                "severity": "critical" if change.peak_score >= 2 * change.threshold else "warning",
                "score": float(change.peak_score),
                "threshold": float(change.threshold),
                "explanation": "live: " + ", ".join(f"{s} {v:+.1f} sigma" for s, v in change.top),
                "signals": json.dumps(signals),
                "model": str(model.get("name", "condition")),
                "model_version": int(model.get("version") or 0),
                "state": "open",
                "updated_at": now,
                "note": "raised live" if change.kind == "raised" else "cleared live",
            }
        )
    schema = TABLES["alerts"].schema
    lake.write("alerts", pa.Table.from_pylist(rows, schema=schema), operation="live-alerts")
    return len(rows)
