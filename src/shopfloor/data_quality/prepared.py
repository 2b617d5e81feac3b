"""One sort of a readings frame, shared by every check.

Sorting 1.5 M rows costs more than most checks do, so :func:`prepare` sorts once by
(series, ts, arrival) and hands each check cheap per-series views.  Timestamps are
int64 microseconds since the epoch (UTC) throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.config import QualitySettings
from shopfloor.data_quality.model import QualityIssue, Severity

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

READING_COLUMNS = ("asset", "signal", "ts", "value")


@dataclass(frozen=True)
class Series:
    """One (asset, signal) series, sorted by ts; ties keep arrival order."""

    asset: str
    signal: str
    unit: str | None
    lower: float | None
    upper: float | None
    period_s: float
    rows: Int64Array  # positions in the original frame
    ts: Int64Array
    value: FloatArray
    future: BoolArray  # ts lies beyond the ingest time (+ tolerance)
    repeat: BoolArray  # same ts as an earlier-arriving row of this series

    @property
    def period_us(self) -> int:
        return max(1, round(self.period_s * 1e6))

    @property
    def current(self) -> BoolArray:
        """Rows that count for time-based checks: not from the future, first arrival only."""
        return ~self.future & ~self.repeat

    def out_of_range(self, value: FloatArray) -> BoolArray:
        """Values outside the plausible limits (infinities always count)."""
        bad = np.isinf(value)
        with np.errstate(invalid="ignore"):
            if self.lower is not None:
                bad |= value < self.lower
            if self.upper is not None:
                bad |= value > self.upper
        return bad


@dataclass(frozen=True)
class PreparedReadings:
    series: tuple[Series, ...]
    arrival: Int64Array  # arrival rank of each frame row
    source: Int64Array  # ingest id of each frame row (0 when unknown)
    reference_end_us: int | None  # latest non-future ts of the frame


def to_us(values: pd.Series | pd.Index) -> Int64Array:
    """UTC microseconds of a timestamp column (naive values are taken as UTC)."""
    index = pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("us")
    return np.asarray(index.asi8, dtype=np.int64)


def timestamp(us: int | np.integer) -> pd.Timestamp:
    return pd.Timestamp(int(us), unit="us", tz="UTC")


def utc(value: pd.Timestamp | str) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def runs(mask: BoolArray) -> tuple[Int64Array, Int64Array]:
    """Half-open ``[start, stop)`` index ranges of the True runs of ``mask``."""
    if mask.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    return np.flatnonzero(edges == 1).astype(np.int64), np.flatnonzero(edges == -1).astype(np.int64)


def _arrival_rank(readings: pd.DataFrame) -> Int64Array:
    n = len(readings)
    position = np.arange(n, dtype=np.int64)
    if "seq" not in readings.columns:
        return position
    seq = readings["seq"].to_numpy(dtype=np.float64, na_value=np.nan)
    seq = np.where(np.isnan(seq), position, seq)
    source = _source_ids(readings)
    order = np.lexsort((position, seq, source))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = position
    return rank


def _source_ids(readings: pd.DataFrame) -> Int64Array:
    if "ingest_id" not in readings.columns:
        return np.zeros(len(readings), dtype=np.int64)
    ids = readings["ingest_id"].to_numpy(dtype=np.float64, na_value=-1.0)
    return ids.astype(np.int64)


def _future_limit_us(
    readings: pd.DataFrame, now: pd.Timestamp | None, tolerance_s: float
) -> Int64Array:
    tolerance_us = round(tolerance_s * 1e6)
    fallback = utc(now) if now is not None else pd.Timestamp.now(tz="UTC")
    fallback_us = int(fallback.value // 1000) + tolerance_us
    limit = np.full(len(readings), fallback_us, dtype=np.int64)
    if "received_at" in readings.columns:
        received = pd.to_datetime(readings["received_at"], utc=True)
        known = received.notna().to_numpy()
        if known.any():
            limit[known] = to_us(received[known]) + tolerance_us
    return limit


def optional_number(value: object) -> float | None:
    """A float from a table cell, None where the cell is null."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def optional_text(value: object) -> str | None:
    """A string from a table cell, None where the cell is null."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _signal_table(signals: pd.DataFrame) -> dict[tuple[str, str], dict[str, object]]:
    if signals is None or len(signals) == 0:
        return {}
    table: dict[tuple[str, str], dict[str, object]] = {}
    columns = [c for c in ("unit", "lower", "upper", "period_s") if c in signals.columns]
    for record in signals[["asset", "signal", *columns]].to_dict("records"):
        table[(str(record["asset"]), str(record["signal"]))] = {
            str(k): v for k, v in record.items()
        }
    return table


def _period_s(nominal: object, ts: Int64Array) -> float:
    period = optional_number(nominal)
    if period is not None and period > 0:
        return period
    steps = np.diff(ts)
    steps = steps[steps > 0]
    return float(np.median(steps)) / 1e6 if steps.size else 1.0


def prepare(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    *,
    now: pd.Timestamp | None = None,
    tolerance_s: float = 300.0,
) -> PreparedReadings:
    """Sort the frame once by (asset, signal, ts, arrival) and cut it into series.

    A row is from the future when its ts lies more than ``tolerance_s`` after the time it
    was received: its ``received_at`` where the frame has one, else ``now``, else the
    wall clock.
    """
    missing = [c for c in READING_COLUMNS if c not in readings.columns]
    if missing:
        raise ValueError(f"readings lack column(s) {', '.join(missing)}")
    n = len(readings)
    asset_codes, asset_names = pd.factorize(readings["asset"], use_na_sentinel=False)
    signal_codes, signal_names = pd.factorize(readings["signal"], use_na_sentinel=False)
    key = asset_codes.astype(np.int64) * max(1, len(signal_names)) + signal_codes
    ts = to_us(readings["ts"]) if n else np.zeros(0, dtype=np.int64)
    value = readings["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    arrival = _arrival_rank(readings)
    future_all = ts > _future_limit_us(readings, now, tolerance_s)

    order = np.lexsort((arrival, ts, key)).astype(np.int64)
    key_sorted, ts_sorted = key[order], ts[order]
    value_sorted, future_sorted = value[order], future_all[order]
    same_key = key_sorted[1:] == key_sorted[:-1]
    repeat_sorted = np.concatenate(([False], same_key & (ts_sorted[1:] == ts_sorted[:-1])))
    bounds = np.concatenate(([0], np.flatnonzero(~same_key) + 1, [n])) if n else np.zeros(1, int)

    meta = _signal_table(signals)
    series: list[Series] = []
    for lo, hi in pairwise(bounds):
        code = int(key_sorted[lo])
        asset = str(asset_names[code // max(1, len(signal_names))])
        signal = str(signal_names[code % max(1, len(signal_names))])
        info = meta.get((asset, signal), {})
        part_ts = ts_sorted[lo:hi]
        current = ~(future_sorted[lo:hi] | repeat_sorted[lo:hi])
        series.append(
            Series(
                asset=asset,
                signal=signal,
                unit=optional_text(info.get("unit")),
                lower=optional_number(info.get("lower")),
                upper=optional_number(info.get("upper")),
                period_s=_period_s(info.get("period_s"), part_ts[current]),
                rows=order[lo:hi],
                ts=part_ts,
                value=value_sorted[lo:hi],
                future=future_sorted[lo:hi],
                repeat=repeat_sorted[lo:hi],
            )
        )
    present = ts[~future_all]
    return PreparedReadings(
        series=tuple(series),
        arrival=arrival,
        source=_source_ids(readings),
        reference_end_us=int(present.max()) if present.size else None,
    )


@dataclass(frozen=True)
class CheckContext:
    """What every check receives: the sorted frame, the settings and the time references."""

    prepared: PreparedReadings
    settings: QualitySettings
    reference_end_us: int | None
    # Results one check computes and another reuses (spike skips unit-shifted stretches).
    memo: dict[tuple[str, str, str], object] = field(default_factory=dict)


def context(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings,
    *,
    now: pd.Timestamp | None = None,
    tolerance_s: float = 300.0,
    reference_end: pd.Timestamp | None = None,
) -> CheckContext:
    prepared = prepare(readings, signals, now=now, tolerance_s=tolerance_s)
    end_us = (
        int(utc(reference_end).value // 1000)
        if reference_end is not None
        else prepared.reference_end_us
    )
    return CheckContext(prepared=prepared, settings=settings, reference_end_us=end_us)


def make_issue(
    check: str,
    series: Series,
    start_us: int | np.integer,
    end_us: int | np.integer,
    severity: Severity,
    rows: int | np.integer,
    detail: str,
) -> QualityIssue:
    return QualityIssue(
        check=check,
        asset=series.asset,
        signal=series.signal,
        start=timestamp(start_us),
        end=timestamp(end_us),
        severity=severity,
        rows=int(rows),
        detail=detail,
    )
