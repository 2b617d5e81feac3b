"""A simulated plant as an OPC UA server: for the tests, the benchmark and ``simulate --opcua``.

Real plants expose their machines through OPC UA servers we do not control; the ingester
must be exercised against a real server (the asyncua one, speaking the binary protocol
over TCP) rather than a stand-in.  The layout is the convention
:func:`shopfloor.streaming.opcua.browse_mappings` reads: under ``Objects``, one object per
machine (browse name = asset), holding one ``Double`` variable per signal (browse name =
signal), all in the namespace ``urn:shopfloor:plant``.  Node ids are strings,
``ns=<i>;s=<asset>.<signal>``, so they survive a server restart unchanged (an explicit
node map written against one run still fits the next).

Every variable is updated at ``rate_hz`` with a ``SourceTimestamp`` set to the tick's
wall-clock time.  Updates go straight into the server's address space
(``Server.write_attribute_value``): no client round trip, no type checks beyond the
variant's, so 1,000 variables at 1 Hz cost a few per cent of one core.  Ticks are
scheduled on absolute times, so the rate does not drift; a tick that runs late is
counted in :attr:`SimulatedOpcUaServer.late_ticks` rather than silently skipped.

Usage::

    with SimulatedOpcUaServer("opc.tcp://127.0.0.1:4840", {"press-1": ["temp", "speed"]}):
        ...  # browse / subscribe / poll

``stop()`` then ``start()`` again on the same endpoint is a server restart: clients see
their connection drop and have to reconnect (what the reconnect tests exercise).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from shopfloor.errors import InputError, ShopfloorError

if TYPE_CHECKING:
    from asyncua.server.server import Server

NAMESPACE = "urn:shopfloor:plant"

ValueFn = Callable[[str, str, float], float]

_log = logging.getLogger(__name__)


def default_value(asset: str, signal: str, t: float) -> float:
    """A smooth, tag-specific wave: every tag has its own level, period and phase.

    Deterministic (a hash of the tag name, not a random generator), so two runs of the
    simulator agree and a test can predict what it will read.
    """
    h = zlib.crc32(f"{asset}/{signal}".encode())
    level = 10.0 + (h % 90)
    period = 20.0 + (h >> 8) % 100
    phase = ((h >> 16) % 360) * math.pi / 180.0
    return level + 0.1 * level * math.sin(2.0 * math.pi * t / period + phase)


def node_id_string(namespace_index: int, asset: str, signal: str) -> str:
    """The node id the simulator gives ``asset``'s ``signal`` (``ns=2;s=press-1.temp``)."""
    return f"ns={namespace_index};s={asset}.{signal}"


class SimulatedOpcUaServer:
    """An asyncua server in a background thread (its own event loop) simulating machines.

    ``machines`` maps each asset to its signal names.  ``value_fn(asset, signal, t)``
    gives the value at wall-clock time ``t`` (seconds since the epoch); it defaults to
    :func:`default_value`.  A non-finite value is written as is (``NaN`` with a Good
    status): the ingester, not the server, decides what a non-finite reading means.
    """

    def __init__(
        self,
        endpoint: str,
        machines: Mapping[str, Sequence[str]],
        rate_hz: float = 1.0,
        value_fn: ValueFn | None = None,
        *,
        namespace: str = NAMESPACE,
    ) -> None:
        if not endpoint.startswith("opc.tcp://"):
            raise InputError("must start with opc.tcp://", field="endpoint")
        if not rate_hz > 0:
            raise InputError(f"must be > 0, got {rate_hz}", field="rate_hz")
        for asset, signals in machines.items():
            for name in (asset, *signals):
                if not name or "." in name or "/" in name:
                    raise InputError(
                        f"asset and signal names must be non-empty without '.' or '/': {name!r}",
                        field="machines",
                    )
        self.endpoint = endpoint
        self.machines = {asset: list(signals) for asset, signals in machines.items()}
        self.rate_hz = rate_hz
        self.value_fn: ValueFn = value_fn or default_value
        self.namespace = namespace
        self.namespace_index: int | None = None
        self.ticks = 0
        self.late_ticks = 0
        self.writes = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        """Start serving; returns once the endpoint accepts connections."""
        if self._thread is not None and self._thread.is_alive():
            raise ShopfloorError("the simulated OPC UA server is already running")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="opcua-sim-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            self.stop()
            raise ShopfloorError(
                f"the simulated OPC UA server did not start on {self.endpoint}: "
                f"{self._error or f'not ready after {timeout:g} s'}"
            )

    def stop(self, timeout: float = 30.0) -> None:
        """Stop serving (clients lose their connection); ``start()`` may follow."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise ShopfloorError(f"the simulated OPC UA server did not stop in {timeout:g} s")
        self._thread = None

    def __enter__(self) -> SimulatedOpcUaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._ready.is_set()

    def node_ids(self) -> dict[tuple[str, str], str]:
        """``(asset, signal) -> node id`` of every variable (valid once started)."""
        if self.namespace_index is None:
            raise ShopfloorError("start the server first: the namespace index is not known yet")
        ns = self.namespace_index
        return {
            (asset, signal): node_id_string(ns, asset, signal)
            for asset, signals in self.machines.items()
            for signal in signals
        }

    # -- the server thread -------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(), or logged if it dies later
            self._error = exc
            if self._ready.is_set():
                _log.exception("the simulated OPC UA server failed")
        finally:
            self._loop = None
            self._ready.set()  # never leave start() waiting on a dead thread

    async def _main(self) -> None:
        from asyncua import ua
        from asyncua.server.server import Server

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("shopfloor simulated plant")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace(self.namespace)
        self.namespace_index = ns
        tags = await self._build(server, ns)
        await server.start()
        try:
            self._ready.set()
            await self._tick_loop(server, tags)
        finally:
            await server.stop()

    async def _build(self, server: Server, ns: int) -> list[tuple[str, str, Any]]:
        from asyncua import ua

        objects = server.nodes.objects
        tags: list[tuple[str, str, Any]] = []
        now = time.time()
        for asset, signals in self.machines.items():
            machine = await objects.add_object(
                ua.NodeId.from_string(f"ns={ns};s={asset}"), ua.QualifiedName(asset, ns)
            )
            for signal in signals:
                node_id = ua.NodeId.from_string(node_id_string(ns, asset, signal))
                initial = float(self.value_fn(asset, signal, now))
                await machine.add_variable(
                    node_id, ua.QualifiedName(signal, ns), initial, ua.VariantType.Double
                )
                tags.append((asset, signal, node_id))
        return tags

    async def _tick_loop(self, server: Server, tags: list[tuple[str, str, Any]]) -> None:
        from asyncua import ua

        assert self._stop is not None
        loop = asyncio.get_running_loop()
        period = 1.0 / self.rate_hz
        next_at = loop.time()
        double = ua.VariantType.Double
        while not self._stop.is_set():
            t = time.time()
            stamp = cast("ua.DateTime", dt.datetime.fromtimestamp(t, dt.UTC))
            for asset, signal, node_id in tags:
                value = ua.Variant(float(self.value_fn(asset, signal, t)), double)
                await server.write_attribute_value(
                    node_id, ua.DataValue(value, SourceTimestamp=stamp, ServerTimestamp=stamp)
                )
            self.writes += len(tags)
            self.ticks += 1
            next_at += period
            delay = next_at - loop.time()
            if delay < 0:  # a tick overran its period: resynchronise, and say so
                self.late_ticks += 1
                next_at = loop.time()
                delay = 0.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
