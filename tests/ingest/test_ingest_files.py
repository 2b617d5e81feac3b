from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopfloor.errors import InputError, MappingError
from shopfloor.ingest import ingest_file, load_mapping
from shopfloor.lake import Lake
from tests.conftest import readings_csv


def test_canonical_csv_needs_no_mapping(lake: Lake, write_file) -> None:
    result = ingest_file(lake, write_file("r.csv", readings_csv(100)), "readings")
    assert (result.status, result.accepted, result.quarantined) == ("committed", 100, 0)
    assert result.table_version == 0
    table = lake.table("readings")
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert table.column("seq").to_pylist() == list(range(1, 101))
    # first-seen assets and signals join the registry
    assert lake.meta.read("signals").to_pylist()[0]["signal"] == "temp"


def test_same_file_twice_adds_nothing(lake: Lake, write_file) -> None:
    path = write_file("r.csv", readings_csv(50))
    ingest_file(lake, path, "readings")
    again = ingest_file(lake, path, "readings")
    assert again.status == "skipped"
    assert again.accepted == 0
    assert lake.table("readings").num_rows == 50
    assert lake.version("readings") == 0


def test_parquet_and_jsonl(lake: Lake, write_file, tmp_path) -> None:
    frame = pa.table(
        {
            "asset": ["M1", "M1"],
            "signal": ["p", "p"],
            "ts": pa.array([0, 10_000_000], pa.timestamp("us", tz="UTC")),
            "value": [1.0, 2.0],
        }
    )
    pq.write_table(frame, tmp_path / "r.parquet")
    assert ingest_file(lake, tmp_path / "r.parquet", "readings").accepted == 2
    lines = [
        json.dumps({"asset": "M1", "signal": "p", "ts": "2026-01-01T00:00:00Z", "value": 3}),
        json.dumps({"asset": "M1", "signal": "p", "ts": "2026-01-01T00:00:10Z", "value": "x"}),
    ]
    result = ingest_file(lake, write_file("r.jsonl", "\n".join(lines) + "\n"), "readings")
    assert (result.accepted, result.quarantined) == (1, 1)
    reason = lake.table("quarantine").column("reason")[0].as_py()
    assert reason == "field 'value': 'x' is not a number"


def test_wide_layout_with_mapping_units_and_time_zone(lake: Lake, write_file) -> None:
    lake.meta.upsert(
        "signals",
        pa.table({"asset": ["L1-M03"], "signal": ["temperature"], "unit": ["degC"]}),
        ("asset", "signal"),
    )
    mapping = write_file(
        "m.toml",
        """
[timestamp]
column = "Time"
format = "%d/%m/%Y %H:%M:%S"
timezone = "Europe/Berlin"
[asset]
constant = "L1-M03"
[signals]
T1 = { signal = "temperature", unit = "degF" }
Load = { signal = "load", scale = 100.0 }
""",
    )
    data = write_file(
        "w.csv", "Time,T1,Load\n01/07/2026 12:00:00,212,0.5\n01/07/2026 12:00:10,,0.6\n"
    )
    result = ingest_file(lake, data, "readings", load_mapping(mapping))
    assert result.accepted == 4
    frame = lake.readings("L1-M03").sort_values(["signal", "ts"])
    temps = frame[frame.signal == "temperature"]
    assert temps["value"].iloc[0] == pytest.approx(100.0)  # 212 degF
    assert temps["value"].isna().iloc[1]  # an empty cell stays a missing value
    assert str(temps["ts"].iloc[0]) == "2026-07-01 10:00:00+00:00"  # CEST is UTC+2
    assert frame[frame.signal == "load"]["value"].tolist() == pytest.approx([50.0, 60.0])


def test_wide_layout_without_mapping(lake: Lake, write_file) -> None:
    data = write_file("w.csv", "asset,ts,speed,current\nM1,2026-01-01T00:00:00Z,1200,5.5\n")
    assert ingest_file(lake, data, "readings").accepted == 2


def test_incompatible_unit_is_refused_naming_the_field(lake: Lake, write_file) -> None:
    lake.meta.upsert(
        "signals",
        pa.table({"asset": ["M1"], "signal": ["temperature"], "unit": ["degC"]}),
        ("asset", "signal"),
    )
    mapping = write_file(
        "m.toml",
        '[asset]\nconstant = "M1"\n[signals]\nT1 = { signal = "temperature", unit = "bar" }\n',
    )
    data = write_file("w.csv", "ts,T1\n2026-01-01T00:00:00Z,5\n")
    with pytest.raises(MappingError, match=r"signals\.T1\.unit.*'bar' cannot be converted"):
        ingest_file(lake, data, "readings", load_mapping(mapping))
    assert lake.version("readings") is None


def test_bad_mapping_file_names_the_key(write_file) -> None:
    with pytest.raises(MappingError, match=r"timestamp\.colum"):
        load_mapping(write_file("m.toml", "[timestamp]\ncolum = 'x'\n"))
    with pytest.raises(MappingError, match="not valid TOML"):
        load_mapping(write_file("n.toml", "[timestamp\n"))


def test_other_tables_validate_types_and_rules(lake: Lake, write_file) -> None:
    events = write_file(
        "e.csv",
        "asset,start,end,kind,code\n"
        "M1,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z,state,running\n"
        "M1,2026-01-01T02:00:00Z,2026-01-01T01:00:00Z,state,running\n"
        "M1,2026-01-01T03:00:00Z,,party,x\n",
    )
    result = ingest_file(lake, events, "events")
    assert (result.accepted, result.quarantined) == (1, 2)
    reasons = sorted(lake.table("quarantine").column("reason").to_pylist())
    assert reasons == [
        "field 'end' is before 'start'",
        "field 'kind': 'party' is not one of state/alarm/failure/maintenance/changeover",
    ]


def test_assets_go_to_the_registry_and_then_guard_readings(lake: Lake, write_file) -> None:
    assets = write_file(
        "a.csv", "asset,parent,level,name,site,line\nS1,,site,Site,S1,\nM1,S1,machine,Mill,S1,L1\n"
    )
    ingest_file(lake, assets, "assets")
    assert lake.meta.count("assets") == 2
    data = write_file(
        "r.csv",
        "asset,signal,ts,value\nM1,t,2026-01-01T00:00:00Z,1\nGHOST,t,2026-01-01T00:00:00Z,1\n",
    )
    result = ingest_file(lake, data, "readings")
    assert (result.accepted, result.quarantined) == (1, 1)
    assert lake.table("quarantine").column("reason")[0].as_py() == "unknown asset 'GHOST'"


def test_missing_required_column_refuses_the_file(lake: Lake, write_file) -> None:
    with pytest.raises(InputError, match="missing required column 'quantity'"):
        ingest_file(lake, write_file("d.csv", "item,location,date\nA,W1,2026-01-01\n"), "demand")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_seq_is_source_order_with_a_registry(lake: Lake, tmp_path, fmt: str) -> None:
    """`seq` must follow the file even while unknown assets are being checked."""
    import duckdb

    lake.meta.upsert(
        "assets", pa.table({"asset": ["M1", "M2"], "level": ["machine", "machine"]}), ("asset",)
    )
    path = tmp_path / f"big.{fmt}"
    options = "(HEADER)" if fmt == "csv" else "(FORMAT parquet, ROW_GROUP_SIZE 50000)"
    duckdb.sql(
        "COPY (SELECT CASE WHEN i % 1000 = 7 THEN 'GHOST' ELSE 'M1' END AS asset, 's' AS signal, "
        "TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i) AS ts, i::DOUBLE AS value "
        f"FROM range(600000) t(i)) TO '{path}' {options}"
    )
    result = ingest_file(lake, path, "readings")
    assert result.quarantined == 600
    stored = lake.sql("SELECT seq, value FROM readings ORDER BY seq")
    assert (stored["seq"] == stored["value"] + 1).all()
    rows = lake.table("quarantine").column("row").to_pylist()
    assert sorted(rows) == [i + 1 for i in range(600000) if i % 1000 == 7]
