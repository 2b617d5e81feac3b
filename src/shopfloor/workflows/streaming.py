"""Live ingest into the lake: MQTT and OPC UA → spool → ``readings``, exactly once.

:class:`LakeWriter` moves sealed spool segments into the lake.  Each commit carries a
Delta application transaction (app id ``shopfloor-stream:<name>``, version = the last
segment's number) in the same atomic commit as the rows, so after any crash the table
itself says which segments it holds, and a segment is never written twice.  Rows of
unknown assets (when the asset registry is in use, as for file ingest) and messages that
could not be decoded go to ``quarantine`` with their reason.

:func:`run_stream` wires a spool, the sources, the writer and (optionally) live scoring
together; the CLI's ``shopfloor stream`` and the benchmarks call it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.schema import TABLES, delta_schema, table_spec
from shopfloor.streaming.records import ReadingBatch, Rejected
from shopfloor.streaming.spool import Segment, Spool

APP_PREFIX = "shopfloor-stream:"
Progress = Callable[[dict[str, Any]], None]


def spool_dir(lake: Lake, name: str) -> Path:
    return lake.path / ".spool" / name


def _check_name(name: str) -> str:
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise InputError(f"stream name '{name}' may hold only letters, digits, '-', '_', '.'")
    return name


@dataclass
class WriterStats:
    commits: int = 0
    rows: int = 0
    quarantined: int = 0
    last_commit_s: float = 0.0
    table_version: int | None = None


class LakeWriter:
    """Commit spool segments to ``readings`` (and ``quarantine``) exactly once."""

    def __init__(self, lake: Lake, name: str, *, source: str = "stream") -> None:
        self.lake = lake
        self.name = _check_name(name)
        self.app_id = APP_PREFIX + name
        self.source = source
        self.stats = WriterStats()
        # One writer per stream name at a time (the stream's spool is its own): what it
        # committed is read from the table once and then known.
        self._done: int | None = None
        self._schema = delta_schema(table_spec("readings"))
        self._quarantine_schema = delta_schema(table_spec("quarantine"))
        assets = lake.meta.read("assets").column("asset").to_pylist()
        policy = lake.settings.ingest.unknown_assets
        check = policy == "quarantine" or (policy == "auto" and len(assets) > 0)
        self.known_assets: frozenset[str] | None = frozenset(assets) if check else None
        self.ingest_id = lake.meta.begin_ingest(
            source, f"{self.app_id}@{time.time_ns()}", "readings", "stream"
        )

    def committed(self, table: str = "readings") -> int:
        """The last segment ``table`` holds (-1: none)."""
        from shopfloor.lake.tables import open_table

        delta = open_table(self.lake.table_path(table))
        if delta is None:
            return -1
        app = self.app_id if table == "readings" else self.app_id + ":" + table
        version = delta.transaction_version(app)
        return -1 if version is None else int(version)

    def _readings(self, segments: list[Segment]) -> tuple[pa.Table, list[Rejected]]:
        import pyarrow.compute as pc

        batch = ReadingBatch()
        for segment in segments:
            batch.extend(segment.readings)
        ts = pa.array(batch.ts_us, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
        n = len(batch)
        table = pa.table(
            {
                "asset": pa.array(batch.asset, pa.string()),
                "signal": pa.array(batch.signal, pa.string()),
                "ts": ts,
                "value": pa.array(batch.value, pa.float64()),
                "quality": pa.array(batch.quality, pa.int8()),
                "ingest_id": pa.array([self.ingest_id] * n, pa.int64()),
                "seq": pa.array(range(n), pa.int64()),
                "day": pc.cast(ts, pa.date32()),
            }
        )
        rejected = [r for s in segments for r in s.rejected]
        if self.known_assets is not None and n:
            known = pc.is_in(table.column("asset"), value_set=pa.array(sorted(self.known_assets)))
            if not pc.all(known).as_py():
                unknown = table.filter(pc.invert(known))
                for row in unknown.select(["asset", "signal", "ts", "value"]).to_pylist():
                    rejected.append(
                        Rejected(
                            f"{self.source} {row['asset']}/{row['signal']}",
                            f"unknown asset '{row['asset']}'",
                            json.dumps(row, default=str).encode(),
                            int(row["ts"].timestamp() * 1_000_000),
                        )
                    )
                table = table.filter(known)
        return table.cast(self._schema), rejected

    def _quarantine(self, rejected: list[Rejected]) -> pa.Table:
        now = time.time_ns() // 1000
        n = len(rejected)
        return pa.table(
            {
                "table": pa.array(["readings"] * n, pa.string()),
                "source": pa.array([r.source for r in rejected], pa.string()),
                "row": pa.array([None] * n, pa.int64()),
                "reason": pa.array([r.reason for r in rejected], pa.string()),
                "raw": pa.array(
                    [r.payload.decode("utf-8", errors="replace") for r in rejected], pa.string()
                ),
                "ingested_at": pa.array([r.received_us or now for r in rejected], pa.int64()).cast(
                    pa.timestamp("us", tz="UTC")
                ),
                "ingest_id": pa.array([self.ingest_id] * n, pa.int64()),
                "seq": pa.array(range(n), pa.int64()),
            }
        ).cast(self._quarantine_schema)

    def write(self, segments: list[Segment]) -> int:
        """Commit ``segments`` (oldest first); returns the last segment number written.

        Segments the table already holds (a crash after the commit, before the spool
        heard of it) are skipped, never written twice.
        """
        from deltalake import CommitProperties, Transaction, write_deltalake

        if self._done is None:  # once: after that this writer knows what it committed
            self._done = self.committed()
        done = self._done
        todo = [s for s in segments if s.seq > done]
        if not todo:
            return done
        started = time.monotonic()
        last = todo[-1].seq
        table, rejected = self._readings(todo)
        if rejected:
            quarantine_app = self.app_id + ":quarantine"
            if self.committed("quarantine") < last:
                write_deltalake(
                    str(self.lake.table_path("quarantine")),
                    self._quarantine(rejected),
                    mode="append",
                    schema_mode="merge",
                    commit_properties=CommitProperties(
                        custom_metadata={"shopfloor.operation": "stream-quarantine"},
                        app_transactions=[Transaction(quarantine_app, last)],
                    ),
                )
            self.stats.quarantined += len(rejected)
        # The readings commit goes last: its transaction version is what says "done".
        write_deltalake(
            str(self.lake.table_path("readings")),
            table,
            mode="append",
            partition_by=list(TABLES["readings"].partition_by),
            schema_mode="merge",
            commit_properties=CommitProperties(
                custom_metadata={
                    "shopfloor.operation": "stream",
                    "shopfloor.ingest_id": str(self.ingest_id),
                },
                app_transactions=[Transaction(self.app_id, last)],
            ),
        )
        self._done = last
        self.stats.commits += 1
        self.stats.rows += table.num_rows
        self.stats.last_commit_s = time.monotonic() - started
        return last

    def finish(self, status: str = "committed", error: str | None = None) -> None:
        figures: dict[str, Any] = {
            "accepted": self.stats.rows,
            "quarantined": self.stats.quarantined,
            "rows_read": self.stats.rows + self.stats.quarantined,
        }
        if error:
            figures["error"] = error
        from shopfloor.lake.tables import open_table

        delta = open_table(self.lake.table_path("readings"))
        if delta is not None:
            figures["table_version"] = int(delta.version())
            self.lake.meta.record_version(
                "readings", int(delta.version()), "stream", self.ingest_id
            )
        self.lake.meta.finish_ingest(self.ingest_id, status, **figures)


def open_spool(lake: Lake, writer: LakeWriter, *, dedup_segments: int = 30) -> Spool:
    """The stream's spool, with what the lake already holds marked as committed."""
    return Spool(
        spool_dir(lake, writer.name), committed=writer.committed(), dedup_segments=dedup_segments
    )


def drain(spool: Spool, writer: LakeWriter) -> int:
    """Write every pending segment; returns the number of readings committed."""
    pending = spool.pending()
    if not pending:
        return 0
    before = writer.stats.rows
    last = writer.write(pending)
    spool.mark_committed(last)
    return writer.stats.rows - before


@dataclass
class StreamSummary:
    seconds: float
    messages: int
    readings: int
    duplicates: int
    rejected: int
    committed_rows: int
    commits: int
    quarantined: int
    recovered: int
    alerts: int = 0
    reconnects: int = 0
    sources: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StreamOptions:
    name: str = "default"
    mqtt: str | None = None
    opcua: str | None = None
    opcua_map: Path | None = None
    opcua_sampling_s: float = 1.0  # how often the server samples each node
    opcua_publishing_s: float = 1.0  # how often it sends what it sampled (the poll period)
    opcua_deadband: float = 0.0  # absolute: changes smaller than this are not sent
    client_id: str | None = None
    topic_layout: str | None = None
    commit_s: float = 1.0  # seal a spool segment and commit it this often
    dedup_window_s: float = 10.0  # how far back a redelivered reading is recognised
    progress_s: float = 2.0  # how often ``progress`` hears the figures
    seconds: float | None = None
    score: bool = False
    alert_topic: str = "shopfloor/alerts/{asset}"
    model: str = "condition"


def run_stream(
    lake: Lake,
    options: StreamOptions,
    *,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> StreamSummary:
    """Ingest live until ``stop`` is set or ``options.seconds`` pass; drain and return.

    Crash recovery happens first: segments a killed run spooled but did not commit are
    committed before anything new is accepted.
    """
    from shopfloor.streaming.mqtt import MqttIngester
    from shopfloor.streaming.topics import TopicLayout

    if options.mqtt is None and options.opcua is None:
        raise InputError("name a source: --mqtt HOST:PORT and/or --opcua ENDPOINT", field="source")
    stop = stop or threading.Event()
    source = " ".join(s for s in (options.mqtt and f"mqtt://{options.mqtt}", options.opcua) if s)
    writer = LakeWriter(lake, options.name, source=source)
    spool = open_spool(
        lake, writer, dedup_segments=max(1, round(options.dedup_window_s / options.commit_s))
    )
    recovered = spool.stats.recovered
    drain(spool, writer)
    listeners: list[Callable[[ReadingBatch, int], None]] = []
    scorer = None
    if options.score:
        from shopfloor.workflows.live_scoring import LiveScoring

        scorer = LiveScoring.from_registry(
            lake, model=options.model, mqtt=options.mqtt, alert_topic=options.alert_topic
        )
        scorer.start()
        listeners.append(scorer.submit)
    ingesters: list[Any] = []
    failure: str | None = None
    started = time.monotonic()
    try:
        if options.mqtt is not None:
            mqtt = MqttIngester(
                options.mqtt,
                spool,
                client_id=options.client_id or f"shopfloor-{options.name}",
                layout=TopicLayout(options.topic_layout) if options.topic_layout else None,
                listeners=tuple(listeners),
            )
            ingesters.append(mqtt.start(timeout=10.0))
        if options.opcua is not None:
            ingesters.append(_start_opcua(options, spool, listeners))
        next_report = time.monotonic() + options.progress_s
        while not stop.wait(options.commit_s):
            spool.seal()
            drain(spool, writer)
            if options.seconds is not None and time.monotonic() - started >= options.seconds:
                break
            if progress is not None and time.monotonic() >= next_report:
                next_report = time.monotonic() + options.progress_s
                progress(_figures(ingesters, writer, spool))
    except BaseException as err:
        failure = str(err) or type(err).__name__
        raise
    finally:
        for ingester in ingesters:
            ingester.stop()
        if scorer is not None:
            scorer.stop()
        spool.seal()
        drain(spool, writer)  # what was acknowledged is committed, failure or not
        spool.close()
        writer.finish("failed" if failure else "committed", failure)
    mqtt_stats = next((i.stats for i in ingesters if hasattr(i.stats, "acknowledged")), None)
    return StreamSummary(
        seconds=round(time.monotonic() - started, 3),
        messages=mqtt_stats.messages if mqtt_stats else 0,
        readings=spool.stats.appended,
        duplicates=spool.stats.duplicates,
        rejected=spool.stats.rejected,
        committed_rows=writer.stats.rows,
        commits=writer.stats.commits,
        quarantined=writer.stats.quarantined,
        recovered=recovered,
        alerts=scorer.stats.alerts if scorer is not None else 0,
        reconnects=max(0, mqtt_stats.connects - 1) if mqtt_stats else 0,
        sources=_figures(ingesters, writer, spool),
    )


def _figures(ingesters: list[Any], writer: LakeWriter, spool: Spool) -> dict[str, Any]:
    out: dict[str, Any] = {"spooled": spool.stats.appended, "committed": writer.stats.rows}
    for ingester in ingesters:
        out[type(ingester).__name__] = asdict(ingester.stats)
    return out


def _start_opcua(
    options: StreamOptions, spool: Spool, listeners: list[Callable[[ReadingBatch, int], None]]
) -> Any:
    from shopfloor.streaming.opcua import OpcUaIngester, load_node_map

    def sink(batch: ReadingBatch) -> None:
        fresh = spool.append(batch)
        if len(fresh):
            now = time.time_ns() // 1000
            for listener in listeners:
                listener(fresh, now)

    assert options.opcua is not None
    mappings = load_node_map(options.opcua_map) if options.opcua_map else None
    ingester = OpcUaIngester(
        options.opcua,
        mappings,
        sink,
        publishing_interval_s=options.opcua_publishing_s,
        sampling_interval_s=options.opcua_sampling_s,
        deadband=options.opcua_deadband,
    )
    ingester.start()
    return ingester
