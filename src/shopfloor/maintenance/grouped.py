"""Maintenance batch steps as pure per-asset functions, for any compute backend.

* :func:`bucket_medians`: feature extraction, one asset's readings to per-signal bucket
  medians (the condition data every monitor reads);
* :func:`score_asset` / :func:`scores_from_table`: anomaly scoring of one asset with its
  fitted monitor, as long rows a backend can return, and back to :class:`AnomalyScores`;
* :func:`rul_asset` / :func:`rul_from_table`: RUL batch scoring of one asset's current life.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from shopfloor.maintenance.condition import ConditionMonitor
from shopfloor.maintenance.degradation import DegradationRul
from shopfloor.maintenance.results import AnomalyScores, RulPrediction

_TS = pa.timestamp("us", tz="UTC")
# DuckDB's time_bucket origin for sub-month widths (a Monday): buckets that do not
# divide a day still fall where the SQL version put them.
BUCKET_ORIGIN_US = int(pd.Timestamp("2000-01-03", tz="UTC").value // 1000)

MEDIAN_SCHEMA = pa.schema(
    [("asset", pa.string()), ("signal", pa.string()), ("ts", _TS), ("value", pa.float64())]
)
SCORE_SCHEMA = pa.schema(
    [
        ("asset", pa.string()),
        ("ts", _TS),
        ("signal", pa.string()),
        ("score", pa.float64()),
        ("threshold", pa.float64()),
        ("sigma", pa.float64()),
        ("expected", pa.float64()),
    ]
)
RUL_SCHEMA = pa.schema(
    [
        ("asset", pa.string()),
        ("unit", pa.string()),
        ("rul", pa.float64()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
    ]
)


def bucket_medians(frame: pd.DataFrame, *, width_us: int) -> pd.DataFrame:
    """Median of every signal in buckets of ``width_us`` microseconds (asset, signal, ts, value).

    Medians, not means: a spike or a short dropout in a bucket does not move them.
    Rows with a non-finite value are the caller's to drop (the scan does).
    """
    stamps = frame["ts"].to_numpy(dtype="datetime64[us]").astype(np.int64)
    start = (stamps - BUCKET_ORIGIN_US) // width_us * width_us + BUCKET_ORIGIN_US
    # Integer keys (signal codes in sorted order) group several times faster than strings.
    codes, names = pd.factorize(frame["signal"], sort=True)
    keyed = pd.DataFrame({"code": codes, "bucket": start, "value": frame["value"].to_numpy()})
    medians = keyed.groupby(["code", "bucket"], sort=True)["value"].median()
    code = medians.index.get_level_values("code").to_numpy()
    bucket = medians.index.get_level_values("bucket").to_numpy()
    return pd.DataFrame(
        {
            "asset": frame["asset"].iloc[0] if len(frame) else "",
            "signal": np.asarray(names, dtype=object)[code],
            "ts": pd.DatetimeIndex(bucket.astype("datetime64[us]")).tz_localize("UTC"),
            "value": medians.to_numpy(dtype=np.float64),
        }
    )


def score_asset(frame: pd.DataFrame, *, monitors: Mapping[str, ConditionMonitor]) -> pd.DataFrame:
    """One asset's condition rows (ts, asset, signals...) scored by its monitor, as long rows.

    An asset without a monitor returns no rows, as :class:`FleetConditionMonitor` skips it.
    """
    asset = str(frame["asset"].iloc[0])
    monitor = monitors.get(asset)
    if monitor is None:
        return pd.DataFrame(columns=SCORE_SCHEMA.names)
    result = monitor.score(frame.set_index("ts").drop(columns=["asset"]))
    signals = list(result.deviation_sigma.columns)
    n_rows, n_signals = len(result.index), len(signals)
    return pd.DataFrame(
        {
            "asset": asset,
            "ts": np.repeat(pd.DatetimeIndex(result.index).as_unit("us"), n_signals),
            "signal": np.tile(np.asarray(signals, dtype=object), n_rows),
            "score": np.repeat(result.score, n_signals),
            "threshold": result.threshold,
            "sigma": result.deviation_sigma.to_numpy(dtype=np.float64).ravel(),
            "expected": result.expected.to_numpy(dtype=np.float64).ravel(),
        }
    )


def scores_from_table(table: pa.Table) -> dict[str, AnomalyScores]:
    """The :class:`AnomalyScores` of every asset from :func:`score_asset`'s rows."""
    frame = table.to_pandas()
    out: dict[str, AnomalyScores] = {}
    for asset, rows in frame.groupby("asset", sort=True):
        signals = list(dict.fromkeys(rows["signal"]))
        n_signals = len(signals)
        index = pd.DatetimeIndex(rows["ts"].to_numpy()[::n_signals], name="ts")
        score = rows["score"].to_numpy(dtype=np.float64)[::n_signals]
        threshold = float(rows["threshold"].iloc[0])

        sigma, expected = (
            pd.DataFrame(
                rows[column].to_numpy(dtype=np.float64).reshape(-1, n_signals),
                index=index,
                columns=pd.Index(signals),
            )
            for column in ("sigma", "expected")
        )
        out[str(asset)] = AnomalyScores(
            index=index,
            score=score,
            threshold=threshold,
            is_anomaly=np.asarray(score > threshold, dtype=np.bool_),
            deviation_sigma=sigma,
            expected=expected,
        )
    return out


def rul_asset(frame: pd.DataFrame, *, model: DegradationRul) -> pd.DataFrame:
    """RUL at the last observation of one asset's current life (rows: unit, time, score)."""
    prediction = model.predict(frame)
    return pd.DataFrame(
        {
            "asset": [str(u).split("#")[0] for u in prediction.unit],
            "unit": prediction.unit.astype(str),
            "rul": prediction.rul,
            "lower": prediction.lower,
            "upper": prediction.upper,
        }
    )


def rul_from_table(table: pa.Table, level: float) -> RulPrediction:
    """One :class:`RulPrediction` (unit = asset) from :func:`rul_asset`'s rows."""
    frame = table.to_pandas()
    return RulPrediction(
        unit=frame["asset"].to_numpy(dtype=object),
        rul=frame["rul"].to_numpy(dtype=np.float64),
        lower=frame["lower"].to_numpy(dtype=np.float64),
        upper=frame["upper"].to_numpy(dtype=np.float64),
        level=level,
    )
