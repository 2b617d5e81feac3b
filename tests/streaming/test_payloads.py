from __future__ import annotations

import pytest

from shopfloor.streaming.payloads import PayloadError, decode_json, encode_rows
from shopfloor.streaming.topics import TopicLayout

NOW = 1_764_000_000_000_000


def test_whole_rows_round_trip_with_nulls() -> None:
    payload = encode_rows([(NOW, {"a": 1.5, "b": None}), (NOW + 1000, {"a": 2.0})])
    batch = decode_json(payload, "M1", None, received_us=0)
    assert batch.keys() == [("M1", "a", NOW), ("M1", "b", NOW), ("M1", "a", NOW + 1000)]
    assert batch.value == [1.5, None, 2.0]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "not JSON"),
        (b"[]", "empty batch"),
        (b'{"value": NaN}', "'NaN' is not a number"),
        (b'{"value": Infinity}', "'Infinity' is not a number"),
        (b'{"value": "7"}', "is not a number"),
        (b'{"value": true}', "is not a number"),
        (b'{"ts": 1764000000, "value": 1}', "outside 2000..2100"),  # seconds, not ms
        (b'{"ts": "2026-01-01T00:00:00", "value": 1}', "no time zone"),
        (b'{"ts": "yesterday", "value": 1}', "not ISO-8601"),
        (b'{"value": 1, "quality": 5}', "quality must be"),
        (b'{"temp": 1}', "needs 'value' or 'values'"),
        (b'[{"value": 1}, "x"]', "element 1"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_bad_payloads_are_refused_whole_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        decode_json(payload, "M1", "temp", received_us=NOW)


def test_a_bare_number_takes_the_time_of_receipt() -> None:
    batch = decode_json(b"21.5", "M1", "temp", received_us=NOW)
    assert batch.keys() == [("M1", "temp", NOW)] and batch.value == [21.5]


def test_a_machine_topic_needs_named_values() -> None:
    with pytest.raises(PayloadError, match="machine topic needs 'values'"):
        decode_json(b'{"value": 1}', "M1", None, received_us=NOW)


def test_iso_and_millisecond_timestamps_agree() -> None:
    a = decode_json(b'{"ts": "2025-11-24T16:00:00Z", "value": 1}', "M", "s", 0)
    b = decode_json(b'{"ts": 1764000000000, "value": 1}', "M", "s", 0)
    assert a.ts_us == b.ts_us == [NOW]


def test_topic_layout_parses_builds_and_refuses() -> None:
    layout = TopicLayout()
    assert layout.subscription() == ["+/+/+/+/+", "+/+/+/+"]
    match = layout.parse("P1/A/L1/M1/temp")
    assert match is not None and (match.asset, match.signal, match.site) == ("M1", "temp", "P1")
    row = layout.parse("P1/A/L1/M1")
    assert row is not None and row.signal is None
    assert layout.parse("P1/A") is None and layout.parse("P1/A/L1/M1/temp/x") is None
    assert layout.topic(site="P1", area="A", line="L1", machine="M1") == "P1/A/L1/M1"
    custom = TopicLayout("plant/{line}/{asset}/{signal}")
    assert custom.parse("other/L1/M1/t") is None
    assert custom.parse("plant/L1/M1/t") is not None


@pytest.mark.parametrize(
    "template", ["{site}/{line}", "{machine}/{signal}/{x}", "{a}/{asset}/{machine}"]
)
def test_unusable_topic_layouts_are_refused(template: str) -> None:
    from shopfloor.errors import ConfigError

    with pytest.raises(ConfigError):
        TopicLayout(template)
