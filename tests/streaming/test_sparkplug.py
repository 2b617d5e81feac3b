"""Sparkplug B: the codec round-trips, the decoder keeps alias tables and sequence honest."""

from __future__ import annotations

import math
import queue
import threading
from typing import Any

import pytest

from shopfloor.streaming import sparkplug as sp
from shopfloor.streaming.broker import MosquittoBroker
from shopfloor.streaming.records import QUALITY_BAD
from shopfloor.streaming.sparkplug import DataType, SparkplugDecoder, SparkplugError

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms
US = 1_767_225_600_000_000
BIRTH = {"temperature": (1, DataType.Double), "speed": (2, DataType.Float)}
NODE_BIRTH = sp.encode_birth(
    {"uptime": (9, DataType.UInt64)}, T0, 0, bd_seq=3, rebirth_control=True
)


def born(decoder: SparkplugDecoder | None = None) -> SparkplugDecoder:
    decoder = decoder or SparkplugDecoder()
    decoder.decode("spBv1.0/PLANT1/NBIRTH/L1", NODE_BIRTH, US)
    decoder.decode("spBv1.0/PLANT1/DBIRTH/L1/M1", sp.encode_birth(BIRTH, T0, 1), US)
    return decoder


def test_birth_then_data_with_aliases_round_trips() -> None:
    decoder = born()
    assert decoder.known_aliases("PLANT1", "L1", "M1") == {1: "temperature", 2: "speed"}
    payload = sp.encode_data(
        [("temperature", 71.25, T0 + 1000), ("speed", 1500.5, None)],
        T0 + 2000,
        2,
        aliases={"temperature": 1, "speed": 2},
        datatypes={"speed": DataType.Float},
    )
    metrics = sp.payload_class()().FromString(payload).metrics
    assert [m.name for m in metrics] == ["", ""] and [m.alias for m in metrics] == [1, 2]
    batch = decoder.decode("spBv1.0/PLANT1/DDATA/L1/M1", payload, US + 5)
    assert batch.asset == ["M1", "M1"] and batch.signal == ["temperature", "speed"]
    # the metric's own timestamp, else the payload's (ms -> µs)
    assert batch.ts_us == [US + 1_000_000, US + 2_000_000]
    assert batch.value == [71.25, 1500.5] and batch.quality == [0, 0]
    assert decoder.site_of("spBv1.0/PLANT1/DDATA/L1/M1") == "PLANT1"
    assert decoder.stats.seq_gaps == 0 and decoder.stats.control == 2  # bdSeq, Rebirth


def test_names_without_aliases_and_node_metrics() -> None:
    decoder = SparkplugDecoder()
    # no birth seen at all: names alone are enough (the datatype comes with the metric)
    payload = sp.encode_data(
        [("pressure", 4.5, None), ("count", -3, None)], T0, 7, datatypes={"count": DataType.Int16}
    )
    batch = decoder.decode("spBv1.0/G/NDATA/EDGE", payload, US)
    assert batch.asset == ["EDGE", "EDGE"] and batch.signal == ["pressure", "count"]
    assert batch.value == [4.5, -3.0] and batch.ts_us == [US, US]
    node_mapped = SparkplugDecoder(sp.SparkplugMapping(asset_from="node"))
    batch = node_mapped.decode("spBv1.0/G/DDATA/EDGE/M7", payload, US)
    assert batch.asset == ["EDGE", "EDGE"] and batch.signal == ["M7/pressure", "M7/count"]


def test_nulls_booleans_integers_and_non_numeric_metrics() -> None:
    decoder = SparkplugDecoder()
    types = {
        "run": DataType.Boolean,
        "big": DataType.Int64,
        "i8": DataType.Int8,
        "label": DataType.String,
        "nan": DataType.Double,
    }
    payload = sp.encode_data(
        [
            ("gone", None, None),
            ("run", True, None),
            ("stop", False, None),
            ("big", -5, None),
            ("i8", -23, None),
            ("label", "hello", None),
            ("nan", math.nan, None),
        ],
        T0,
        0,
        datatypes={**types, "stop": DataType.Boolean},
    )
    batch = decoder.decode("spBv1.0/G/DDATA/N/D", payload, US)
    assert batch.signal == ["gone", "run", "stop", "big", "i8", "nan"]
    assert batch.value == [None, 1.0, 0.0, -5.0, -23.0, None]
    assert batch.quality[-1] == QUALITY_BAD
    assert decoder.stats.nulls == 1 and decoder.stats.non_numeric == 1
    # an Int8 kept 8 bits wide (some producers do) reads the same
    raw = sp.payload_class()()
    raw.metrics.add(name="i8", datatype=DataType.Int8, int_value=233)
    assert decoder.decode("spBv1.0/G/DDATA/N/D", raw.SerializeToString(), US).value == [-23.0]
    # a birth's null metrics only declare; its valued ones are readings
    birth = sp.encode_birth(BIRTH, T0, 1, values={"speed": 10.0})
    assert decoder.decode("spBv1.0/G/DBIRTH/N/D", birth, US).signal == ["speed"]


def test_unknown_alias_refused_and_rebirth_after_death() -> None:
    decoder = born()
    data = sp.encode_data([(1, 70.0, None)], T0, 2)
    assert len(decoder.decode("spBv1.0/PLANT1/DDATA/L1/M1", data, US)) == 1
    decoder.decode("spBv1.0/PLANT1/DDEATH/L1/M1", sp.encode_data([], T0, 3), US)
    with pytest.raises(SparkplugError, match=r"alias 1 of L1/M1 was never born.*rebirth"):
        decoder.decode("spBv1.0/PLANT1/DDATA/L1/M1", sp.encode_data([(1, 1.0, None)], T0, 4), US)
    assert decoder.rebirth_needed == {("PLANT1", "L1")} and decoder.stats.unknown_alias == 1
    # an old session's will (other bdSeq) does not kill the reborn node; its own does
    born(decoder)
    assert not decoder.rebirth_needed
    decoder.decode("spBv1.0/PLANT1/NDEATH/L1", sp.encode_death(2), US)
    assert decoder.known_aliases("PLANT1", "L1", "M1")
    decoder.decode("spBv1.0/PLANT1/NDEATH/L1", sp.encode_death(3), US)
    assert decoder.known_aliases("PLANT1", "L1", "M1") == {}
    with pytest.raises(SparkplugError, match="alias 7"):
        decoder.decode("spBv1.0/PLANT1/DDATA/L1/M1", sp.encode_data([(7, 1.0, None)], T0, 2), US)


def test_garbage_payloads_and_wrong_topics_are_refused() -> None:
    decoder = born()
    with pytest.raises(SparkplugError, match="not a Sparkplug B payload"):
        decoder.decode("spBv1.0/PLANT1/DDATA/L1/M1", b"not protobuf at all", US)
    for bad in ("site/area/line/M1", "spBv1.0/G/XDATA/N", "spBv1.0/G/DDATA/N", "spBv1.0/G/NDATA"):
        with pytest.raises(SparkplugError):
            decoder.decode(bad, sp.encode_data([("x", 1.0, None)], T0, 0), US)
    with pytest.raises(SparkplugError, match=r"2000\.\.2100"):
        decoder.decode("spBv1.0/G/NDATA/N", sp.encode_data([("x", 1.0, T0 // 1000)], T0, 0), US)
    # commands and host state are not readings, and not errors either
    assert len(decoder.decode("spBv1.0/G/NCMD/N", sp.encode_rebirth_request(T0), US)) == 0
    assert len(decoder.decode("spBv1.0/STATE/host1", b'{"online": true}', US)) == 0
    assert sp.is_rebirth_request(sp.encode_rebirth_request(T0))
    assert not sp.is_rebirth_request(b"\xff\xff")
    with pytest.raises(SparkplugError):
        sp.topic("G", "DDATA", "N")  # a device message needs a device


def test_sequence_gaps_are_counted_and_flagged_not_refused() -> None:
    decoder = born()  # NBIRTH seq 0, DBIRTH seq 1
    for seq in (2, 3, 5, 6):  # 4 went missing
        decoder.decode("spBv1.0/PLANT1/DDATA/L1/M1", sp.encode_data([(1, 1.0, None)], T0, seq), US)
    assert decoder.stats.seq_gaps == 1 and decoder.rebirth_needed == {("PLANT1", "L1")}
    decoder = born()
    for seq in [*range(2, 256), 0, 1]:  # wraps at 255
        decoder.decode("spBv1.0/PLANT1/DDATA/L1/M1", sp.encode_data([(1, 1.0, None)], T0, seq), US)
    assert decoder.stats.seq_gaps == 0 and decoder.stats.readings == 256


def test_births_and_data_through_a_real_broker(broker: MosquittoBroker) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    received: queue.Queue[tuple[str, bytes]] = queue.Queue()
    subscribed = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sp-sub")
    sub.on_connect = lambda c, *_: c.subscribe("spBv1.0/#", qos=1)
    sub.on_subscribe = lambda *_: subscribed.set()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        received.put((message.topic, bytes(message.payload)))

    sub.on_message = on_message
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sp-pub")
    try:
        assert subscribed.wait(10)
        pub.connect(broker.host, broker.port)
        pub.loop_start()
        aliases = {name: alias for name, (alias, _) in BIRTH.items()}
        messages = [
            (sp.topic("PLANT1", "NBIRTH", "L1"), NODE_BIRTH),
            (sp.topic("PLANT1", "DBIRTH", "L1", "M1"), sp.encode_birth(BIRTH, T0, 1)),
            *(
                (
                    sp.topic("PLANT1", "DDATA", "L1", "M1"),
                    sp.encode_data(
                        [("temperature", 20.0 + i, T0 + i), ("speed", 100.0 * i, T0 + i)],
                        T0 + i,
                        2 + i,
                        aliases=aliases,
                    ),
                )
                for i in range(10)
            ),
        ]
        for name, payload in messages:
            pub.publish(name, payload, qos=1).wait_for_publish(10)
        decoder = SparkplugDecoder()
        readings = []
        for _ in messages:
            name, payload = received.get(timeout=10)
            readings.extend(decoder.decode(name, payload, US).keys())
    finally:
        pub.loop_stop()
        pub.disconnect()
        sub.loop_stop()
        sub.disconnect()
    assert len(readings) == 20 and decoder.stats.seq_gaps == 0
    assert readings[:2] == [("M1", "temperature", US), ("M1", "speed", US)]
    assert readings[-1] == ("M1", "speed", US + 9000)
