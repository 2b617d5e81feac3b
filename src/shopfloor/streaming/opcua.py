"""OPC UA ingest: map server nodes to (asset, signal), subscribe or poll, hand on batches.

Mappings (:class:`NodeMapping`) come from a JSON or CSV file (:func:`load_node_map`) or
from the server (:func:`browse_mappings`): one object per machine under ``Objects``
(asset = its browse name) holding one variable per signal (signal = its browse name).

``mode="subscribe"``: one subscription, a monitored item per node; an absolute
``deadband`` becomes a ``DataChangeFilter`` so the *server* drops smaller changes (if it
refuses the filter, the items are created again without).  ``"poll"``: one Read of value,
status and timestamps of all nodes per ``publishing_interval_s``, for servers without
subscriptions; only new samples (new source timestamp) are emitted, the deadband applied
here.  ``"auto"``: subscribe, poll when the server cannot.

Readings go to ``sink`` as one :class:`~shopfloor.streaming.records.ReadingBatch` per
``batch_interval_s``.  ``ts_us`` = SourceTimestamp, else ServerTimestamp, else receipt
time; quality = status severity (Good 0, Uncertain 1, Bad 2); booleans become 0.0/1.0,
anything else that is not a finite number becomes ``None`` with quality 2.

A lost connection (server restart, network: asyncua's keep-alive probe or a failed read
notices) is retried with backoff (0.5 s doubling to 10 s, ±25 % jitter so a fleet does
not reconnect in lock-step) on a fresh connection with a fresh subscription: a
restarted server has forgotten the old one, so resubscribing works against any server.

``run()`` blocks until ``stop()`` (or ``stop_event``); ``start()`` runs it in a thread,
``join()`` waits and re-raises what ended it (a sink that raises ends the ingester).  The
sink runs on the ingester's thread: keep it quick.  asyncua is imported inside functions
only, so importing this module stays light (the edge runner imports it on small devices).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import datetime as dt
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from shopfloor.errors import InputError, ShopfloorError
from shopfloor.streaming.records import QUALITY_BAD, QUALITY_GOOD, QUALITY_UNCERTAIN, ReadingBatch

if TYPE_CHECKING:
    from asyncua import ua
    from asyncua.client.client import Client

Mode = Literal["subscribe", "poll", "auto"]
Sink = Callable[[ReadingBatch], None]

_log = logging.getLogger(__name__)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_MAP_FIELDS = ("node_id", "asset", "signal")
_REQUEST_TIMEOUT_S = 10.0  # a server that does not answer in this time is gone


# -- which nodes mean what -------------------------------------------------------------
@dataclass(frozen=True)
class NodeMapping:
    """One OPC UA node read as one signal of one asset."""

    node_id: str  # e.g. "ns=2;s=press-1.temp" (the string form of an OPC UA NodeId)
    asset: str
    signal: str


def load_node_map(path: str | Path) -> list[NodeMapping]:
    """Read an explicit node map: a JSON list of objects, or a CSV with a header row.

    Both need ``node_id``, ``asset`` and ``signal`` for every entry.  A node id must
    parse as an OPC UA NodeId and may appear once.  Any fault raises
    :class:`~shopfloor.errors.InputError` naming the file, the row (1-based; in a CSV
    the header is row 1) and the field.
    """
    from asyncua import ua

    path = Path(path)

    def fail(message: str, row: int | None = None, field: str | None = None) -> InputError:
        return InputError(message, source=str(path), row=row, field=field)

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read the node map: {exc}") from exc
    rows: list[tuple[int, Any]]
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise fail(f"not valid JSON: {exc.msg}", exc.lineno) from exc
        if not isinstance(data, list):
            raise fail("expected a list of {node_id, asset, signal} objects")
        rows = list(enumerate(data, start=1))
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        missing = [f for f in _MAP_FIELDS if f not in (reader.fieldnames or [])]
        if missing:
            raise fail("missing column", 1, missing[0])
        rows = list(enumerate(reader, start=2))
    else:
        raise fail("a node map must be a .json or a .csv file")
    mappings: list[NodeMapping] = []
    seen: dict[str, int] = {}
    for n, row in rows:
        if not isinstance(row, dict):
            raise fail("expected an object with node_id, asset, signal", n)
        for name in _MAP_FIELDS:
            if not isinstance(row.get(name), str) or not row[name].strip():
                raise fail("missing or empty", n, name)
        node_id, asset, signal = (row[name].strip() for name in _MAP_FIELDS)
        try:
            ua.NodeId.from_string(node_id)
        except Exception as exc:
            raise fail(f"not an OPC UA node id: {node_id!r}", n, "node_id") from exc
        if node_id in seen:
            raise fail(f"node id {node_id!r} already mapped in row {seen[node_id]}", n, "node_id")
        seen[node_id] = n
        mappings.append(NodeMapping(node_id, asset, signal))
    if not mappings:
        raise fail("the node map is empty")
    return mappings


def browse_mappings(
    endpoint: str, root: str = "Objects", *, namespace: str | None = None, timeout: float = 10.0
) -> list[NodeMapping]:
    """Connect to ``endpoint`` and derive mappings from its address space (see module doc).

    ``root`` is ``"Objects"`` or the node id of a folder holding the machine objects;
    ``namespace`` (a URI) keeps only machines in that namespace.
    """
    from asyncua.client.client import Client

    async def browse() -> list[NodeMapping]:
        client = Client(endpoint, timeout=timeout)
        try:
            await client.connect()
            return await browse_client(client, root, namespace=namespace)
        except (OSError, TimeoutError) as exc:
            raise ShopfloorError(f"cannot browse OPC UA server {endpoint}: {exc!r}") from exc
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), timeout)

    return asyncio.run(browse())


async def browse_client(
    client: Client, root: str = "Objects", *, namespace: str | None = None
) -> list[NodeMapping]:
    """:func:`browse_mappings` on a connected asyncua client."""
    from asyncua import ua

    start = client.nodes.objects if root == "Objects" else client.get_node(root)
    ns_index: int | None = None
    if namespace is not None:
        uris: list[str] = await client.get_namespace_array()
        if namespace not in uris:
            raise ShopfloorError(f"the server has no namespace {namespace!r}")
        ns_index = uris.index(namespace)
    mappings: list[NodeMapping] = []
    machines = await start.get_children_descriptions(nodeclassmask=ua.NodeClass.Object)
    for machine in machines:
        machine_ns = machine.NodeId.NamespaceIndex
        if machine_ns == 0 or (ns_index is not None and machine_ns != ns_index):
            continue
        asset = machine.BrowseName.Name
        variables = await client.get_node(machine.NodeId).get_children_descriptions(
            nodeclassmask=ua.NodeClass.Variable
        )
        mappings += [NodeMapping(v.NodeId.to_string(), asset, v.BrowseName.Name) for v in variables]
    return mappings


# -- values --------------------------------------------------------------------------
def quality_of(status: ua.StatusCode | None) -> int:
    """OPC UA status severity (the top two bits) as the lake's quality code."""
    severity = 0 if status is None else (int(status.value) >> 30) & 0b11
    return (QUALITY_GOOD, QUALITY_UNCERTAIN, QUALITY_BAD, QUALITY_BAD)[severity]


def reading_of(datavalue: ua.DataValue, received_us: int) -> tuple[int, float | None, int]:
    """``(ts_us, value, quality)`` of one DataValue (see the module doc for the rules)."""
    stamp: dt.datetime | None = datavalue.SourceTimestamp or datavalue.ServerTimestamp
    ts_us = received_us
    if stamp is not None:  # naive datetimes (some servers) are UTC
        ts_us = (stamp.replace(tzinfo=stamp.tzinfo or dt.UTC) - _EPOCH) // _MICROSECOND
    raw = datavalue.Value.Value if datavalue.Value is not None else None
    if isinstance(raw, int | float) and math.isfinite(raw):  # a bool is an int: 0.0 / 1.0
        return ts_us, float(raw), quality_of(datavalue.StatusCode)
    return ts_us, None, QUALITY_BAD


# -- the ingester ----------------------------------------------------------------------
@dataclass
class IngesterStats:
    """Counters of one ingester (written by its thread; ``stats`` hands out a copy)."""

    received: int = 0  # readings handed to the sink
    batches: int = 0  # sink calls
    connects: int = 0  # successful connections, the first one included
    reconnects: int = 0  # connections after a lost one
    failed_connects: int = 0
    mode: str | None = None  # "subscribe" or "poll": what the current connection uses
    monitored: int = 0  # nodes subscribed or polled on the current connection
    failed_nodes: int = 0  # nodes the server refused (unknown node id, ...)
    deadband_on_server: bool = False  # False: the filter was refused (or no deadband)
    last_lag_s: float | None = None  # receipt time - source timestamp, latest reading
    last_error: str | None = None


class _Lost(Exception):
    """The connection is gone: reconnect."""


class _NoSubscription(Exception):
    """The server cannot give us a (usable) subscription."""


# Service results a dropped or restarted server causes: the session is gone, reconnect.
_CONNECTION_CODES = (
    "BadSessionIdInvalid BadSessionClosed BadSecureChannelClosed BadConnectionClosed "
    "BadServerNotConnected BadShutdown BadCommunicationError BadTimeout"
)
# Results that mean "no such filter here" rather than "no such node".
_FILTER_CODES = (
    "BadFilterNotAllowed BadMonitoredItemFilterUnsupported BadMonitoredItemFilterInvalid "
    "BadDeadbandFilterInvalid"
)


def _codes(names: str) -> set[int]:
    from asyncua.ua.status_codes import StatusCodes

    return {getattr(StatusCodes, name) for name in names.split()}


def _connection_error(exc: BaseException) -> bool:
    from asyncua.ua.uaerrors import UaStatusCodeError

    if isinstance(exc, _Lost | OSError | TimeoutError):  # ConnectionError is an OSError
        return True
    return isinstance(exc, UaStatusCodeError) and exc.code in _codes(_CONNECTION_CODES)


class OpcUaIngester:
    """Reads mapped OPC UA nodes into ``sink`` until stopped (see the module docstring).

    ``mappings=None`` browses the server on the first connection (kept across
    reconnects).  ``publishing_interval_s`` is also the poll period; the server queues
    as many samples per item as one publishing interval holds at ``sampling_interval_s``.
    """

    def __init__(
        self,
        endpoint: str,
        mappings: Sequence[NodeMapping] | None,
        sink: Sink,
        *,
        mode: Mode = "auto",
        publishing_interval_s: float = 1.0,
        sampling_interval_s: float | None = None,
        deadband: float = 0.0,
        batch_interval_s: float = 0.2,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 10.0,
        watchdog_interval_s: float = 1.0,
        browse_root: str = "Objects",
        browse_namespace: str | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        if mode not in ("subscribe", "poll", "auto"):
            raise InputError(f"must be subscribe, poll or auto, got {mode!r}", field="mode")
        for name, value, low in [
            ("publishing_interval_s", publishing_interval_s, 1e-3),
            ("batch_interval_s", batch_interval_s, 1e-3),
            ("backoff_initial_s", backoff_initial_s, 1e-3),
            ("deadband", deadband, 0.0),
        ]:
            if not value >= low:
                raise InputError(f"must be >= {low:g}, got {value}", field=name)
        if mappings is not None and not mappings:
            raise InputError("no nodes to read", field="mappings")
        self.endpoint = endpoint
        self.mappings: list[NodeMapping] | None = None if mappings is None else list(mappings)
        self.sink = sink
        self.mode: Mode = mode
        self.publishing_interval_s = publishing_interval_s
        self.sampling_interval_s = sampling_interval_s or publishing_interval_s
        self.deadband = deadband
        self.batch_interval_s = batch_interval_s
        self.queue_size = max(1, math.ceil(publishing_interval_s / self.sampling_interval_s))
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = max(backoff_max_s, backoff_initial_s)
        self.watchdog_interval_s = watchdog_interval_s
        self.browse_root = browse_root
        self.browse_namespace = browse_namespace
        self.stop_event = stop_event or threading.Event()
        self._stats = IngesterStats()
        self._batch = ReadingBatch()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._rng = random.Random()

    # -- public API --------------------------------------------------------------------
    @property
    def stats(self) -> IngesterStats:
        return dataclasses.replace(self._stats)

    def run(self) -> None:
        """Ingest in this thread until :meth:`stop` (or ``stop_event``) is set."""
        asyncio.run(self._main())

    def start(self) -> None:
        """Ingest in a background thread; :meth:`stop` then :meth:`join` end it."""
        if self._thread is not None and self._thread.is_alive():
            raise ShopfloorError("the OPC UA ingester is already running")
        self._error = None

        def run() -> None:
            try:
                self.run()
            except BaseException as exc:
                self._error = exc
                _log.error("the OPC UA ingester stopped: %r", exc)

        self._thread = threading.Thread(target=run, name="opcua-ingest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the ingester to flush what it holds and end (returns at once)."""
        self.stop_event.set()
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(wake.set)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the background thread; re-raise the error that ended it, if any."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise ShopfloorError(f"the OPC UA ingester did not stop in {timeout} s")
        if self._error is not None:
            raise self._error

    def __enter__(self) -> OpcUaIngester:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.join(30.0)

    # -- the event loop ------------------------------------------------------------------
    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self.stop_event.is_set():
            self._wake.set()
        flusher = asyncio.create_task(self._flush_loop())
        connection = asyncio.create_task(self._connection_loop())
        try:  # a sink that raises ends the ingester: readings must not pile up behind it
            await asyncio.wait([flusher, connection], return_when="FIRST_COMPLETED")
        finally:
            for task in (flusher, connection):
                task.cancel()
            await asyncio.gather(connection, flusher, return_exceptions=True)
            self._loop = None
        if not flusher.cancelled() and flusher.exception() is not None:
            raise ShopfloorError(f"the OPC UA sink failed: {flusher.exception()!r}")
        self._flush()  # what the last connection collected
        if not connection.cancelled() and connection.exception() is not None:
            raise cast(BaseException, connection.exception())

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once on stop()."""
        assert self._wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _backoff(self, delay: float) -> float:
        """Sleep ``delay`` ± 25 % (jitter: a fleet must not reconnect in lock-step)."""
        await self._sleep(delay * self._rng.uniform(0.75, 1.25))
        return min(delay * 2, self.backoff_max_s)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.batch_interval_s)
            self._flush()

    def _flush(self) -> None:
        batch, self._batch = self._batch, ReadingBatch()
        if len(batch):
            self.sink(batch)
            self._stats.received += len(batch)
            self._stats.batches += 1

    def _add(self, mapping: NodeMapping, datavalue: ua.DataValue, now: float) -> None:
        received_us = int(now * 1e6)
        ts_us, value, quality = reading_of(datavalue, received_us)
        self._batch.append(mapping.asset, mapping.signal, ts_us, value, quality)
        self._stats.last_lag_s = (received_us - ts_us) / 1e6

    async def _connection_loop(self) -> None:
        from asyncua.client.client import Client

        delay = self.backoff_initial_s
        while not self.stop_event.is_set():
            client = Client(
                self.endpoint, _REQUEST_TIMEOUT_S, watchdog_intervall=self.watchdog_interval_s
            )
            lost = asyncio.Event()

            async def on_lost(exc: Exception, lost: asyncio.Event = lost) -> None:
                _log.warning("OPC UA connection to %s lost: %r", self.endpoint, exc)
                lost.set()

            client.connection_lost_callback = on_lost
            try:
                await client.connect()
            except Exception as exc:  # refused, unreachable, timed out, rejected: retry
                self._stats.failed_connects += 1
                self._stats.last_error = repr(exc)
                delay = await self._backoff(delay)
                continue
            self._stats.reconnects += self._stats.connects > 0
            self._stats.connects += 1
            delay = self.backoff_initial_s
            try:
                await self._session(client, lost)
            except Exception as exc:
                if not _connection_error(exc):
                    raise
                self._stats.last_error = repr(exc)
                _log.warning("OPC UA session on %s ended (%r); reconnecting", self.endpoint, exc)
                delay = await self._backoff(delay)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.disconnect(), 2.0)

    async def _session(self, client: Client, lost: asyncio.Event) -> None:
        if self.mappings is None:
            found = await browse_client(client, self.browse_root, namespace=self.browse_namespace)
            if not found:
                raise ShopfloorError(f"no machines found on {self.endpoint}: give a node map")
            self.mappings = found
        if self.mode != "poll":
            try:
                return await self._subscribe(client, self.mappings, lost)
            except _NoSubscription as exc:
                if self.mode == "subscribe":
                    raise ShopfloorError(f"{self.endpoint} cannot subscribe: {exc}") from exc
                _log.warning("%s cannot subscribe (%s); polling instead", self.endpoint, exc)
        await self._poll(client, self.mappings, lost)

    # -- subscriptions ---------------------------------------------------------------------
    async def _subscribe(
        self, client: Client, mappings: list[NodeMapping], lost: asyncio.Event
    ) -> None:
        from asyncua.ua.uaerrors import UaStatusCodeError

        try:  # iterator mode (no handler): one queue, not a task per notification
            sub = await client.create_subscription(
                self.publishing_interval_s * 1000.0, None, queue_maxsize=100 * len(mappings)
            )
        except UaStatusCodeError as exc:
            if _connection_error(exc):
                raise
            raise _NoSubscription(str(exc)) from exc
        handles = await self._monitor(sub, mappings, use_filter=self.deadband > 0)
        if not handles:
            raise _NoSubscription("the server refused every monitored item")
        self._stats.mode, self._stats.monitored = "subscribe", len(handles)
        assert self._wake is not None
        waits = [asyncio.ensure_future(e.wait()) for e in (lost, self._wake)]
        consumer = asyncio.create_task(self._consume(sub, handles))
        try:
            await asyncio.wait([*waits, consumer], return_when="FIRST_COMPLETED")
            if consumer.done():
                consumer.result()  # re-raise what ended the consumer
                raise _Lost("the subscription ended")
            if lost.is_set() and not self.stop_event.is_set():
                raise _Lost("connection lost")
        finally:
            for task in (*waits, consumer):
                task.cancel()
            await asyncio.gather(*waits, consumer, return_exceptions=True)

    async def _monitor(
        self, sub: Any, mappings: list[NodeMapping], *, use_filter: bool
    ) -> dict[int, NodeMapping]:
        """Create the monitored items (client handle = index + 1 into ``mappings``); a
        refused deadband filter is retried without it."""
        from asyncua import ua
        from asyncua.ua.attribute_ids import AttributeIds
        from asyncua.ua.uaerrors import UaStatusCodeError

        trigger, absolute = ua.DataChangeTrigger.StatusValue, ua.DeadbandType.Absolute
        mfilter = ua.DataChangeFilter(trigger, absolute, self.deadband) if use_filter else None
        sampling_ms = self.sampling_interval_s * 1000.0
        requests = [
            ua.MonitoredItemCreateRequest(
                ua.ReadValueId(ua.NodeId.from_string(m.node_id), AttributeIds.Value),
                ua.MonitoringMode.Reporting,
                ua.MonitoringParameters(handle, sampling_ms, mfilter, self.queue_size, True),
            )
            for handle, m in enumerate(mappings, start=1)
        ]
        try:
            results = await sub.create_monitored_items(requests)
        except UaStatusCodeError as exc:
            if not use_filter or _connection_error(exc):
                raise
            results = [ua.StatusCode(exc.code)]  # the whole request refused: the filter?
        refused = [r for r in results if isinstance(r, ua.StatusCode)]
        if use_filter and any(r.value in _codes(_FILTER_CODES) for r in refused):
            _log.warning("%s refused the deadband filter; subscribing without", self.endpoint)
            with contextlib.suppress(Exception):
                await sub.unsubscribe([r for r in results if not isinstance(r, ua.StatusCode)])
            return await self._monitor(sub, mappings, use_filter=False)
        for mapping, result in zip(mappings, results, strict=True):
            if isinstance(result, ua.StatusCode):
                _log.warning("%s refused node %s: %s", self.endpoint, mapping.node_id, result)
        self._stats.failed_nodes, self._stats.deadband_on_server = len(refused), use_filter
        return {
            handle: mapping
            for handle, (mapping, result) in enumerate(zip(mappings, results, strict=True), 1)
            if not isinstance(result, ua.StatusCode)
        }

    async def _consume(self, sub: Any, handles: dict[int, NodeMapping]) -> None:
        from asyncua.common.subscription import DataChangeEvent

        async for event in sub:
            if isinstance(event, DataChangeEvent):
                item = event.data.monitored_item
                mapping = handles.get(item.ClientHandle)
                if mapping is not None and item.Value is not None:
                    self._add(mapping, item.Value, time.time())

    # -- polling ----------------------------------------------------------------------------
    async def _poll(self, client: Client, mappings: list[NodeMapping], lost: asyncio.Event) -> None:
        from asyncua import ua
        from asyncua.ua.attribute_ids import AttributeIds

        ids = [
            ua.ReadValueId(ua.NodeId.from_string(m.node_id), AttributeIds.Value) for m in mappings
        ]
        both, chunk = ua.TimestampsToReturn.Both, 1000  # nodes per Read: below any server's cap
        requests = [
            ua.ReadParameters(0, both, ids[i : i + chunk]) for i in range(0, len(ids), chunk)
        ]
        self._stats.mode, self._stats.monitored = "poll", len(mappings)
        self._stats.deadband_on_server = False
        unknown = _codes("BadNodeIdUnknown BadNodeIdInvalid")
        last_key: list[Any] = [None] * len(mappings)
        last_value: list[float | None] = [None] * len(mappings)
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not self.stop_event.is_set():
            if lost.is_set():
                raise _Lost("connection lost")
            results: list[ua.DataValue] = []
            for params in requests:
                results += await client.uaclient.read(params)
            now, refused = time.time(), 0
            for i, (mapping, dv) in enumerate(zip(mappings, results, strict=True)):
                status = int(dv.StatusCode.value) if dv.StatusCode is not None else 0
                if status in unknown:
                    refused += 1  # a node the server does not have: not a reading
                    continue
                raw = dv.Value.Value if dv.Value is not None else None
                key = dv.SourceTimestamp or (raw, status)  # a new sample, not a re-read
                if key == last_key[i]:
                    continue
                last_key[i] = key
                if self.deadband > 0 and isinstance(raw, int | float):
                    previous = last_value[i]
                    if previous is not None and abs(raw - previous) <= self.deadband:
                        continue
                    last_value[i] = float(raw)
                self._add(mapping, dv, now)
            self._stats.failed_nodes = refused
            next_at = max(next_at + self.publishing_interval_s, loop.time())
            await self._sleep(next_at - loop.time())
