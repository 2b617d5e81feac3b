"""The Spark backend gives the local backend's results (Spark in local mode, real JVM)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from shopfloor.compute import Condition, DeltaScan, LocalBackend, SparkBackend
from shopfloor.compute.spark import spark_ddl
from tests.compute.groups import (
    FIRST_LAST,
    SCHEMA,
    first_last,
    readings,
    rows_out,
    summarise,
    table,
    write_readings,
)

pytestmark = pytest.mark.spark


def test_in_memory_table_matches_local(spark_backend: SparkBackend) -> None:
    local = LocalBackend().map_groups(table(), summarise, ["asset", "signal"], SCHEMA)
    spark = spark_backend.map_groups(table(), summarise, ["asset", "signal"], SCHEMA)
    assert spark.equals(local)


def test_delta_scan_matches_local_row_for_row(spark_backend: SparkBackend, tmp_path: Path) -> None:
    frame = readings(n_assets=7, hours=60)
    write_readings(tmp_path / "readings", frame)
    for version in (0, 1):
        scan = DeltaScan(
            str(tmp_path / "readings"),
            version,
            ("asset", "ts", "value"),
            (
                Condition("value", "is_finite"),
                Condition("ts", "<", pd.Timestamp("2024-03-03", tz="UTC")),
                Condition("asset", "in", ("M00", "M02", "M05", "M06")),
            ),
        )
        for fn in (first_last, rows_out):
            local = LocalBackend().map_groups(scan, fn, ["asset"], FIRST_LAST, order_by=["ts"])
            spark = spark_backend.map_groups(scan, fn, ["asset"], FIRST_LAST, order_by=["ts"])
            assert local.num_rows > 0
            assert spark.equals(local), (version, fn.__name__)


def test_parquet_file_list_reader_is_used_without_delta_jars(
    spark_backend: SparkBackend, tmp_path: Path
) -> None:
    # CI has no delta-spark jars: the snapshot's file list is what Spark reads.
    assert not spark_backend.has_delta()
    write_readings(tmp_path / "readings", readings())
    scan = DeltaScan(str(tmp_path / "readings"), 0, ("asset", "ts", "value", "day"))
    frame = spark_backend.read(scan)
    assert frame is not None
    assert frame.count() == len(readings()) // 2


def test_empty_inputs_and_bad_keys(spark_backend: SparkBackend) -> None:
    assert spark_backend.map_groups(table().slice(0, 0), summarise, ["asset"], SCHEMA).num_rows == 0
    with pytest.raises(ValueError, match="not in the table"):
        spark_backend.map_groups(table(), summarise, ["site"], SCHEMA)


def test_group_function_errors_reach_the_driver(spark_backend: SparkBackend) -> None:
    with pytest.raises(Exception, match="returned no column"):
        spark_backend.map_groups(table(), summarise, ["asset"], FIRST_LAST)


def test_spark_ddl_covers_the_lake_types() -> None:
    schema = pa.schema(
        [
            ("a", pa.string()),
            ("t", pa.timestamp("us", tz="UTC")),
            ("d", pa.date32()),
            ("i", pa.int32()),
        ]
    )
    assert spark_ddl(schema) == "`a` string, `t` timestamp, `d` date, `i` int"
    with pytest.raises(ValueError, match="no Spark type"):
        spark_ddl(pa.schema([("l", pa.list_(pa.int64()))]))
