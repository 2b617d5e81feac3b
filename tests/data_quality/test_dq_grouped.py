"""Checks as one function per asset: the rows it returns carry the same issues and scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from shopfloor.config import QualitySettings
from shopfloor.data_quality import quality_scores, run_checks
from shopfloor.data_quality.grouped import GROUP_SCHEMA, check_asset, split_results
from tests.data_quality.dq_frames import frame, noisy, signals


def _readings() -> pd.DataFrame:
    temperature = noisy(400)
    temperature[100:140] = 40.0  # stuck
    temperature[250] = 43.0  # spike (in range: 30 sigma)
    vibration = noisy(400, level=2.0, sd=0.05, seed=1)
    vibration[30] = np.nan
    parts = [
        frame(temperature, signal="temperature"),
        frame(vibration, signal="vibration_rms"),
        frame(noisy(10), signal="temperature").iloc[[3, 3]],  # duplicates
    ]
    out = pd.concat(parts, ignore_index=True)
    out["ingest_id"] = 1
    out["seq"] = np.arange(len(out))
    return out


def test_rows_round_trip_to_the_direct_results() -> None:
    readings = _readings()
    table = signals()
    settings = QualitySettings()
    expected = run_checks(readings, table, settings)
    expected_scores = quality_scores(readings, table, expected)
    rows = check_asset(readings, signals=table, settings=settings)
    issues, scores = split_results(pa.Table.from_pandas(rows, schema=GROUP_SCHEMA))
    assert {i.check for i in expected} >= {"stuck", "spike", "duplicate"}
    assert [i.to_dict() for i in issues] == [i.to_dict() for i in expected]
    pd.testing.assert_frame_equal(scores, expected_scores)


def test_received_at_is_joined_from_the_ingest_times() -> None:
    readings = _readings()
    late = pd.DataFrame(
        {"ingest_id": [1], "received_at": [pd.Timestamp("2025-01-05", tz="UTC")]}
    )  # received before the samples' time: every row is future-stamped
    rows = check_asset(readings, signals=signals(), settings=QualitySettings(), ingest_times=late)
    issues, _ = split_results(pa.Table.from_pandas(rows, schema=GROUP_SCHEMA))
    assert any(i.check == "future_timestamp" for i in issues)
    on_time = late.assign(received_at=pd.Timestamp("2025-02-01", tz="UTC"))
    rows = check_asset(
        readings, signals=signals(), settings=QualitySettings(), ingest_times=on_time
    )
    issues, _ = split_results(pa.Table.from_pandas(rows, schema=GROUP_SCHEMA))
    assert not any(i.check == "future_timestamp" for i in issues)
