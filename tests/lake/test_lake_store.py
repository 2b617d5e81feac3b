from __future__ import annotations

import pyarrow as pa
import pytest

from shopfloor.errors import InputError, UnknownTableError
from shopfloor.ingest import ingest_file
from shopfloor.lake import Lake
from tests.conftest import readings_csv


def test_new_lake_is_empty_and_queryable(lake: Lake) -> None:
    assert lake.version("readings") is None
    assert lake.table("readings").num_rows == 0
    frame = lake.readings("M1", "temp")
    assert len(frame) == 0
    assert lake.sql("SELECT count(*) AS n FROM readings")["n"][0] == 0


def test_readings_time_range_and_resample(lake: Lake, write_file) -> None:
    ingest_file(lake, write_file("r.csv", readings_csv(360)), "readings")  # one hour at 10 s
    frame = lake.readings("M1", "temp", "2026-01-01T00:10:00Z", "2026-01-01T00:20:00Z")
    assert len(frame) == 60
    assert frame["ts"].min() == pd_ts("2026-01-01T00:10:00Z")
    resampled = lake.readings("M1", "temp", "2026-01-01", "2026-01-02", resample="15min")
    assert len(resampled) == 4
    table = lake.readings("M1", resample="1h", agg="max", as_arrow=True)
    assert isinstance(table, pa.Table) and table.num_rows == 1
    assert table.column("value")[0].as_py() == pytest.approx(23.0)


def test_readings_rejects_unknown_aggregate_and_duration(lake: Lake) -> None:
    with pytest.raises(InputError, match="agg"):
        lake.readings("M1", agg="mode")
    with pytest.raises(InputError, match="resample"):
        lake.readings("M1", resample="soon")


def test_time_travel_keeps_old_versions(lake: Lake, write_file) -> None:
    ingest_file(lake, write_file("a.csv", readings_csv(10)), "readings")
    ingest_file(lake, write_file("b.csv", readings_csv(10, start=10)), "readings")
    assert lake.version("readings") == 1
    assert lake.table("readings", version=0).num_rows == 10
    assert lake.table("readings").num_rows == 20


def test_compact_and_vacuum_keep_the_data(lake: Lake, write_file) -> None:
    for i in range(4):
        ingest_file(lake, write_file(f"{i}.csv", readings_csv(50, start=50 * i)), "readings")
    before = lake.info()
    files_before = next(t.files for t in before.tables if t.name == "readings")
    result = lake.compact("readings")
    assert result["readings"]["version"] == 4
    removed = lake.vacuum("readings", retention_hours=0)
    info = next(t for t in lake.info().tables if t.name == "readings")
    assert info.rows == 200
    assert info.files < files_before
    assert removed["readings"] >= files_before - info.files
    assert lake.table("readings").num_rows == 200


def test_unknown_table_is_a_one_line_input_error(lake: Lake) -> None:
    with pytest.raises(UnknownTableError, match="unknown table 'sensors'"):
        lake.table("sensors")
    with pytest.raises(InputError):
        lake.compact("assets")


def pd_ts(text: str):
    import pandas as pd

    return pd.Timestamp(text)
