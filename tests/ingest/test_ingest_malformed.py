"""Nasty input: each case is quarantined row by row or refused whole, and nothing stored changes."""

from __future__ import annotations

import os

import pytest

from shopfloor.errors import InputError
from shopfloor.ingest import ingest_file
from shopfloor.lake import Lake
from tests.conftest import readings_csv


@pytest.fixture
def seeded(lake: Lake, write_file) -> Lake:
    ingest_file(lake, write_file("base.csv", readings_csv(20)), "readings")
    return lake


def _unchanged(lake: Lake) -> None:
    assert lake.version("readings") == 0
    assert lake.table("readings").num_rows == 20


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "file is empty"),
        ("garbage.csv", os.urandom(4096), "binary data"),
        ("nul.csv", b"asset,signal\x00,ts\n", "binary data"),
        ("header-only.csv", "asset,signal,ts,value\n", None),
        ("x.xlsx", "asset,signal,ts,value\n", "unknown file type"),
        ("noheader.parquet", b"PAR1 not really", "cannot read as parquet"),
        ("missing.csv", None, "file not found"),
    ],
)
def test_whole_file_refusals(seeded: Lake, write_file, tmp_path, name, content, message) -> None:
    path = write_file(name, content) if content is not None else tmp_path / name
    if message is None:  # a header without rows is valid and adds nothing
        result = ingest_file(seeded, path, "readings")
        assert result.accepted == 0
    else:
        with pytest.raises(InputError, match=message) as info:
            ingest_file(seeded, path, "readings")
        assert name in str(info.value)
        assert "\n" not in str(info.value)
    assert seeded.table("readings").num_rows == 20


def test_row_level_faults_are_quarantined_with_reasons(seeded: Lake, write_file) -> None:
    content = (
        "asset,signal,ts,value\n"
        "M1,temp,2026-02-01T00:00:00Z,1.5\n"  # good
        "M1,temp,yesterday,1\n"  # unparseable timestamp
        "M1,temp,2026-02-01T00:00:20Z,warm\n"  # text in a numeric column
        "M1,temp,2026-02-01T00:00:30Z,NaN\n"  # NaN
        "M1,temp,2026-02-01T00:00:40Z,-inf\n"  # inf
        "M1,temp,2026-02-01 00:00:50,2\n"  # naive among aware: mixed time zones
        "M1,temp,2026-02-01T01:00:00+01:00,3\n"  # another offset: fine, converted
        ",temp,2026-02-01T00:01:00Z,4\n"  # no asset
        "M1,temp,2026-02-01T00:01:10Z,5,6\n"  # too many fields
    )
    result = ingest_file(seeded, write_file("bad.csv", content), "readings")
    assert (result.accepted, result.quarantined) == (2, 7)
    q = seeded.table("quarantine").to_pandas().sort_values("row")
    assert q["row"].tolist() == [2, 3, 4, 5, 6, 8, 9]
    reasons = q["reason"].tolist()
    assert reasons[0] == "field 'ts': cannot parse 'yesterday' as a timestamp"
    assert reasons[1] == "field 'value': 'warm' is not a number"
    assert reasons[2] == "field 'value' is NaN"
    assert reasons[3] == "field 'value' is infinite"
    assert "has no time zone" in reasons[4]
    assert reasons[5] == "field 'asset' is required"
    assert reasons[6].startswith("line 10:")
    assert all(q["source"].str.endswith("bad.csv"))
    converted = seeded.readings("M1", "temp", "2026-02-01", "2026-02-02")
    assert str(converted["ts"].iloc[0]) == "2026-02-01 00:00:00+00:00"
    assert len(converted) == 2  # 01:00+01:00 is 00:00Z: a duplicate timestamp, kept for DQ


def test_unknown_assets_quarantined_once_registry_exists(seeded: Lake, write_file) -> None:
    result = ingest_file(seeded, write_file("u.csv", readings_csv(3, asset="NEW")), "readings")
    assert result.quarantined == 3
    assert set(seeded.table("quarantine").column("reason").to_pylist()) == {"unknown asset 'NEW'"}
