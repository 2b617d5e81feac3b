"""Repair what can be repaired honestly, and say what was changed.

Policies, always applied in this order whatever the order given:

``dedupe``
    keep the first arrival of each (asset, signal, ts).
``unit_shift``
    convert each flagged segment back from the suspected unit (from the issue's detail).
``clip``
    inside out-of-range episodes, a value at most 10 % of the plausible span beyond a
    limit is clipped to that limit (a slightly miscalibrated sensor); anything further
    (a sentinel such as -999, an impossible reading) is set to null rather than
    replaced by an invented number.
``interpolate``
    null runs and gaps no longer than ``max_gap_s`` are filled linearly between their
    neighbours, gaps at the nominal period.

Every repaired row gets ``quality`` 1 (uncertain), every nulled one 2 (bad); untouched
rows keep theirs (0 where the input had no quality column).  Spikes and flat lines are
reported, not repaired: there is no trustworthy value to put in their place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopfloor.config import QualitySettings
from shopfloor.data_quality.model import QualityIssue
from shopfloor.data_quality.prepared import (
    optional_number,
    optional_text,
    prepare,
    runs,
    timestamp,
    to_us,
    utc,
)
from shopfloor.data_quality.units import compatible, convert

POLICIES = ("dedupe", "unit_shift", "clip", "interpolate")
ACTION_COLUMNS = ("policy", "asset", "signal", "start", "end", "rows", "detail")
MILD_SHARE = 0.1  # of the plausible span: beyond a limit by at most this much is clipped

_Action = tuple[str, str, str, pd.Timestamp, pd.Timestamp, int, str]
_Limits = tuple[str | None, float | None, float | None, float | None]  # unit, lower, upper, period
_SHIFT_DETAIL = re.compile(r"looks like (?P<found>\S+) instead of (?P<registered>\S+)")
_DEFAULT = QualitySettings()


@dataclass(frozen=True)
class RepairResult:
    frame: pd.DataFrame  # repaired readings, sorted by asset, signal, ts
    actions: pd.DataFrame  # one row per change: policy, asset, signal, start, end, rows, detail


def suspected_units(issue: QualityIssue) -> tuple[str, str] | None:
    """``(unit the data seems to be in, registered unit)`` of a unit-shift issue."""
    match = _SHIFT_DETAIL.search(issue.detail)
    return (match["found"], match["registered"]) if match else None


def repair(
    readings: pd.DataFrame,
    issues: Sequence[QualityIssue],
    signals: pd.DataFrame,
    policies: Sequence[str] = POLICIES,
    max_gap_s: float | None = None,
    settings: QualitySettings = _DEFAULT,
) -> RepairResult:
    """A repaired copy of ``readings`` and the list of actions; the input is not modified."""
    unknown = sorted(set(policies) - set(POLICIES))
    if unknown:
        raise ValueError(
            f"unknown repair policy {', '.join(unknown)}; known: {', '.join(POLICIES)}"
        )
    limit_s = settings.interpolate_max_gap_s if max_gap_s is None else max_gap_s
    actions: list[_Action] = []
    frame = readings.copy()
    if "quality" not in frame.columns:
        frame["quality"] = np.zeros(len(frame), dtype=np.int8)
    frame["quality"] = frame["quality"].fillna(0).astype(np.int8)
    frame["value"] = frame["value"].astype(np.float64)

    if "dedupe" in policies:
        frame = _dedupe(frame, signals, actions)
    frame = frame.sort_values(["asset", "signal", "ts"], kind="stable", ignore_index=True)
    ts_us = to_us(frame["ts"])
    spans = _series_spans(frame)
    meta = _limits(signals)
    by_series: dict[tuple[str, str], list[QualityIssue]] = {}
    for issue in issues:
        if issue.signal is not None:
            by_series.setdefault((issue.asset, issue.signal), []).append(issue)

    value = frame["value"].to_numpy(dtype=np.float64, na_value=np.nan).copy()
    quality = frame["quality"].to_numpy().copy()
    for key, (lo, hi) in spans.items():
        mine = by_series.get(key, [])
        unit, lower, upper, _ = meta.get(key, (None, None, None, None))
        for issue in mine:
            a = lo + int(np.searchsorted(ts_us[lo:hi], utc(issue.start).value // 1000, "left"))
            b = lo + int(np.searchsorted(ts_us[lo:hi], utc(issue.end).value // 1000, "right"))
            if issue.check == "unit_shift" and "unit_shift" in policies:
                _undo_shift(issue, unit, value, quality, a, b, actions)
            elif issue.check == "out_of_range" and "clip" in policies:
                _clip(issue, lower, upper, value, quality, a, b, actions)
    frame["value"], frame["quality"] = value, quality

    if "interpolate" in policies:
        frame = _interpolate(frame, ts_us, spans, meta, limit_s, settings, actions)
    return RepairResult(frame=frame, actions=_actions_frame(actions))


def _dedupe(frame: pd.DataFrame, signals: pd.DataFrame, actions: list[_Action]) -> pd.DataFrame:
    prepared = prepare(frame, signals)
    drop = np.zeros(len(frame), dtype=bool)
    for s in prepared.series:
        if not s.repeat.any():
            continue
        drop[s.rows[s.repeat]] = True
        repeated = s.ts[s.repeat]
        actions.append(
            ("dedupe", s.asset, s.signal, timestamp(repeated.min()), timestamp(repeated.max()),
             int(s.repeat.sum()), "dropped repeated rows, kept the first arrival")
        )  # fmt: skip
    return frame.loc[~drop].reset_index(drop=True)


def _undo_shift(
    issue: QualityIssue,
    unit: str | None,
    value: np.ndarray,
    quality: np.ndarray,
    a: int,
    b: int,
    actions: list[_Action],
) -> None:
    units = suspected_units(issue)
    if units is None or b <= a:
        return
    found, registered = units
    target = unit or registered
    if not compatible(found, target):
        return
    value[a:b] = convert(value[a:b], found, target)
    quality[a:b] = np.maximum(quality[a:b], 1)
    actions.append(
        ("unit_shift", issue.asset, issue.signal or "", issue.start, issue.end, b - a,
         f"converted {b - a} value(s) from {found} back to {target}")
    )  # fmt: skip


def _clip(
    issue: QualityIssue,
    lower: float | None,
    upper: float | None,
    value: np.ndarray,
    quality: np.ndarray,
    a: int,
    b: int,
    actions: list[_Action],
) -> None:
    part = value[a:b]
    low = -np.inf if lower is None else lower
    high = np.inf if upper is None else upper
    margin = MILD_SHARE * (high - low) if np.isfinite(high - low) else 0.0
    finite = np.isfinite(part)
    mild_low = finite & (part < low) & (part >= low - margin)
    mild_high = finite & (part > high) & (part <= high + margin)
    wild = ((part < low) | (part > high) | np.isinf(part)) & ~(mild_low | mild_high)
    part[mild_low] = low
    part[mild_high] = high
    part[wild] = np.nan
    value[a:b] = part
    q = quality[a:b]
    q[mild_low | mild_high] = np.maximum(q[mild_low | mild_high], 1)
    q[wild] = 2
    quality[a:b] = q
    clipped, nulled = int((mild_low | mild_high).sum()), int(wild.sum())
    if clipped or nulled:
        actions.append(
            ("clip", issue.asset, issue.signal or "", issue.start, issue.end, clipped + nulled,
             f"clipped {clipped} value(s) to the plausible limits, set {nulled} implausible"
             " value(s) to null")
        )  # fmt: skip


def _interpolate(
    frame: pd.DataFrame,
    ts_us: np.ndarray,
    spans: dict[tuple[str, str], tuple[int, int]],
    meta: dict[tuple[str, str], _Limits],
    limit_s: float,
    settings: QualitySettings,
    actions: list[_Action],
) -> pd.DataFrame:
    value = frame["value"].to_numpy(dtype=np.float64, na_value=np.nan).copy()
    quality = frame["quality"].to_numpy().copy()
    limit_us = limit_s * 1e6
    new_rows: list[pd.DataFrame] = []
    for (asset, signal), (lo, hi) in spans.items():
        ts, v = ts_us[lo:hi], value[lo:hi]
        known = ~np.isnan(v)
        if known.sum() < 2:
            continue
        for a, b in zip(*runs(~known), strict=True):
            if a == 0 or b == v.size or ts[b] - ts[a - 1] > limit_us + 1:
                continue
            v[a:b] = np.interp(ts[a:b], ts[[a - 1, b]], v[[a - 1, b]])
            quality[lo + a : lo + b] = 1  # an estimate now, whatever was there before
            actions.append(
                ("interpolate", asset, signal, timestamp(ts[a]), timestamp(ts[b - 1]), b - a,
                 f"filled {b - a} null value(s) linearly")
            )  # fmt: skip
        value[lo:hi] = v
        period_s = meta.get((asset, signal), (None, None, None, None))[3] or _median_period(ts)
        period_us = round(period_s * 1e6)
        step = np.diff(ts)
        holes = np.flatnonzero((step > settings.gap_factor * period_us) & (step <= limit_us))
        for i in holes:
            if np.isnan(v[i]) or np.isnan(v[i + 1]):
                continue
            fill = np.arange(ts[i] + period_us, ts[i + 1] - period_us // 2, period_us)
            if fill.size == 0:
                continue
            filled = np.interp(fill, ts[[i, i + 1]], v[[i, i + 1]])
            new_rows.append(
                pd.DataFrame({
                    "asset": asset, "signal": signal,
                    "ts": pd.to_datetime(fill, unit="us", utc=True).astype("datetime64[us, UTC]"),
                    "value": filled, "quality": np.ones(fill.size, dtype=np.int8),
                })
            )  # fmt: skip
            actions.append(
                ("interpolate", asset, signal, timestamp(fill[0]), timestamp(fill[-1]), fill.size,
                 f"inserted {fill.size} sample(s) into a {(ts[i + 1] - ts[i]) / 1e6:.0f} s gap")
            )  # fmt: skip
    frame = frame.assign(value=value, quality=quality)
    if not new_rows:
        return frame
    added = pd.concat(new_rows, ignore_index=True)
    added["ts"] = added["ts"].astype(frame["ts"].dtype)
    combined = pd.concat([frame, added], ignore_index=True)
    for column in frame.columns:
        if column not in ("value", "quality") and frame[column].dtype.kind in "iu":
            combined[column] = combined[column].astype("Int64")
    combined["quality"] = combined["quality"].astype(np.int8)
    return combined.sort_values(["asset", "signal", "ts"], kind="stable", ignore_index=True)


def _median_period(ts: np.ndarray) -> float:
    step = np.diff(ts)
    step = step[step > 0]
    return float(np.median(step)) / 1e6 if step.size else 1.0


def _series_spans(frame: pd.DataFrame) -> dict[tuple[str, str], tuple[int, int]]:
    keys = list(zip(frame["asset"].astype(str), frame["signal"].astype(str), strict=True))
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    if not keys:
        return spans
    change = np.flatnonzero(
        (frame["asset"].to_numpy()[1:] != frame["asset"].to_numpy()[:-1])
        | (frame["signal"].to_numpy()[1:] != frame["signal"].to_numpy()[:-1])
    )
    starts = np.r_[0, change + 1]
    stops = np.r_[change + 1, len(frame)]
    for a, b in zip(starts, stops, strict=True):
        spans[keys[a]] = (int(a), int(b))
    return spans


def _limits(signals: pd.DataFrame) -> dict[tuple[str, str], _Limits]:
    table = {}
    for record in signals.to_dict("records"):
        table[(str(record["asset"]), str(record["signal"]))] = (
            optional_text(record.get("unit")),
            optional_number(record.get("lower")),
            optional_number(record.get("upper")),
            optional_number(record.get("period_s")),
        )
    return table


def _actions_frame(
    actions: list[_Action],
) -> pd.DataFrame:
    frame = pd.DataFrame(actions, columns=list(ACTION_COLUMNS))
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    frame["rows"] = frame["rows"].astype("int64")
    return frame
