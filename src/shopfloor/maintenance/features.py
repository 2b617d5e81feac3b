"""Window features shared by every maintenance model: pure, vectorised, no per-row loops.

Rows belong to groups (a machine, an engine) and are ordered in time inside a group.
A window of ``w`` rows ends at each row and never reaches into the previous group; at
the start of a group the window is simply shorter (``min_periods=1`` semantics), so
a short history still gets features.  Rolling sums come from group-aware cumulative
sums, which makes mean, standard deviation and least-squares slope O(rows) for any
window length.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WINDOW_STATS = ("mean", "std", "min", "max", "slope")


def sorted_positions(frame: pd.DataFrame, *, group: str, order: str) -> IntArray:
    """Row positions that sort ``frame`` by group then time (stable)."""
    for name in (group, order):
        if name not in frame.columns:
            raise InputError("column is missing", field=name)
    keys = pd.DataFrame(
        {"group": frame[group].to_numpy(), "order": frame[order].to_numpy()},
        index=pd.RangeIndex(len(frame)),
    )
    return keys.sort_values(["group", "order"], kind="stable").index.to_numpy(dtype=np.int64)


def group_starts(groups: npt.ArrayLike) -> IntArray:
    """For rows sorted by group: the position of the first row of each row's group."""
    values = np.asarray(groups)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = values[1:] != values[:-1]
    starts = np.where(new_group, np.arange(n), 0)
    return np.maximum.accumulate(starts).astype(np.int64)


def last_row_positions(groups: npt.ArrayLike) -> IntArray:
    """For rows sorted by group: positions of each group's last row, in group order."""
    values = np.asarray(groups)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    is_last = np.ones(n, dtype=bool)
    is_last[:-1] = values[1:] != values[:-1]
    return np.flatnonzero(is_last).astype(np.int64)


def _rolling_sum(cumsum: FloatArray, lo: IntArray) -> FloatArray:
    """Sum of rows ``lo..i`` for every ``i``, from a cumulative sum with a leading zero row."""
    hi = np.arange(1, cumsum.shape[0])
    return cumsum[hi] - cumsum[lo]


def rolling_window_stats(
    values: FloatArray, starts: IntArray, window: int, stats: Sequence[str]
) -> dict[str, FloatArray]:
    """Rolling statistics of ``values`` (rows x columns) over the last ``window`` rows.

    ``starts`` holds each row's group start (see :func:`group_starts`).  Returns one
    array (rows x columns) per requested statistic.
    """
    if window < 1:
        raise InputError(f"window must be >= 1, got {window}", field="windows")
    unknown = sorted(set(stats) - set(WINDOW_STATS))
    if unknown:
        raise InputError(f"unknown window statistic {', '.join(unknown)}", field="stats")
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n = x.shape[0]
    rows = np.arange(n)
    lo = np.maximum(rows - window + 1, starts)
    count = (rows - lo + 1).astype(np.float64)[:, None]
    zero = np.zeros((1, x.shape[1]))
    out: dict[str, FloatArray] = {}
    need_moments = {"mean", "std", "slope"} & set(stats)
    if need_moments:
        # Centre each column first: the variance formula below subtracts large
        # similar numbers otherwise (e.g. a sensor at 2388 with a 0.05 spread).
        centre = x.mean(axis=0, keepdims=True) if n else zero
        xc = x - centre
        s1 = _rolling_sum(np.vstack([zero, np.cumsum(xc, axis=0)]), lo)
        mean = s1 / count
        if "mean" in stats:
            out["mean"] = mean + centre
        if "std" in stats:
            s2 = _rolling_sum(np.vstack([zero, np.cumsum(xc * xc, axis=0)]), lo)
            variance = np.maximum(s2 / count - mean * mean, 0.0)
            # One row has no spread; say so exactly instead of sqrt(rounding error).
            out["std"] = np.where(count > 1, np.sqrt(variance), 0.0)
        if "slope" in stats:
            # Least squares of value on row position t inside the window, closed form:
            # slope = (n Σty - Σt Σy) / (n Σt² - (Σt)²); t runs over global positions,
            # which only shifts t and leaves the slope unchanged.
            t = rows.astype(np.float64)[:, None]
            st = _rolling_sum(
                np.concatenate([[0.0], np.cumsum(rows, dtype=np.float64)])[:, None], lo
            )
            stt = _rolling_sum(
                np.concatenate([[0.0], np.cumsum(rows.astype(np.float64) ** 2)])[:, None], lo
            )
            sty = _rolling_sum(np.vstack([zero, np.cumsum(t * xc, axis=0)]), lo)
            denominator = count * stt - st * st
            with np.errstate(invalid="ignore", divide="ignore"):
                slope = (count * sty - st * s1) / denominator
            out["slope"] = np.where(denominator > 0, slope, 0.0)
    if {"min", "max"} & set(stats):
        group_ids = np.cumsum(np.r_[True, starts[1:] != starts[:-1]]) if n else starts
        rolled = pd.DataFrame(x).groupby(group_ids, sort=False).rolling(window, min_periods=1)
        if "min" in stats:
            out["min"] = rolled.min().to_numpy(dtype=np.float64)
        if "max" in stats:
            out["max"] = rolled.max().to_numpy(dtype=np.float64)
    return out


def window_features(
    frame: pd.DataFrame,
    *,
    group: str,
    order: str,
    columns: Sequence[str],
    windows: Sequence[int],
    stats: Sequence[str] = WINDOW_STATS,
    include_last: bool = True,
) -> pd.DataFrame:
    """Per-group rolling features of ``columns`` for every row, aligned with ``frame``.

    Output columns are named ``{column}__{stat}{window}`` (e.g. ``s11__slope20``) and
    ``{column}__last`` for the current value.  Rows may come in any order: they are
    sorted by ``group`` and ``order`` internally and returned in ``frame``'s order and
    index.
    """
    missing = [c for c in (group, order, *columns) if c not in frame.columns]
    if missing:
        raise InputError("column is missing", field=missing[0])
    order_idx = sorted_positions(frame, group=group, order=order)
    sorted_groups = frame[group].to_numpy()[order_idx]
    starts = group_starts(sorted_groups)
    values = frame[list(columns)].to_numpy(dtype=np.float64)[order_idx]
    blocks: dict[str, FloatArray] = {}
    if include_last:
        for j, name in enumerate(columns):
            blocks[f"{name}__last"] = values[:, j]
    for window in windows:
        for stat, block in rolling_window_stats(values, starts, int(window), stats).items():
            for j, name in enumerate(columns):
                blocks[f"{name}__{stat}{window}"] = block[:, j]
    result = np.empty((len(frame), len(blocks)))
    result[order_idx] = np.column_stack(list(blocks.values())) if blocks else result[order_idx]
    return pd.DataFrame(result, index=frame.index, columns=list(blocks))


def spectral_features(
    values: npt.ArrayLike,
    sample_rate_hz: float,
    bands: Mapping[str, tuple[float, float]],
) -> dict[str, FloatArray]:
    """Energy per frequency band of evenly sampled windows, via one real FFT.

    ``values`` is one window (samples) or a batch (windows x samples).  Each band
    ``name -> (low_hz, high_hz)`` sums the one-sided power spectrum of the mean-removed
    window over ``low_hz <= f < high_hz``, normalised by the window length, so a
    sine of amplitude ``a`` contributes about ``a² / 2`` to its band.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] < 2:
        raise InputError("spectral features need windows of at least 2 samples")
    if sample_rate_hz <= 0:
        raise InputError(f"sample rate must be positive, got {sample_rate_hz}")
    n = x.shape[1]
    spectrum = np.fft.rfft(x - x.mean(axis=1, keepdims=True), axis=1)
    power = (np.abs(spectrum) ** 2) / (n * n)
    # One-sided spectrum: every bin but DC (and Nyquist for even n) stands for two.
    power[:, 1 : (n + 1) // 2] *= 2.0
    freqs = np.fft.rfftfreq(n, d=1.0 / sample_rate_hz)
    out: dict[str, FloatArray] = {}
    for name, (low, high) in bands.items():
        if not low < high:
            raise InputError(f"band {name!r} needs low < high, got {low}..{high}")
        mask = (freqs >= low) & (freqs < high)
        out[name] = power[:, mask].sum(axis=1)
    return out
