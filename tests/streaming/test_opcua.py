"""OPC UA ingest against a real asyncua server (the simulated plant) over loopback TCP."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shopfloor.errors import InputError, ShopfloorError
from shopfloor.streaming.broker import free_port
from shopfloor.streaming.opcua import (
    Mode,
    NodeMapping,
    OpcUaIngester,
    browse_mappings,
    load_node_map,
    reading_of,
)
from shopfloor.streaming.opcua_server import SimulatedOpcUaServer
from shopfloor.streaming.records import ReadingBatch

RATE_HZ = 10.0
MACHINES = {
    "press-1": ["temp", "speed", "broken"],
    "lathe-2": ["temp", "load"],
    "dial": ["creep", "jump"],
}
FAST: dict[str, Any] = {"publishing_interval_s": 0.1, "batch_interval_s": 0.05}


def expected_value(asset: str, signal: str, t: float) -> float:
    """What the plant's smooth tags read at time t: checkable from the reading's timestamp."""
    return 100.0 * (len(asset) + len(signal)) + (t % 1000.0)


class PlantValues:
    """The simulated plant's value function: smooth tags, a broken sensor, deadband probes."""

    def __init__(self) -> None:
        self.ticks: Counter[tuple[str, str]] = Counter()

    def __call__(self, asset: str, signal: str, t: float) -> float:
        n = self.ticks[asset, signal]
        self.ticks[asset, signal] += 1
        if signal == "broken":
            return math.nan
        if signal == "creep":  # 0.001 per tick: never beyond a 0.5 deadband here
            return 50.0 + 0.001 * n
        if signal == "jump":  # 0 / 10 / 0 / 10: always beyond it
            return 10.0 * (n % 2)
        return expected_value(asset, signal, t)


class Collector:
    """A sink that keeps every batch (called on the ingester's thread)."""

    def __init__(self) -> None:
        self.batches: list[ReadingBatch] = []
        self.lock = threading.Lock()

    def __call__(self, batch: ReadingBatch) -> None:
        with self.lock:
            self.batches.append(batch)

    def rows(self) -> list[tuple[str, str, int, float | None, int]]:
        with self.lock:
            return [
                row
                for b in self.batches
                for row in zip(b.asset, b.signal, b.ts_us, b.value, b.quality, strict=True)
            ]


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def plant() -> Iterator[SimulatedOpcUaServer]:
    server = SimulatedOpcUaServer(
        f"opc.tcp://127.0.0.1:{free_port()}", MACHINES, rate_hz=RATE_HZ, value_fn=PlantValues()
    )
    with server:
        yield server


def node(plant: SimulatedOpcUaServer, asset: str, signal: str) -> str:
    return plant.node_ids()[asset, signal]


# -- mapping ---------------------------------------------------------------------------------
def test_browse_finds_every_machine_and_signal(plant: SimulatedOpcUaServer) -> None:
    mappings = browse_mappings(plant.endpoint)
    found = {(m.asset, m.signal): m.node_id for m in mappings}
    assert found == plant.node_ids()
    assert len(mappings) == sum(len(s) for s in MACHINES.values())


def test_browse_by_namespace_and_unknown_namespace(plant: SimulatedOpcUaServer) -> None:
    assert len(browse_mappings(plant.endpoint, namespace="urn:shopfloor:plant")) == 7
    with pytest.raises(ShopfloorError, match="no namespace"):
        browse_mappings(plant.endpoint, namespace="urn:nowhere")


def test_load_node_map_json_and_csv(tmp_path: Path) -> None:
    json_map = tmp_path / "map.json"
    json_map.write_text(
        '[{"node_id": "ns=2;s=press-1.temp", "asset": "P1", "signal": "temperature"}]'
    )
    csv_map = tmp_path / "map.csv"
    csv_map.write_text("node_id,asset,signal\nns=2;s=press-1.temp, P1 ,temperature\n")
    expected = [NodeMapping("ns=2;s=press-1.temp", "P1", "temperature")]
    assert load_node_map(json_map) == expected
    assert load_node_map(csv_map) == expected


@pytest.mark.parametrize(
    ("name", "text", "row", "field"),
    [
        ("missing.csv", "node_id,asset,signal\nns=2;s=a.b,A,b\nns=2;s=a.c,,c\n", 3, "asset"),
        ("nocol.csv", "node_id,asset\nns=2;s=a.b,A\n", 1, "signal"),
        ("badid.csv", "node_id,asset,signal\nnot a node,A,b\n", 2, "node_id"),
        (
            "dup.json",
            '[{"node_id":"i=5","asset":"A","signal":"b"},'
            '{"node_id":"i=5","asset":"A","signal":"c"}]',
            2,
            "node_id",
        ),
        ("num.json", '[{"node_id":"i=5","asset":"A","signal":7}]', 1, "signal"),
        ("shape.json", '{"a": 1}', None, None),
        ("empty.csv", "node_id,asset,signal\n", None, None),
        ("map.toml", "x = 1", None, None),
    ],
)
def test_bad_node_map_names_file_row_and_field(
    tmp_path: Path, name: str, text: str, row: int | None, field: str | None
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_node_map(path)
    assert info.value.source == str(path)
    assert info.value.row == row
    assert info.value.field == field
    assert name in str(info.value)


def test_missing_node_map_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_node_map(tmp_path / "nope.csv")


# -- values ----------------------------------------------------------------------------------
def test_reading_of_status_timestamps_and_odd_values() -> None:
    import datetime as dt

    ua: Any = importlib.import_module("asyncua.ua")  # untyped re-exports: keep mypy out

    src = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    srv = dt.datetime(2026, 1, 1, 0, 0, 1)  # naive: read as UTC
    us = 1_767_225_600_000_000
    good = ua.DataValue(ua.Variant(1.5, ua.VariantType.Double), SourceTimestamp=src)
    assert reading_of(good, 7) == (us, 1.5, 0)
    uncertain = ua.DataValue(
        ua.Variant(2, ua.VariantType.Int32),
        StatusCode=ua.StatusCode(ua.StatusCodes.UncertainLastUsableValue),
        ServerTimestamp=srv,
    )
    assert reading_of(uncertain, 7) == (us + 1_000_000, 2.0, 1)
    bad = ua.DataValue(StatusCode=ua.StatusCode(ua.StatusCodes.BadSensorFailure))
    assert reading_of(bad, 7) == (7, None, 2)
    assert reading_of(ua.DataValue(ua.Variant(True)), 7) == (7, 1.0, 0)
    assert reading_of(ua.DataValue(ua.Variant(math.inf)), 7) == (7, None, 2)
    assert reading_of(ua.DataValue(ua.Variant("running")), 7) == (7, None, 2)


def test_import_stays_light() -> None:
    code = (
        "import sys, shopfloor.streaming.opcua, shopfloor.streaming.opcua_server;"
        "heavy = {'asyncua', 'pandas', 'pyarrow', 'duckdb'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- live ingest -----------------------------------------------------------------------------
def run_ingester(
    plant: SimulatedOpcUaServer,
    mappings: list[NodeMapping] | None,
    until: Callable[[Collector, OpcUaIngester], bool],
    **options: Any,
) -> tuple[Collector, OpcUaIngester]:
    sink = Collector()
    ingester = OpcUaIngester(plant.endpoint, mappings, sink, **{**FAST, **options})
    with ingester:
        wait_for(lambda: until(sink, ingester))
    return sink, ingester


def test_subscribe_delivers_mapped_timestamped_readings(plant: SimulatedOpcUaServer) -> None:
    started_us = int(time.time() * 1e6)
    sink, ingester = run_ingester(plant, None, lambda s, _: len(s.rows()) >= 70, mode="subscribe")
    stats = ingester.stats
    assert stats.mode == "subscribe" and stats.monitored == 7 and stats.reconnects == 0
    assert stats.received == len(sink.rows()) and stats.batches == len(sink.batches)
    rows = sink.rows()
    assert {(a, s) for a, s, *_ in rows} == set(plant.node_ids())
    smooth = [r for r in rows if r[1] in ("temp", "speed", "load")]
    for asset, signal, ts_us, value, quality in smooth:
        assert quality == 0
        assert value == pytest.approx(expected_value(asset, signal, ts_us / 1e6), abs=1e-3)
        assert started_us - 2_000_000 < ts_us < time.time() * 1e6
    # one reading per tick and tag: the source timestamps of a tag are distinct
    per_tag = defaultdict(list)
    for asset, signal, ts_us, *_ in smooth:
        per_tag[asset, signal].append(ts_us)
    assert all(len(set(v)) == len(v) for v in per_tag.values())
    assert all(len(v) >= 3 for v in per_tag.values())
    broken = [r for r in rows if r[1] == "broken"]
    assert broken and all(v is None and q == 2 for *_, v, q in broken)


def test_deadband_suppresses_small_changes(plant: SimulatedOpcUaServer) -> None:
    nodes = [
        NodeMapping(node(plant, "dial", "creep"), "dial", "creep"),
        NodeMapping(node(plant, "dial", "jump"), "dial", "jump"),
    ]
    sink, ingester = run_ingester(
        plant,
        nodes,
        lambda s, _: sum(r[1] == "jump" for r in s.rows()) >= 15,
        mode="subscribe",
        deadband=0.5,
    )
    counts = Counter(signal for _, signal, *_ in sink.rows())
    assert ingester.stats.deadband_on_server
    assert counts["jump"] >= 15
    assert counts["creep"] <= 1  # the initial value only


def test_poll_mode_reads_new_samples_only(plant: SimulatedOpcUaServer) -> None:
    nodes = [NodeMapping(node(plant, "lathe-2", "temp"), "L2", "temperature")]
    sink, ingester = run_ingester(plant, nodes, lambda s, _: len(s.rows()) >= 10, mode="poll")
    assert ingester.stats.mode == "poll"
    rows = sink.rows()
    assert {(a, s) for a, s, *_ in rows} == {("L2", "temperature")}
    stamps = [ts for _, _, ts, _, _ in rows]
    assert len(set(stamps)) == len(stamps)  # a sample read twice is emitted once
    for _, _, ts_us, value, quality in rows:
        assert quality == 0
        assert value == pytest.approx(expected_value("lathe-2", "temp", ts_us / 1e6), abs=1e-3)


def test_poll_mode_applies_the_deadband_itself(plant: SimulatedOpcUaServer) -> None:
    nodes = [
        NodeMapping(node(plant, "dial", "creep"), "dial", "creep"),
        NodeMapping(node(plant, "dial", "jump"), "dial", "jump"),
    ]
    sink, _ = run_ingester(
        plant,
        nodes,
        lambda s, _: sum(r[1] == "jump" for r in s.rows()) >= 8,
        mode="poll",
        deadband=0.5,
    )
    assert Counter(signal for _, signal, *_ in sink.rows())["creep"] <= 1


def test_explicit_map_file_renames_and_limits_nodes(
    plant: SimulatedOpcUaServer, tmp_path: Path
) -> None:
    path = tmp_path / "nodes.csv"
    path.write_text(
        "node_id,asset,signal\n"
        f"{node(plant, 'press-1', 'temp')},P1,temperature\n"
        f"{node(plant, 'press-1', 'speed')},P1,rpm\n"
        "ns=2;s=no-such.node,P9,ghost\n"
    )
    sink, ingester = run_ingester(
        plant, load_node_map(path), lambda s, _: len(s.rows()) >= 10, mode="auto"
    )
    assert {(a, s) for a, s, *_ in sink.rows()} == {("P1", "temperature"), ("P1", "rpm")}
    assert ingester.stats.failed_nodes == 1 and ingester.stats.monitored == 2


def test_auto_falls_back_to_polling_without_subscriptions(
    plant: SimulatedOpcUaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ua: Any = importlib.import_module("asyncua.ua")  # untyped re-exports: keep mypy out
    from asyncua.client.client import Client

    async def refuse(*args: object, **kwargs: object) -> None:
        raise ua.UaStatusCodeError(ua.StatusCodes.BadServiceUnsupported)

    monkeypatch.setattr(Client, "create_subscription", refuse)
    nodes = [NodeMapping(node(plant, "lathe-2", "load"), "L2", "load")]
    _, ingester = run_ingester(plant, nodes, lambda s, _: len(s.rows()) >= 5, mode="auto")
    assert ingester.stats.mode == "poll"
    # mode="subscribe" does not fall back: it stops with an error
    strict = OpcUaIngester(plant.endpoint, nodes, Collector(), mode="subscribe", **FAST)
    strict.start()
    with pytest.raises(ShopfloorError, match="cannot subscribe"):
        strict.join(15.0)


def test_refused_deadband_filter_subscribes_without_it(
    plant: SimulatedOpcUaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ua: Any = importlib.import_module("asyncua.ua")  # untyped re-exports: keep mypy out
    from asyncua.common.subscription import Subscription

    original = Subscription.create_monitored_items

    async def no_filters(self: Subscription, items: list[Any]) -> list[Any]:
        if any(i.RequestedParameters.Filter is not None for i in items):
            return [ua.StatusCode(ua.StatusCodes.BadFilterNotAllowed) for _ in items]
        return await original(self, items)

    monkeypatch.setattr(Subscription, "create_monitored_items", no_filters)
    nodes = [NodeMapping(node(plant, "dial", "jump"), "dial", "jump")]
    _, ingester = run_ingester(
        plant, nodes, lambda s, _: len(s.rows()) >= 5, mode="subscribe", deadband=0.5
    )
    assert ingester.stats.mode == "subscribe" and not ingester.stats.deadband_on_server


def test_a_failing_sink_ends_the_ingester(plant: SimulatedOpcUaServer) -> None:
    def broken_sink(batch: ReadingBatch) -> None:
        raise OSError("spool disk full")

    nodes = [NodeMapping(node(plant, "lathe-2", "load"), "L2", "load")]
    ingester = OpcUaIngester(plant.endpoint, nodes, broken_sink, mode="subscribe", **FAST)
    ingester.start()
    with pytest.raises(ShopfloorError, match=r"sink failed.*spool disk full"):
        ingester.join(15.0)


def test_bad_options_are_input_errors() -> None:
    with pytest.raises(InputError, match="mode"):
        OpcUaIngester("opc.tcp://x:1", None, Collector(), mode="push")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="deadband"):
        OpcUaIngester("opc.tcp://x:1", None, Collector(), deadband=-1.0)
    with pytest.raises(InputError, match="mappings"):
        OpcUaIngester("opc.tcp://x:1", [], Collector())


# -- a server restart ------------------------------------------------------------------------
def tags_after(sink: Collector, ts_us: int) -> set[tuple[str, str]]:
    return {(a, s) for a, s, ts, _, _ in sink.rows() if ts > ts_us}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["subscribe", "poll"])
def test_reconnects_after_a_server_restart(mode: Mode) -> None:
    server = SimulatedOpcUaServer(
        f"opc.tcp://127.0.0.1:{free_port()}", {"press-1": ["temp", "speed"]}, rate_hz=RATE_HZ
    )
    sink = Collector()
    ingester = OpcUaIngester(
        server.endpoint, None, sink, mode=mode, watchdog_interval_s=0.5, **FAST
    )
    server.start()
    try:
        with ingester:
            wait_for(lambda: len(sink.rows()) >= 10)
            server.stop()
            wait_for(lambda: ingester.stats.failed_connects >= 1)  # noticed, retrying
            restarted_us = int(time.time() * 1e6)
            server.start()
            wait_for(lambda: len(tags_after(sink, restarted_us)) == 2, 30.0)
            stats = ingester.stats
    finally:
        server.stop()
    assert stats.reconnects == 1 and stats.connects == 2
    assert stats.mode == mode
