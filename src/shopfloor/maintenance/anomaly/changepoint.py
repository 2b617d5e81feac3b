"""Change-point detection in numpy: online CUSUM and offline PELT.

Both work on standardised residuals: signals minus their normal level, divided by their
normal spread (e.g. ``(X - median) / sigma`` of a fitted :class:`RobustBaseline`), so
one ``drift`` / ``threshold`` / ``penalty`` serves every signal whatever its unit.

- :func:`cusum` is online (a detection at row t uses rows up to t only): a two-sided
  CUSUM per signal that, after a detection, re-learns its reference level from the next
  ``rebaseline`` rows.  Without that, a sustained shift (which is what a change point
  opens) would keep re-firing, and every re-fire is a false alarm.
- :func:`pelt` is offline (uses the whole series): the exact minimiser of
  Gaussian mean-change cost plus ``penalty`` per change, pruned (Killick et al. 2012).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError

IntArray = npt.NDArray[np.int64]


def _as_matrix(z: npt.ArrayLike) -> npt.NDArray[np.float64]:
    array = np.asarray(z, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(f"change-point input must be 1-D or 2-D, got {array.ndim}-D")
    return array


def cusum(
    z: npt.ArrayLike,
    *,
    drift: float = 1.0,
    threshold: float = 20.0,
    rebaseline: int = 60,
) -> IntArray:
    """Rows where a two-sided CUSUM on any column of ``z`` crosses ``threshold``.

    ``z`` (rows × signals, or one signal) is in sigmas of normal, centred on normal, so
    the initial reference level is 0.  ``drift`` is the slack per row (a shift of
    ``2 × drift`` sigmas is the one detected fastest); ``threshold`` the accumulated
    evidence needed.  After a detection the sums restart and the reference becomes the
    mean of the next ``rebaseline`` rows (no detection in between), so a step is
    reported once.  Missing values add no evidence.
    """
    data = np.nan_to_num(_as_matrix(z), nan=0.0)
    n, width = data.shape
    reference = np.zeros(width)
    high = np.zeros(width)
    low = np.zeros(width)
    found: list[int] = []
    t = 0
    while t < n:
        step = data[t] - reference
        high = np.maximum(0.0, high + step - drift)
        low = np.maximum(0.0, low - step - drift)
        if (high > threshold).any() or (low > threshold).any():
            found.append(t)
            high[:] = 0.0
            low[:] = 0.0
            stop = min(t + max(int(rebaseline), 1), n)
            reference = data[t:stop].mean(axis=0)
            t = stop
            continue
        t += 1
    return np.asarray(found, dtype=np.int64)


def pelt(
    x: npt.ArrayLike,
    *,
    penalty: float | None = None,
    min_size: int = 2,
) -> IntArray:
    """Start rows of the new segments of the optimal Gaussian mean-change segmentation.

    Cost of a segment = sum of squared deviations from its mean (unit variance assumed:
    pass standardised data).  ``penalty`` per change defaults to ``2 · d · ln n`` (a BIC
    for ``d`` means per segment, doubled to be conservative on autocorrelated data).
    """
    data = np.nan_to_num(_as_matrix(x), nan=0.0)
    n, width = data.shape
    if n < 2 * min_size:
        return np.zeros(0, dtype=np.int64)
    beta = 2.0 * width * math.log(n) if penalty is None else float(penalty)
    sums = np.vstack([np.zeros((1, width)), np.cumsum(data, axis=0)])
    squares = np.concatenate([[0.0], np.cumsum(np.sum(data**2, axis=1))])

    def cost(starts: IntArray, stop: int) -> npt.NDArray[np.float64]:
        length = stop - starts
        seg = sums[stop] - sums[starts]
        return np.asarray(
            squares[stop] - squares[starts] - np.sum(seg**2, axis=1) / length, dtype=np.float64
        )

    best = np.full(n + 1, np.inf)
    best[0] = -beta
    previous = np.zeros(n + 1, dtype=np.int64)
    candidates = np.array([0], dtype=np.int64)
    for stop in range(min_size, n + 1):
        usable = candidates[stop - candidates >= min_size]
        if usable.size:
            total = best[usable] + cost(usable, stop)
            pick = int(np.argmin(total))
            best[stop] = total[pick] + beta
            previous[stop] = usable[pick]
            # PELT pruning: a start that cannot beat the best now never will.
            keep = np.ones(candidates.size, dtype=bool)
            keep[np.isin(candidates, usable[total > best[stop]])] = False
            candidates = candidates[keep]
        if stop <= n - min_size:
            candidates = np.append(candidates, stop)
    changes: list[int] = []
    stop = n
    while stop > 0:
        start = int(previous[stop])
        if start > 0:
            changes.append(start)
        stop = start
    return np.asarray(sorted(changes), dtype=np.int64)
