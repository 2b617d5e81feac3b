"""The spike check: isolated samples far from their neighbours.

A Hampel filter finds them; the hard part is not to flag genuine brief machine events,
which also leave one- to three-sample excursions.  Those move the asset's other
signals at the same time, so a run a sibling echoes is excused, as long as the echo is
credible: a brief isolated pulse in the sibling, or a signal that visits such levels
anyway while the machine switches state every minute.  A signal that never moves with
its siblings (a housing temperature) is not excused by them at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, median_filter

from shopfloor.data_quality.model import QualityIssue, describe_ts
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
from shopfloor.data_quality.series_checks import flat_runs, plausible
from shopfloor.data_quality.shifts import shift_spans

# Gaussian consistency: the median |second difference| of white noise is 1.6521 sigma.
SECOND_DIFF_TO_SIGMA = 1.0 / 1.6521
_SIGMA_WINDOW = 61  # samples whose median |second difference| gives the local noise ...
_SIGMA_SPREAD = 25  # ... and the neighbourhood whose loudest regime sets it
_CALM = 30  # samples either side of a run in which a brief event leaves no company
_BRIEF = 12  # loud samples a brief stop leaves in a sibling, its lag included
_TAIL = 0.001  # share of a series' lowest and highest values not taken as ordinary levels
_RESPONSIVE = 0.2  # share of sibling events a signal must share to be excused by them


@dataclass(frozen=True)
class _Residuals:
    series: Series
    ts: Int64Array
    value: FloatArray
    residual: FloatArray  # distance from the centred running median
    apart: FloatArray  # distance from the nearer one-sided median, less what a ramp explains
    sigma: FloatArray


def _local_sigma(value: FloatArray) -> FloatArray:
    """Robust noise scale per sample from second differences, as loud as its neighbourhood.

    Second differences cancel ramps (a cooling housing) that would otherwise shrink the
    median filter's residuals; the rolling median tracks regimes (a stopped machine is far
    quieter than a running one) and the rolling max keeps the louder regime's scale
    around every regime change.
    """
    curvature = np.abs(np.diff(value, 2))
    curvature = np.r_[curvature[0], curvature, curvature[-1]]
    scale = median_filter(curvature, size=_SIGMA_WINDOW, mode="nearest") * SECOND_DIFF_TO_SIGMA
    scale = maximum_filter1d(scale, size=_SIGMA_SPREAD, mode="nearest")
    overall = float(np.median(curvature)) * SECOND_DIFF_TO_SIGMA
    floor = max(0.1 * overall, 1e-9 * max(1.0, float(np.median(np.abs(value)))))
    return np.asarray(np.maximum(scale, floor), dtype=np.float64)


def _residuals(ctx: CheckContext, series: Series) -> _Residuals | None:
    width = ctx.settings.spike_max_width
    ts, value = plausible(series)
    live = ~flat_runs(value, ctx.settings.stuck_min_samples)
    for span in shift_spans(ctx, series):
        live &= (ts < span.start_us) | (ts > span.end_us)
    ts, value = ts[live], value[live]
    window = 4 * width + 1  # a median over 4w+1 samples ignores any pulse of <= 2w samples
    if value.size < 2 * window:
        return None
    residual = value - median_filter(value, size=window, mode="nearest")
    # Medians of the 2w+1 samples just before and just after each sample: a spike stands
    # apart from both, whereas the first samples after a step sit close to those after it.
    side = median_filter(value, size=2 * width + 1, mode="nearest")
    index = np.arange(value.size)
    before = side[np.maximum(index - width - 1, 0)]
    after = side[np.minimum(index + width + 1, value.size - 1)]
    slope = np.abs(median_filter(np.diff(value, append=value[-1]), size=window, mode="nearest"))
    apart = np.minimum(np.abs(value - before), np.abs(value - after)) - (width + 1) * slope
    sigma = _local_sigma(value)
    return _Residuals(series, ts, value, residual, apart, sigma)


def _excursions(
    residual: FloatArray, flagged: BoolArray, flank: FloatArray
) -> tuple[Int64Array, Int64Array]:
    """Runs of samples out on the same side as a flagged one by at least ``flank``.

    A spike must be short in full, not just at its tip: a brief machine state between
    two others leaves a valley whose flanks are out too, while a ramp beside a spike
    leans the other way and does not widen it.
    """
    starts, stops = [], []
    for side in (1.0, -1.0):
        out = side * residual > flank
        tips = flagged & out
        lo, hi = runs(out | tips)
        if lo.size == 0:
            continue
        tipped = np.add.reduceat(tips, lo) > 0
        starts.append(lo[tipped])
        stops.append(hi[tipped])
    if not starts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    lo, hi = np.concatenate(starts), np.concatenate(stops)
    order = np.argsort(lo)
    return lo[order], hi[order]


def _in_full_context(
    r: _Residuals, lo: Int64Array, hi: Int64Array, width: int, gap_factor: float
) -> BoolArray:
    """Whether the samples around each run are there, without a gap or a null run.

    Across a hole, a short remnant of a machine state can look like a spike that the
    sibling signals (which saw the whole state) do not echo.
    """
    holes = np.r_[0, np.cumsum(np.diff(r.ts) > gap_factor * r.series.period_us)]
    first = np.maximum(lo - 2 * width, 0)
    last = np.minimum(hi - 1 + 2 * width, r.ts.size - 1)
    return np.asarray(holes[last] == holes[first], dtype=bool)


def _count(ts: Int64Array, lo: Int64Array, hi: Int64Array) -> Int64Array:
    """How many of the sorted ``ts`` lie in each [lo, hi]."""
    return np.asarray(np.searchsorted(ts, hi, "right") - np.searchsorted(ts, lo, "left"))


def _responsiveness(own: Int64Array, siblings: list[Int64Array], period_us: int) -> float:
    """Share of the moments two siblings stand out at which this signal stands out too."""
    buckets = [np.unique(ts // period_us) for ts in siblings]
    if len(buckets) < 2:
        return 1.0
    moments, counts = np.unique(np.concatenate(buckets), return_counts=True)
    events = moments[counts >= 2]
    if events.size < 10:
        return 1.0  # too little to tell: let siblings excuse, as a genuine event would
    mine = np.unique(own // period_us)
    shared = np.isin(events, mine) | np.isin(events - 1, mine) | np.isin(events + 1, mine)
    return float(shared.mean())


def spike_issues(ctx: CheckContext) -> list[QualityIssue]:
    """Hampel filter, keeping the short runs that no credible sibling event explains.

    Steps and ramps survive a running median, so they leave no residual to flag.
    Frozen and unit-shifted stretches are cut out first: the few genuine samples
    between such a stretch and a machine stop would otherwise look like a lone pulse.
    """
    settings = ctx.settings
    width = settings.spike_max_width
    analysed = [r for s in ctx.prepared.series if (r := _residuals(ctx, s)) is not None]
    # A sibling counts as echoing at 0.6 x the spike threshold (about 5 sigma): lower, and
    # a sibling's ordinary noise excuses real spikes by coincidence (measured on demo seed 7:
    # recall 0.93); higher, and genuine brief stops stop being excused (seed 3: precision 0.85).
    loud = {
        (r.series.asset, r.series.signal): r.ts[
            np.abs(r.residual) > 0.6 * settings.spike_sigmas * r.sigma
        ]
        for r in analysed
    }

    issues = []
    for r in analysed:
        threshold = settings.spike_sigmas * r.sigma
        flagged = (np.abs(r.residual) > threshold) & (r.apart > threshold)
        lo, hi = _excursions(r.residual, flagged, 0.5 * threshold)
        keep = ((hi - lo) <= width) & _in_full_context(r, lo, hi, width, settings.gap_factor)
        lo, hi = lo[keep], hi[keep]
        if lo.size == 0:
            continue
        key = (r.series.asset, r.series.signal)
        siblings = [ts for k, ts in loud.items() if k[0] == key[0] and k != key]
        period = r.series.period_us
        start, end = r.ts[lo], r.ts[hi - 1]
        slack, span = int(1.5 * period), _CALM * period
        echoed = np.zeros(lo.size, dtype=bool)
        pulsed = np.zeros(lo.size, dtype=bool)
        for ts in siblings:
            near = _count(ts, start - slack, end + slack) > 0
            echoed |= near
            pulsed |= near & (_count(ts, start - span, end + span) <= _BRIEF)
        busy = _count(loud[key], start - span, end + span) > _count(loud[key], start, end)
        # Levels the signal visits anyway (a stop, an idle spindle) are ordinary; the
        # extreme tails are left out so that the spikes themselves do not count.
        floor, ceiling = np.quantile(r.value, [_TAIL, 1.0 - _TAIL])
        index = np.minimum(lo[:, None] + np.arange(width)[None, :], r.value.size - 1)
        inside = np.arange(width)[None, :] < (hi - lo)[:, None]
        run_values = np.where(inside, r.value[index], np.nan)
        margin = np.nanmax(np.where(inside, threshold[index], np.nan), axis=1)
        ordinary = (np.nanmin(run_values, axis=1) >= floor - margin) & (
            np.nanmax(run_values, axis=1) <= ceiling + margin
        )
        responsive = _responsiveness(loud[key], siblings, period) >= _RESPONSIVE
        excused = echoed & responsive & (pulsed | (busy & ordinary))
        for a, b in zip(lo[~excused], hi[~excused], strict=True):
            peak = a + int(np.argmax(np.abs(r.residual[a:b])))
            typical = r.value[peak] - r.residual[peak]
            issues.append(
                make_issue(
                    "spike", r.series, r.ts[a], r.ts[b - 1], "warning", b - a,
                    f"{r.series.signal} jumps to {r.value[peak]:.4g} around a local level of "
                    f"{typical:.4g} at {describe_ts(timestamp(r.ts[peak]))} "
                    f"({abs(r.residual[peak]) / r.sigma[peak]:.0f} robust sigmas, "
                    f"{b - a} sample(s))",
                )
            )  # fmt: skip
    return issues
