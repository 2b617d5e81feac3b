"""The record-level data-quality checks and :func:`run_checks`.

Every check is a pure function of a long readings frame (asset, signal, ts, value and
optionally seq, ingest_id, received_at) and the signals table, returning one
:class:`QualityIssue` per episode.  The value-pattern checks live beside this module:
stuck in ``series_checks``, spike in ``spikes``, unit shift in ``shifts``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

from shopfloor.config import QualitySettings
from shopfloor.data_quality.model import QualityIssue, describe_duration, describe_ts
from shopfloor.data_quality.prepared import (
    CheckContext,
    context,
    make_issue,
    runs,
    timestamp,
)
from shopfloor.data_quality.series_checks import stuck_issues
from shopfloor.data_quality.shifts import unit_shift_issues
from shopfloor.data_quality.spikes import spike_issues

DEFAULT_SETTINGS = QualitySettings()
DEFAULT_TOLERANCE_S = 300.0

ALL_CHECKS: tuple[str, ...] = (
    "missing",
    "gap",
    "out_of_range",
    "stuck",
    "spike",
    "duplicate",
    "out_of_order",
    "future_timestamp",
    "unit_shift",
    "stale",
)


def _span(ts: np.ndarray, lo: int, hi: int) -> str:
    return f"from {describe_ts(timestamp(ts[lo]))} to {describe_ts(timestamp(ts[hi - 1]))}"


def missing_issues(ctx: CheckContext) -> list[QualityIssue]:
    issues = []
    for s in ctx.prepared.series:
        keep = s.current
        ts, value = s.ts[keep], s.value[keep]
        for lo, hi in zip(*runs(np.isnan(value)), strict=True):
            issues.append(
                make_issue(
                    "missing", s, ts[lo], ts[hi - 1], "warning", hi - lo,
                    f"{hi - lo} null value(s) of {s.signal} {_span(ts, lo, hi)}",
                )
            )  # fmt: skip
    return issues


def gap_issues(ctx: CheckContext) -> list[QualityIssue]:
    issues = []
    for s in ctx.prepared.series:
        ts = s.ts[s.current]
        if ts.size < 2:
            continue
        step = np.diff(ts)
        for i in np.flatnonzero(step > ctx.settings.gap_factor * s.period_us):
            lost = max(1, round(step[i] / s.period_us) - 1)
            issues.append(
                make_issue(
                    "gap", s, ts[i], ts[i + 1], "warning", lost,
                    f"no {s.signal} samples for {describe_duration(step[i] / 1e6)} between "
                    f"{describe_ts(timestamp(ts[i]))} and {describe_ts(timestamp(ts[i + 1]))}"
                    f" (about {lost} expected samples lost)",
                )
            )  # fmt: skip
    return issues


def out_of_range_issues(ctx: CheckContext) -> list[QualityIssue]:
    issues = []
    for s in ctx.prepared.series:
        if s.lower is None and s.upper is None:
            continue
        keep = s.current
        ts, value = s.ts[keep], s.value[keep]
        for lo, hi in zip(*runs(s.out_of_range(value)), strict=True):
            worst = value[lo:hi][np.argmax(np.abs(value[lo:hi]))]
            issues.append(
                make_issue(
                    "out_of_range", s, ts[lo], ts[hi - 1], "critical", hi - lo,
                    f"{hi - lo} value(s) of {s.signal} outside [{s.lower}, {s.upper}] "
                    f"{s.unit or ''} {_span(ts, lo, hi)}, e.g. {worst:g}",
                )
            )  # fmt: skip
    return issues


def duplicate_issues(ctx: CheckContext) -> list[QualityIssue]:
    issues = []
    for s in ctx.prepared.series:
        if not s.repeat.any():
            continue
        first = ~s.repeat
        group = np.cumsum(first) - 1
        copies = np.bincount(group[s.repeat], minlength=int(first.sum()))
        unique_ts = s.ts[first]
        unique_value = s.value[first]
        differs = np.zeros(len(unique_ts), dtype=bool)
        with np.errstate(invalid="ignore"):
            changed = s.value[s.repeat] != unique_value[group[s.repeat]]
        differs[group[s.repeat][changed & ~np.isnan(s.value[s.repeat])]] = True
        for lo, hi in zip(*runs(copies > 0), strict=True):
            extra = int(copies[lo:hi].sum())
            conflict = " with conflicting values" if differs[lo:hi].any() else ""
            issues.append(
                make_issue(
                    "duplicate", s, unique_ts[lo], unique_ts[hi - 1], "info", extra,
                    f"{extra} repeated row(s) of {s.signal}{conflict} for timestamps "
                    f"{_span(unique_ts, lo, hi)}",
                )
            )  # fmt: skip
    return issues


def out_of_order_issues(ctx: CheckContext) -> list[QualityIssue]:
    """Rows that arrive after a later timestamp of their series and source.

    A row that merely repeats an already delivered (series, ts) is a duplicate, not
    late, and rows from the future are left to their own check (they would otherwise
    make every following row look late).
    """
    prepared = ctx.prepared
    issues = []
    for s in prepared.series:
        eligible = s.current
        rows = s.rows[eligible]
        if rows.size < 2:
            continue
        order = np.lexsort((prepared.arrival[rows], prepared.source[rows]))
        rows, ts = rows[order], s.ts[eligible][order]
        source = prepared.source[rows]
        late = np.zeros(rows.size, dtype=bool)
        for lo, hi in _blocks(source):
            seen = np.maximum.accumulate(ts[lo:hi])
            late[lo + 1 : hi] = ts[lo + 1 : hi] < seen[:-1]
        for lo, hi in zip(*runs(late), strict=True):
            block = ts[lo:hi]
            issues.append(
                make_issue(
                    "out_of_order", s, block.min(), block.max(), "info", hi - lo,
                    f"{hi - lo} row(s) of {s.signal} with timestamps "
                    f"{_span(np.sort(block), 0, block.size)} arrived after later ones",
                )
            )  # fmt: skip
    return issues


def _blocks(keys: np.ndarray) -> list[tuple[int, int]]:
    cuts = np.concatenate(([0], np.flatnonzero(keys[1:] != keys[:-1]) + 1, [keys.size]))
    return [(int(a), int(b)) for a, b in pairwise(cuts)]


def future_timestamp_issues(ctx: CheckContext) -> list[QualityIssue]:
    issues = []
    for s in ctx.prepared.series:
        if not s.future.any():
            continue
        ts = s.ts[s.future]
        # Rows of one skewed clock come at the normal rhythm; a jump separates episodes.
        cuts = np.flatnonzero(np.diff(ts) > ctx.settings.gap_factor * s.period_us) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, ts.size], strict=True):
            issues.append(
                make_issue(
                    "future_timestamp", s, ts[lo], ts[hi - 1], "critical", hi - lo,
                    f"{hi - lo} row(s) of {s.signal} time-stamped in the future "
                    f"({_span(ts, lo, hi)}); the source clock is probably off",
                )
            )  # fmt: skip
    return issues


def stale_issues(ctx: CheckContext) -> list[QualityIssue]:
    if ctx.reference_end_us is None:
        return []
    issues = []
    for s in ctx.prepared.series:
        ts = s.ts[~s.future]
        if ts.size == 0:
            continue
        last = int(ts.max())
        silence_us = ctx.reference_end_us - last
        allowed_us = max(ctx.settings.stale_after_s * 1e6, ctx.settings.gap_factor * s.period_us)
        if silence_us > allowed_us:
            issues.append(
                make_issue(
                    "stale", s, last, ctx.reference_end_us, "critical",
                    silence_us // s.period_us,
                    f"{s.signal} has not reported since {describe_ts(timestamp(last))} "
                    f"({describe_duration(silence_us / 1e6)} before "
                    f"{describe_ts(timestamp(ctx.reference_end_us))})",
                )
            )  # fmt: skip
    return issues


_IMPLEMENTATIONS: dict[str, Callable[[CheckContext], list[QualityIssue]]] = {
    "missing": missing_issues,
    "gap": gap_issues,
    "out_of_range": out_of_range_issues,
    "stuck": stuck_issues,
    "spike": spike_issues,
    "duplicate": duplicate_issues,
    "out_of_order": out_of_order_issues,
    "future_timestamp": future_timestamp_issues,
    "unit_shift": unit_shift_issues,
    "stale": stale_issues,
}


def _one(
    name: str,
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings,
    now: pd.Timestamp | None,
    tolerance_s: float,
    reference_end: pd.Timestamp | None = None,
) -> list[QualityIssue]:
    ctx = context(
        readings, signals, settings, now=now, tolerance_s=tolerance_s, reference_end=reference_end
    )
    return _IMPLEMENTATIONS[name](ctx)


def missing(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings = DEFAULT_SETTINGS,
    *,
    now: pd.Timestamp | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[QualityIssue]:
    """Runs of null values (the rows are there, the values are not)."""
    return _one("missing", readings, signals, settings, now, tolerance_s)


def gap(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings = DEFAULT_SETTINGS,
    *,
    now: pd.Timestamp | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[QualityIssue]:
    """Spacing longer than ``gap_factor`` nominal periods; one issue per gap."""
    return _one("gap", readings, signals, settings, now, tolerance_s)


def out_of_range(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings = DEFAULT_SETTINGS,
    *,
    now: pd.Timestamp | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[QualityIssue]:
    """Values outside the signal's plausible [lower, upper] (sentinels, impossible values)."""
    return _one("out_of_range", readings, signals, settings, now, tolerance_s)


def duplicate(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings = DEFAULT_SETTINGS,
    *,
    now: pd.Timestamp | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[QualityIssue]:
    """Rows repeating an (asset, signal, ts) already present."""
    return _one("duplicate", readings, signals, settings, now, tolerance_s)


def out_of_order(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings = DEFAULT_SETTINGS,
    *,
    now: pd.Timestamp | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[QualityIssue]:
    """Rows whose ts is earlier than one already delivered by the same source.

    Arrival order is ``seq`` within ``ingest_id`` when the frame has them, else row order.
    """
    return _one("out_of_order", readings, signals, settings, now, tolerance_s)


def future_timestamp(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings = DEFAULT_SETTINGS,
    *,
    now: pd.Timestamp | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[QualityIssue]:
    """Rows stamped later than ``received_at`` (else ``now``, else the wall clock) + tolerance."""
    return _one("future_timestamp", readings, signals, settings, now, tolerance_s)


def stale(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings = DEFAULT_SETTINGS,
    *,
    reference_end: pd.Timestamp | None = None,
    now: pd.Timestamp | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[QualityIssue]:
    """Series silent for longer than ``max(stale_after_s, gap_factor x period)``.

    Silence is measured up to ``reference_end`` (default: the latest non-future ts of the
    frame, so that one silent series stands out among the others).
    """
    return _one("stale", readings, signals, settings, now, tolerance_s, reference_end)


def stuck(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings = DEFAULT_SETTINGS,
    *,
    now: pd.Timestamp | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[QualityIssue]:
    """At least ``stuck_min_samples`` consecutive identical plausible values (a flat line)."""
    return _one("stuck", readings, signals, settings, now, tolerance_s)


def spike(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings = DEFAULT_SETTINGS,
    *,
    now: pd.Timestamp | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[QualityIssue]:
    """Isolated samples far from the rolling median (Hampel), not echoed by sibling signals."""
    return _one("spike", readings, signals, settings, now, tolerance_s)


def unit_shift(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings = DEFAULT_SETTINGS,
    *,
    now: pd.Timestamp | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[QualityIssue]:
    """Sustained segments whose level and noise match another unit of the signal's dimension."""
    return _one("unit_shift", readings, signals, settings, now, tolerance_s)


def run_checks(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    settings: QualitySettings = DEFAULT_SETTINGS,
    *,
    checks: Sequence[str] = ALL_CHECKS,
    now: pd.Timestamp | None = None,
    reference_end: pd.Timestamp | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[QualityIssue]:
    """Run the named checks over one frame, sorting it only once."""
    unknown = [c for c in checks if c not in _IMPLEMENTATIONS]
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(ALL_CHECKS)}")
    ctx = context(
        readings, signals, settings, now=now, tolerance_s=tolerance_s, reference_end=reference_end
    )
    issues: list[QualityIssue] = []
    for name in checks:
        issues.extend(_IMPLEMENTATIONS[name](ctx))
    return issues
