"""Maintenance batch steps as per-asset functions give what the estimators give directly."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shopfloor.maintenance.condition import ConditionMonitor
from shopfloor.maintenance.degradation import DegradationRul
from shopfloor.maintenance.grouped import (
    SCORE_SCHEMA,
    bucket_medians,
    rul_asset,
    rul_from_table,
    score_asset,
    scores_from_table,
)
from tests.maintenance.condition_data import machine_buckets


def _raw(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2026-01-01 00:00:03", periods=5000, freq="17s", tz="UTC")
    return pd.DataFrame(
        {
            "asset": "M1",
            "signal": rng.choice(["temperature", "speed", "vibration"], size=ts.size),
            "ts": ts,
            "value": rng.normal(size=ts.size),
        }
    ).astype({"ts": "datetime64[us, UTC]"})


@pytest.mark.parametrize("width", ["10min", "1h", "7min"])
def test_bucket_medians_match_duckdb_time_bucket(width: str) -> None:
    raw = _raw()
    micros = int(pd.Timedelta(width).total_seconds() * 1e6)
    ours = bucket_medians(raw, width_us=micros)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.register("raw", raw)
    theirs = con.sql(
        f"SELECT asset, signal, time_bucket(INTERVAL '{micros} microseconds', ts) AS ts, "
        "median(value) AS value FROM raw GROUP BY ALL ORDER BY signal, ts"
    ).df()
    theirs["ts"] = pd.to_datetime(theirs["ts"], utc=True).astype("datetime64[us, UTC]")
    pd.testing.assert_frame_equal(
        ours.reset_index(drop=True), theirs, check_dtype=False, rtol=1e-12
    )
    # The rows' order does not matter to a median.
    shuffled = raw.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(bucket_medians(shuffled, width_us=micros), ours)


def test_scores_round_trip_through_long_rows() -> None:
    normal = machine_buckets(hours=24 * 6, seed=0)
    monitor = ConditionMonitor(context="speed").fit(normal)
    new = machine_buckets(hours=24 * 3, seed=1, wear_from=100)
    direct = monitor.score(new)
    frame = new.reset_index().assign(asset="M1")
    rows = score_asset(frame, monitors={"M1": monitor})
    back = scores_from_table(pa.Table.from_pandas(rows, schema=SCORE_SCHEMA))["M1"]
    assert back.index.equals(direct.index)
    np.testing.assert_array_equal(back.score, direct.score)
    np.testing.assert_array_equal(back.is_anomaly, direct.is_anomaly)
    assert back.threshold == direct.threshold
    pd.testing.assert_frame_equal(back.deviation_sigma, direct.deviation_sigma, check_freq=False)
    pd.testing.assert_frame_equal(back.expected, direct.expected, check_freq=False)
    assert score_asset(frame.assign(asset="M9"), monitors={"M1": monitor}).empty


def test_rul_rows_match_the_model() -> None:
    rng = np.random.default_rng(0)
    frames, targets = [], []
    for unit in range(12):
        life = int(rng.uniform(80, 160))
        t = np.arange(life, dtype=float)
        score = 0.2 * np.exp(np.log(100.0) / life * t) * np.exp(0.1 * rng.standard_normal(life))
        frames.append(pd.DataFrame({"unit": f"M{unit}#1", "time": t, "score": score}))
        targets.append(life - t)
    history = pd.concat(frames, ignore_index=True)
    model = DegradationRul().fit(history, np.concatenate(targets))
    current = history[history["time"] < 60].assign(asset=history["unit"].str.split("#").str[0])
    direct = model.predict(current)
    parts = [rul_asset(rows, model=model) for _, rows in current.groupby("asset", sort=True)]
    table = pa.Table.from_pandas(pd.concat(parts, ignore_index=True), preserve_index=False)
    back = rul_from_table(table, model.level)
    assert list(back.unit) == [u.split("#")[0] for u in direct.unit]
    np.testing.assert_array_equal(back.rul, direct.rul)
    np.testing.assert_array_equal(back.lower, direct.lower)
    np.testing.assert_array_equal(back.upper, direct.upper)
