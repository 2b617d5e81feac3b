"""`run_stream` over a real broker: rows land once, refused messages and unknown assets
go to quarantine with their reason, and a stopped stream's queue is picked up later."""

from __future__ import annotations

import threading

import pytest

from shopfloor.errors import ConfigError, InputError
from shopfloor.lake import Lake
from shopfloor.streaming.broker import MosquittoBroker
from shopfloor.streaming.payloads import encode_rows
from shopfloor.workflows.ingest import ingest
from shopfloor.workflows.streaming import StreamOptions, StreamSummary, run_stream

T = 1_764_000_000_000_000


def _publish(broker: MosquittoBroker, messages: list[tuple[str, bytes]]) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="plant")
    client.connect(broker.host, broker.port)
    client.loop_start()
    for topic, payload in messages:
        client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def _run(lake: Lake, broker: MosquittoBroker, publish: list[tuple[str, bytes]]) -> StreamSummary:
    stop = threading.Event()
    out: dict[str, StreamSummary] = {}
    options = StreamOptions(mqtt=broker.address, commit_s=0.2)
    worker = threading.Thread(target=lambda: out.update(s=run_stream(lake, options, stop=stop)))
    worker.start()
    broker.wait_for_subscriber("shopfloor-default")
    _publish(broker, publish)
    threading.Event().wait(1.0)
    stop.set()
    worker.join(timeout=60)
    return out["s"]


def test_readings_land_and_bad_messages_are_quarantined_with_their_reason(
    broker: MosquittoBroker, lake: Lake, write_file
) -> None:  # type: ignore[no-untyped-def]
    assets = write_file("assets.csv", "asset,level,site\nM1,machine,P1\n")
    ingest(lake, [assets], "assets")
    rows = encode_rows([(T + i * 1000, {"a": float(i), "b": None}) for i in range(5)])
    summary = _run(
        lake,
        broker,
        [
            ("P1/A/L1/M1", rows),
            ("P1/A/L1/M1", rows),  # a resend: dropped by key
            ("P1/A/L1/M1/temp", b'{"value": NaN}'),
            ("P1/A/L1/M9/temp", b'{"value": 3, "ts": 1764000000000}'),  # unknown asset
            ("P1/A/L1//temp", b"1"),  # no machine level
        ],
    )
    assert summary.committed_rows == 10 and summary.duplicates == 10
    readings = lake.sql("SELECT asset, count(*) AS n FROM readings GROUP BY asset")
    assert readings.to_dict("records") == [{"asset": "M1", "n": 10}]
    reasons = sorted(lake.sql("SELECT reason FROM quarantine")["reason"])
    assert reasons == [
        "'NaN' is not a number JSON allows",
        "topic does not fit the layout '{site}/{area}/{line}/{machine}/{signal}'",
        "unknown asset 'M9'",
    ]
    lineage = lake.meta.ingests(limit=1)[0]
    assert lineage.status == "committed" and lineage.accepted == 10


def test_messages_published_while_the_stream_is_down_arrive_on_its_next_run(
    broker: MosquittoBroker, lake: Lake
) -> None:
    first = _run(lake, broker, [("P1/A/L1/M1", encode_rows([(T, {"a": 1.0})]))])
    _publish(broker, [("P1/A/L1/M1", encode_rows([(T + 1000, {"a": 2.0})]))])  # nobody home
    second = _run(lake, broker, [])
    assert (first.committed_rows, second.committed_rows) == (1, 1)
    assert lake.sql("SELECT count(*) AS n FROM readings")["n"][0] == 2


def test_unusable_options_fail_with_one_line(lake: Lake) -> None:
    with pytest.raises(InputError, match="name a source"):
        run_stream(lake, StreamOptions())
    with pytest.raises(ConfigError, match="is not HOST:PORT"):
        run_stream(lake, StreamOptions(mqtt="host:notaport"))
    with pytest.raises(InputError, match="stream name"):
        run_stream(lake, StreamOptions(mqtt="127.0.0.1:1", name="../x"))


def test_an_opcua_server_streams_into_the_lake(lake: Lake) -> None:
    from shopfloor.streaming.broker import free_port
    from shopfloor.streaming.opcua_server import SimulatedOpcUaServer

    machines = {"M1": ["temp", "vibration"], "M2": ["temp"]}
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}"
    with SimulatedOpcUaServer(endpoint, machines, rate_hz=5.0):
        options = StreamOptions(
            opcua=endpoint, opcua_sampling_s=0.2, commit_s=0.3, seconds=4.0, name="plant-ua"
        )
        summary = run_stream(lake, options)
    assert summary.committed_rows == summary.readings > 20
    found = lake.sql("SELECT DISTINCT asset, signal FROM readings ORDER BY 1, 2")
    assert list(found.itertuples(index=False, name=None)) == [
        ("M1", "temp"),
        ("M1", "vibration"),
        ("M2", "temp"),
    ]
    assert (
        lake.sql("SELECT count(*) - count(DISTINCT (asset, signal, ts)) AS d FROM readings")["d"][0]
        == 0
    )


def test_a_failed_start_is_recorded_as_failed_in_the_lineage(lake: Lake) -> None:
    with pytest.raises(ConfigError):
        run_stream(lake, StreamOptions(mqtt="127.0.0.1:1", topic_layout="{site}/{signal}"))
    record = lake.meta.ingests(limit=1)[0]
    assert record.status == "failed" and "topic layout" in (record.error or "")
