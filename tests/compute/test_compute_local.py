from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from shopfloor.compute import LocalBackend

SCHEMA = pa.schema(
    [("asset", pa.string()), ("signal", pa.string()), ("mean", pa.float64()), ("n", pa.int64())]
)


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "asset": [frame["asset"].iloc[0]],
            "signal": [frame["signal"].iloc[0]],
            "mean": [frame["value"].mean()],
            "n": [len(frame)],
        }
    )


def _table() -> pa.Table:
    return pa.table(
        {
            "asset": ["b", "a", "a", "b", "a"],
            "signal": ["x", "x", "y", "x", "x"],
            "value": [1.0, 2.0, 3.0, 5.0, 4.0],
        }
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_map_groups_same_result_in_process_and_pool(workers: int) -> None:
    result = LocalBackend(workers).map_groups(_table(), summarise, ["asset", "signal"], SCHEMA)
    assert result.to_pylist() == [
        {"asset": "a", "signal": "x", "mean": 3.0, "n": 2},
        {"asset": "a", "signal": "y", "mean": 3.0, "n": 1},
        {"asset": "b", "signal": "x", "mean": 3.0, "n": 2},
    ]


def test_empty_table_and_bad_keys() -> None:
    empty = _table().slice(0, 0)
    assert LocalBackend().map_groups(empty, summarise, ["asset"], SCHEMA).num_rows == 0
    with pytest.raises(ValueError, match="not in the table"):
        LocalBackend().map_groups(_table(), summarise, ["site"], SCHEMA)
