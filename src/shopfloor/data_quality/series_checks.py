"""The flat-line check, and the sample selection shared by the value-pattern checks.

Stuck, spike and unit-shift look at the plausible, non-null, first-arrival, non-future
samples of a series in time order, so that sentinels, duplicates and future rows
(reported by their own checks) neither hide nor fake these faults.
"""

from __future__ import annotations

import numpy as np

from shopfloor.data_quality.model import QualityIssue, describe_duration, describe_ts
from shopfloor.data_quality.prepared import (
    BoolArray,
    CheckContext,
    FloatArray,
    Int64Array,
    Series,
    make_issue,
    runs,
    timestamp,
)


def plausible(series: Series) -> tuple[Int64Array, FloatArray]:
    """(ts, value) of the samples worth analysing for value patterns."""
    keep = series.current & np.isfinite(series.value)
    keep &= ~series.out_of_range(series.value)
    return series.ts[keep], series.value[keep]


def flat_runs(value: FloatArray, minimum: int) -> BoolArray:
    """Samples inside runs of at least ``minimum`` identical consecutive values."""
    flat = np.zeros(value.size, dtype=bool)
    # A run of k "equal to the previous sample" pairs spans k + 1 samples.
    for lo, hi in zip(*runs(value[1:] == value[:-1]), strict=True):
        if hi - lo + 1 >= minimum:
            flat[lo : hi + 1] = True
    return flat


def stuck_issues(ctx: CheckContext) -> list[QualityIssue]:
    minimum = ctx.settings.stuck_min_samples
    issues = []
    for s in ctx.prepared.series:
        ts, value = plausible(s)
        if value.size < minimum:
            continue
        for lo, hi in zip(*runs(flat_runs(value, minimum)), strict=True):
            count = hi - lo
            issues.append(
                make_issue(
                    "stuck", s, ts[lo], ts[hi - 1], "warning", count,
                    f"{s.signal} flat at {value[lo]:g} for {count} samples "
                    f"({describe_duration((ts[hi - 1] - ts[lo]) / 1e6)}) from "
                    f"{describe_ts(timestamp(ts[lo]))}",
                )
            )  # fmt: skip
    return issues
