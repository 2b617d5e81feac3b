from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shopfloor.compute import Condition, DeltaScan, LocalBackend
from shopfloor.compute.local import split_sorted
from tests.compute.groups import (
    FIRST_LAST,
    SCHEMA,
    first_last,
    readings,
    summarise,
    table,
    write_readings,
)


@pytest.mark.parametrize("workers", [1, 2])
def test_map_groups_same_result_in_process_and_pool(workers: int) -> None:
    result = LocalBackend(workers).map_groups(table(), summarise, ["asset", "signal"], SCHEMA)
    assert result.to_pylist() == [
        {"asset": "a", "signal": "x", "mean": 3.0, "n": 2},
        {"asset": "a", "signal": "y", "mean": 3.0, "n": 1},
        {"asset": "b", "signal": "x", "mean": 3.0, "n": 2},
    ]


def test_empty_table_and_bad_keys() -> None:
    empty = table().slice(0, 0)
    assert LocalBackend().map_groups(empty, summarise, ["asset"], SCHEMA).num_rows == 0
    with pytest.raises(ValueError, match="not in the table"):
        LocalBackend().map_groups(table(), summarise, ["site"], SCHEMA)


def test_groups_spanning_batches_are_whole() -> None:
    frame = pa.table({"asset": ["a"] * 5 + ["b"] * 3 + ["c"], "value": range(9)})
    groups = list(split_sorted(iter(frame.to_batches(max_chunksize=2)), ["asset"]))
    assert [g.num_rows for g in groups] == [5, 3, 1]
    assert [g.column("asset")[0].as_py() for g in groups] == ["a", "b", "c"]


def _expected(frame: pd.DataFrame, version_rows: pd.DataFrame) -> list[dict[str, object]]:
    rows = version_rows[np.isfinite(version_rows["value"])].sort_values(["asset", "ts"])
    out = []
    for asset, group in rows.groupby("asset"):
        out.append(
            {
                "asset": asset,
                "first": group["ts"].iloc[0].to_pydatetime(),
                "last_value": float(group["value"].iloc[-1]),
                "n": len(group),
            }
        )
    return out


def test_delta_scan_reads_one_version_sorted_and_filtered(tmp_path: Path) -> None:
    frame = readings()
    write_readings(tmp_path / "readings", frame)
    finite = (Condition("value", "is_finite"),)
    scan = DeltaScan(str(tmp_path / "readings"), 0, ("asset", "ts", "value"), finite)
    backend = LocalBackend(batch_rows=7)  # groups straddle many record batches
    result = backend.map_groups(scan, first_last, ["asset"], FIRST_LAST, order_by=["ts"])
    assert result.to_pylist() == _expected(frame, frame.iloc[: len(frame) // 2])
    latest = DeltaScan(str(tmp_path / "readings"), 1, ("asset", "ts", "value"), finite)
    result = backend.map_groups(latest, first_last, ["asset"], FIRST_LAST, order_by=["ts"])
    assert result.to_pylist() == _expected(frame, frame)


def test_conditions_on_timestamps_and_strings(tmp_path: Path) -> None:
    frame = readings()
    write_readings(tmp_path / "readings", frame)
    cut = pd.Timestamp("2024-03-02", tz="UTC")
    scan = DeltaScan(
        str(tmp_path / "readings"),
        1,
        ("asset", "ts", "value"),
        (
            Condition("ts", ">=", cut),
            Condition("asset", "!=", "M01"),
            Condition("value", "is_finite"),
        ),
    )
    result = LocalBackend().map_groups(scan, first_last, ["asset"], FIRST_LAST, order_by=["ts"])
    keep = frame[(frame["ts"] >= cut) & (frame["asset"] != "M01")]
    assert result.to_pylist() == _expected(frame, keep)


def test_in_condition(tmp_path: Path) -> None:
    frame = readings()
    write_readings(tmp_path / "readings", frame)
    scan = DeltaScan(
        str(tmp_path / "readings"),
        1,
        ("asset", "ts", "value"),
        (Condition("asset", "in", ("M01", "M03")), Condition("value", "is_finite")),
    )
    result = LocalBackend().map_groups(scan, first_last, ["asset"], FIRST_LAST, order_by=["ts"])
    assert result.to_pylist() == _expected(frame, frame[frame["asset"].isin(["M01", "M03"])])
    nothing = DeltaScan(scan.path, 1, scan.columns, (Condition("asset", "in", ()),))
    assert LocalBackend().map_groups(nothing, first_last, ["asset"], FIRST_LAST).num_rows == 0


@pytest.mark.parametrize("partition_rows", [1, 37, 10_000_000])
def test_hash_partitions_give_the_same_groups_in_key_order(
    tmp_path: Path, partition_rows: int
) -> None:
    frame = readings(n_assets=9)
    write_readings(tmp_path / "readings", frame)
    scan = DeltaScan(
        str(tmp_path / "readings"), 1, ("asset", "ts", "value"), (Condition("value", "is_finite"),)
    )
    backend = LocalBackend(batch_rows=11, partition_rows=partition_rows)
    result = backend.map_groups(scan, first_last, ["asset"], FIRST_LAST, order_by=["ts"])
    assert result.to_pylist() == _expected(frame, frame)


def test_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        Condition("value", "~", 1)  # type: ignore[arg-type]
