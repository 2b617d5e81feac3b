"""The unit-shift check: stretches of a series sent in another unit of its dimension.

A gateway or PLC reconfigured to degF, in/s or kPa keeps sending plausible-looking
numbers; only their level and their noise, both scaled by the conversion, give them
away.  Machine stops, starts and wear change level and noise too, but not by the same
factor at once, and not from one sample to the next.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter

from shopfloor.data_quality.model import QualityIssue, describe_ts
from shopfloor.data_quality.prepared import (
    BoolArray,
    CheckContext,
    FloatArray,
    Int64Array,
    Series,
    make_issue,
    timestamp,
)
from shopfloor.data_quality.units import affine, alternatives

MIN_SEGMENT_S = 900.0  # shorter stretches are left to the spike and out-of-range checks
MAX_SEGMENT_S = 14 * 86400.0


_NEAR = 5  # samples nearest a boundary that give the level either side
_SPREAD = 31  # samples of |diff| that give the noise scale around each position
_LEVEL_REL = 0.05  # relative level tolerance at a boundary
_MIN_SAMPLES = 24  # fewer leave a stretch's noise unmeasured
_CONTEXT_MIN, _CONTEXT_MAX = 360, 2160  # samples either side a stretch is compared with
_BINS = 8  # level bands in which inside and outside noise are compared
_COVERED = 0.5  # share of converted-back levels that must lie within the surrounding ones ...
_RANGE_SLACK = 0.5  # ... widened by this share of their range (a segment may run hotter)
_COVERED_STRICT = 0.9  # levels within the surrounding ones for a stretch to need no conversion
_NOISE_BAND = math.log(1.5)  # tolerance (log) of the noise ratio inside / outside
_MAX_TRIES = 3  # entries tried per exit, latest first
_MAX_COMPARED = 1000  # samples per side of a comparison (a stride beyond that)
_MEDIAN_ABS_DIFF_TO_SIGMA = 1.0 / 0.9539


@dataclass(frozen=True)
class _Levels:
    """Per boundary position i (between samples i-1 and i): levels and noise either side."""

    left: FloatArray
    right: FloatArray
    left_sigma: FloatArray
    right_sigma: FloatArray
    jump: FloatArray
    first: FloatArray  # the sample itself (the first one after boundary i)
    smooth: FloatArray  # running median of 5, per sample
    curvature: FloatArray  # |second difference| centred on each sample


def _levels(value: FloatArray) -> _Levels:
    n = value.size
    smooth = median_filter(value, size=_NEAR, mode="nearest")
    index = np.arange(n)
    half = _NEAR // 2
    left = smooth[np.clip(index - half - 1, 0, n - 1)]
    right = smooth[np.clip(index + half, 0, n - 1)]
    step = np.abs(np.diff(value, prepend=value[0]))
    typical = median_filter(step, size=_SPREAD, mode="nearest") * _MEDIAN_ABS_DIFF_TO_SIGMA
    spread = _SPREAD // 2
    left_sigma = typical[np.clip(index - spread - 1, 0, n - 1)]
    right_sigma = typical[np.clip(index + spread + 1, 0, n - 1)]
    curvature = np.abs(np.diff(value, n=2))
    curvature = np.r_[curvature[:1], curvature, curvature[-1:]]
    return _Levels(left, right, left_sigma, right_sigma, step, value, smooth, curvature)


def _misfit(lv: _Levels, at: Int64Array, gain: float, offset: float) -> FloatArray:
    """How far the level after each position is from the level before converted, in noise."""
    expected = lv.left[at] * gain + offset
    noise = lv.right_sigma[at] + abs(gain) * lv.left_sigma[at] + 1e-12
    return np.asarray(np.abs(lv.right[at] - expected) / noise, dtype=np.float64)


def _converted_boundaries(lv: _Levels, gain: float, offset: float) -> Int64Array:
    """Positions where the level after is the level before converted, after a real jump."""
    expected = lv.left * gain + offset
    tolerance = _LEVEL_REL * np.maximum(np.abs(expected), np.abs(lv.right))
    tolerance += 2.0 * (lv.right_sigma + abs(gain) * lv.left_sigma)
    quiet = np.maximum(np.minimum(lv.left_sigma, lv.right_sigma), 1e-12)
    moved = np.abs(lv.right - lv.left) > 6.0 * quiet
    hits = np.flatnonzero((np.abs(lv.right - expected) <= tolerance) & moved)
    hits = hits[(hits >= _NEAR) & (hits <= lv.jump.size - _NEAR)]
    if hits.size == 0:
        return hits.astype(np.int64)
    # Medians of 5 straddle the jump for a few positions; keep the jump itself.
    cluster = np.cumsum(np.r_[True, np.diff(hits) > _NEAR])
    order = np.lexsort((-lv.jump[hits], cluster))
    first = np.r_[True, np.diff(cluster[order]) != 0]
    chosen = np.sort(hits[order][first]).astype(np.int64)
    return chosen[_instantaneous(lv, chosen)]


def _instantaneous(lv: _Levels, at: Int64Array) -> BoolArray:
    """Whether the first sample after each jump already sits at the new level.

    A unit switch is digital: it completes from one sample to the next.  A machine
    stop or start reaches its new level through a lag, and somewhere along that curve
    the levels either side happen to differ by any ratio at all, a conversion's included.
    """
    n = lv.smooth.size
    settled = lv.smooth[np.minimum(at + _NEAR, n - 1)]  # median of the 5 samples from i+3
    step = settled - lv.left[at]
    first = lv.first[at]
    with np.errstate(divide="ignore", invalid="ignore"):
        completed = (first - lv.left[at]) / step
        allowance = 2.0 * lv.right_sigma[at] / np.abs(step)
    return np.asarray(completed >= 0.9 - allowance, dtype=bool)


def _fits(
    value: FloatArray,
    lv: _Levels,
    lo: int,
    hi: int,
    gain: float,
    offset: float,
    strict: bool = False,
    skip: Sequence[tuple[int, int]] = (),
    before_only: bool = False,
) -> bool:
    """Whether ``value[lo:hi]``, converted back, is indistinguishable from the data around it.

    Two tests against up to six hours either side.  Its levels must fall where the
    surrounding levels fall; and at each level its noise must be the surrounding noise
    at that level.  Comparing noise level by level, not overall, keeps the verdict
    independent of how long the machine ran, waited or stood still inside versus
    outside; a stop of hours, whose level shrinks by a conversion-like factor, still
    fails, because its noise at the converted-back level is that of a stopped machine.
    """
    context = int(np.clip(hi - lo, _CONTEXT_MIN, _CONTEXT_MAX))
    after_end = hi if before_only else min(hi + context, value.size - 1)
    around = np.r_[max(1, lo - context) : lo, hi:after_end]
    for a, b in skip:  # other shifted stretches are no reference for this one
        around = around[(around < a) | (around >= b)]
    inside = np.arange(max(lo, 1), min(hi, value.size - 1))
    # A stride keeps long stretches cheap; percentiles and medians barely notice.
    around = around[:: max(1, around.size // _MAX_COMPARED)]
    inside = inside[:: max(1, inside.size // _MAX_COMPARED)]
    if around.size < _MIN_SAMPLES or inside.size < _MIN_SAMPLES:
        return False
    out_level, out_noise = lv.smooth[around], lv.curvature[around]
    in_level = (lv.smooth[inside] - offset) / gain
    in_noise = lv.curvature[inside] / abs(gain)

    span = np.quantile(out_level, [0.0, 1.0])
    edges = np.quantile(out_level, np.linspace(0.0, 1.0, _BINS + 1))
    slack = _RANGE_SLACK * (span[1] - span[0]) + 3.0 * float(np.median(out_noise))
    margin = 0.0 if strict else slack
    covered = (in_level >= span[0] - margin) & (in_level <= span[1] + margin)
    if covered.mean() < (_COVERED_STRICT if strict else _COVERED):
        return False
    in_bin = np.clip(np.searchsorted(edges, in_level, side="right") - 1, 0, _BINS - 1)
    out_bin = np.clip(np.searchsorted(edges, out_level, side="right") - 1, 0, _BINS - 1)
    populated = [k for k in range(_BINS) if np.count_nonzero(out_bin == k) >= _MIN_SAMPLES]
    if not populated:
        return False
    # A band the surroundings barely visit borrows the noise of the nearest band they do.
    nearest = np.asarray(populated)[
        np.abs(np.arange(_BINS)[:, None] - np.asarray(populated)[None, :]).argmin(axis=1)
    ]
    reference = {k: float(np.median(out_noise[out_bin == k])) for k in populated}
    ratios, weights = [], []
    for k in range(_BINS):
        mine = in_noise[covered & (in_bin == k)]
        if mine.size < _MIN_SAMPLES or reference[int(nearest[k])] <= 0:
            continue
        ratios.append(float(np.median(mine)) / reference[int(nearest[k])])
        weights.append(mine.size)
    if not ratios:
        return False
    order = np.argsort(ratios)
    cumulative = np.cumsum(np.asarray(weights)[order])
    typical = ratios[int(order[np.searchsorted(cumulative, cumulative[-1] / 2)])]
    return typical > 0 and abs(math.log(typical)) <= _NOISE_BAND


def _segments(
    value: FloatArray, ts: Int64Array, lv: _Levels, gain: float, offset: float,
    min_us: float, max_us: float,
) -> list[tuple[int, int]]:  # fmt: skip
    """Half-open sample ranges entered by a jump into the unit and left by a jump back.

    Each exit pairs with the latest entry before it whose stretch fits the conversion
    as a whole; a shift still under way at either end of the data has one boundary.
    """
    entries = _converted_boundaries(lv, gain, offset)
    exits = _converted_boundaries(lv, 1.0 / gain, -offset / gain)

    def plausible(lo: int, hi: int) -> bool:
        return min_us <= ts[hi - 1] - ts[lo] <= max_us and _fits(value, lv, lo, hi, gain, offset)

    found: list[tuple[int, int]] = []
    floor = 0
    for end in exits.tolist():
        if end <= floor:
            continue
        between = entries[(entries >= floor) & (entries < end)]
        # The latest entry, then those whose level fits the conversion most closely: a
        # machine that changes state all the time matches a conversion now and then.
        best = between[np.argsort(_misfit(lv, between, gain, offset), kind="stable")]
        options = np.unique(np.r_[between[-1:], best[: _MAX_TRIES - 1]])[::-1]
        # Of the entries that make a stretch, the earliest: later ones are stops inside it.
        fitting = [int(s) for s in options.tolist() if plausible(int(s), end)]
        if not fitting:
            continue
        start = min(fitting)
        # A stop inside a shifted stretch can look like an exit; run on to the last exit
        # before the next entry that still makes one stretch.
        following = entries[entries > end]
        limit = int(following[0]) if following.size else value.size + 1
        for later in exits[(exits > end) & (exits < limit)][:_MAX_TRIES].tolist():
            if plausible(start, int(later)):
                end = int(later)
        found.append((start, end))
        floor = end
    last = entries[entries >= floor]
    if last.size and not (exits > last[-1]).any() and plausible(int(last[-1]), value.size):
        found.append((int(last[-1]), value.size))
    if exits.size and not (entries < exits[0]).any():
        end = int(exits[0])
        if not any(a < end for a, _ in found) and plausible(0, end):
            found.append((0, end))
    # A stretch that fits what came before it as it is (a long stop) needs no conversion.
    # Only what came before: a shifted stretch may run on past an exit found inside it.
    return [
        (lo, hi)
        for lo, hi in found
        if not _fits(value, lv, lo, hi, 1.0, 0.0, strict=True, skip=found, before_only=lo > 0)
    ]


@dataclass(frozen=True)
class ShiftSpan:
    start_us: int
    end_us: int
    rows: int
    unit: str  # the unit the stretch seems to be in
    gain: float


def shift_spans(ctx: CheckContext, series: Series) -> list[ShiftSpan]:
    """The unit-shifted stretches of one series (computed once per context)."""
    key = ("unit_shift", series.asset, series.signal)
    cached = ctx.memo.get(key)
    if isinstance(cached, list):
        return cached
    found = _find_spans(series)
    ctx.memo[key] = found
    return found


def _find_spans(s: Series) -> list[ShiftSpan]:
    if s.unit is None or not alternatives(s.unit):
        return []
    ts, value = plausible_or_shifted(s)
    if value.size < 4 * _MIN_SAMPLES:
        return []
    lv = _levels(value)
    taken: list[tuple[int, int]] = []
    found = []
    for other in alternatives(s.unit):
        gain, offset = affine(s.unit, other)
        for lo, hi in _segments(
            value, ts, lv, gain, offset, MIN_SEGMENT_S * 1e6, MAX_SEGMENT_S * 1e6
        ):
            if any(lo < b and a < hi for a, b in taken):
                continue
            taken.append((lo, hi))
            found.append(ShiftSpan(int(ts[lo]), int(ts[hi - 1]), hi - lo, other, gain))
    return sorted(found, key=lambda span: span.start_us)


def unit_shift_issues(ctx: CheckContext) -> list[QualityIssue]:
    """Segments whose level and noise both look converted into another unit.

    A mix-up switches units from one sample to the next, so a segment starts with an
    instantaneous jump whose level after equals the level before converted (gain and
    offset) and ends with the jump back; converted back, the stretch then matches its
    surroundings in levels and in noise at each level, which unconverted it does not.
    """
    issues = []
    for s in ctx.prepared.series:
        for span in shift_spans(ctx, s):
            start, end = timestamp(span.start_us), timestamp(span.end_us)
            issues.append(
                make_issue(
                    "unit_shift", s, span.start_us, span.end_us, "critical", span.rows,
                    f"{s.signal} looks like {span.unit} instead of {s.unit} from "
                    f"{describe_ts(start)} to {describe_ts(end)}"
                    f" (level and noise both scaled by {span.gain:.4g})",
                )
            )  # fmt: skip
    return issues


def plausible_or_shifted(series: Series) -> tuple[Int64Array, FloatArray]:
    """Finite first-arrival samples; out-of-range ones stay, as a unit mix-up may cause them."""
    keep = series.current & np.isfinite(series.value)
    return series.ts[keep], series.value[keep]
