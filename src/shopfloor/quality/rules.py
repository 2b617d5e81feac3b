"""Run rules over a plotted statistic: Western Electric (1-4) and Nelson (1-8).

Every rule works on the standardized statistic ``z = (x - center) / sigma``; ``center``
and ``sigma`` may be arrays (charts with per-point limits, such as a p chart with
varying sample sizes or an EWMA), so zones follow the limits point by point.

Convention (stated once, used by every rule): a rule **fires at the index of the point
that completes its pattern**, i.e. the last point of the window, and that point must
itself belong to the pattern (for "2 of 3 beyond 2σ" the last point is one of the two).
A pattern that keeps going fires again at every further point (ten points on one side
fire "nine in a row" at indices 8 and 9).  Points exactly on the center line are on
neither side and break a run; equal neighbours break a trend or an alternation.  Zone
boundaries are exclusive: "beyond 2σ" means ``|z| > 2``.

Western Electric Company, *Statistical Quality Control Handbook* (1956):

1. one point beyond 3σ;  2. two of three consecutive beyond 2σ, same side;
3. four of five consecutive beyond 1σ, same side;  4. eight in a row on one side.

Nelson, L. S. (1984), "The Shewhart control chart - tests for special causes",
*Journal of Quality Technology* 16(4):

1. one point beyond 3σ;  2. nine in a row on one side;  3. six in a row steadily
increasing or decreasing;  4. fourteen in a row alternating up and down;  5. two of
three beyond 2σ, same side;  6. four of five beyond 1σ, same side;  7. fifteen in a row
within 1σ (either side);  8. eight in a row with none within 1σ (either side).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class RuleHit:
    """One rule: its number in its rule set, a short description, where it fired."""

    rule: int
    description: str
    indices: IntArray


@dataclass(frozen=True)
class RuleReport:
    """The rules of one rule set, in order."""

    rule_set: str
    hits: tuple[RuleHit, ...]

    def indices(self, rule: int) -> IntArray:
        """Where rule number ``rule`` fired."""
        for hit in self.hits:
            if hit.rule == rule:
                return hit.indices
        raise InputError(f"{self.rule_set} has no rule {rule}", field="rule")

    @property
    def flagged(self) -> IntArray:
        """Every index where at least one rule fired, sorted."""
        if not self.hits:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate([h.indices for h in self.hits])).astype(np.int64)


def standardize(
    statistic: npt.ArrayLike, center: npt.ArrayLike, sigma: npt.ArrayLike
) -> FloatArray:
    """``(statistic - center) / sigma`` after checking shapes and values."""
    x = np.asarray(statistic, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise InputError("must be a non-empty 1-D array", field="statistic")
    if not np.all(np.isfinite(x)):
        raise InputError("must be finite (no NaN or inf)", field="statistic")
    try:
        c = np.broadcast_to(np.asarray(center, dtype=np.float64), x.shape)
        s = np.broadcast_to(np.asarray(sigma, dtype=np.float64), x.shape)
    except ValueError as err:
        raise InputError(f"does not match the statistic's shape {x.shape}", field="sigma") from err
    if not np.all(np.isfinite(c)):
        raise InputError("must be finite", field="center")
    if not (np.all(np.isfinite(s)) and np.all(s > 0)):
        raise InputError("must be positive and finite", field="sigma")
    return np.asarray((x - c) / s, dtype=np.float64)


def _ends(flags: BoolArray, window: int, need: int) -> BoolArray:
    """True at i when at least ``need`` of ``flags[i-window+1 .. i]`` are set and flags[i]."""
    if flags.size == 0:
        return np.zeros(0, dtype=bool)
    counts = np.convolve(flags.astype(np.int64), np.ones(window, dtype=np.int64))[: flags.size]
    full = np.arange(flags.size) >= window - 1
    return (counts >= need) & full & flags


def _run(flags: BoolArray, length: int) -> BoolArray:
    """True at i when ``flags[i-length+1 .. i]`` are all set."""
    return _ends(flags, length, length)


def _beyond(z: FloatArray, level: float, window: int, need: int) -> BoolArray:
    return _ends(z > level, window, need) | _ends(z < -level, window, need)


def _hits(fired: BoolArray) -> IntArray:
    return np.flatnonzero(fired).astype(np.int64)


def _one_side(z: FloatArray, length: int) -> BoolArray:
    return _run(z > 0, length) | _run(z < 0, length)


def _trend(z: FloatArray, points: int) -> BoolArray:
    """``points`` in a row steadily rising or falling: ``points - 1`` same-sign steps."""
    if z.size < points:
        return np.zeros(z.size, dtype=bool)
    step = np.sign(np.diff(z))
    fired = _run(step > 0, points - 1) | _run(step < 0, points - 1)
    return np.concatenate([[False], fired])


def _alternating(z: FloatArray, points: int) -> BoolArray:
    """``points`` in a row alternating: ``points - 2`` sign changes between steps."""
    if z.size < points:
        return np.zeros(z.size, dtype=bool)
    step = np.sign(np.diff(z))
    flips = (step[1:] * step[:-1]) < 0
    return np.concatenate([[False, False], _run(flips, points - 2)])


def western_electric(
    statistic: npt.ArrayLike, center: npt.ArrayLike, sigma: npt.ArrayLike
) -> RuleReport:
    """Western Electric rules 1-4 (see the module docstring for where a rule fires)."""
    z = standardize(statistic, center, sigma)
    return RuleReport(
        "western_electric",
        (
            RuleHit(1, "one point beyond 3 sigma", _hits(np.abs(z) > 3)),
            RuleHit(2, "2 of 3 beyond 2 sigma, same side", _hits(_beyond(z, 2, 3, 2))),
            RuleHit(3, "4 of 5 beyond 1 sigma, same side", _hits(_beyond(z, 1, 5, 4))),
            RuleHit(4, "8 in a row on one side", _hits(_one_side(z, 8))),
        ),
    )


def nelson(statistic: npt.ArrayLike, center: npt.ArrayLike, sigma: npt.ArrayLike) -> RuleReport:
    """Nelson rules 1-8 (see the module docstring for where a rule fires)."""
    z = standardize(statistic, center, sigma)
    return RuleReport(
        "nelson",
        (
            RuleHit(1, "one point beyond 3 sigma", _hits(np.abs(z) > 3)),
            RuleHit(2, "9 in a row on one side", _hits(_one_side(z, 9))),
            RuleHit(3, "6 in a row increasing or decreasing", _hits(_trend(z, 6))),
            RuleHit(4, "14 in a row alternating up and down", _hits(_alternating(z, 14))),
            RuleHit(5, "2 of 3 beyond 2 sigma, same side", _hits(_beyond(z, 2, 3, 2))),
            RuleHit(6, "4 of 5 beyond 1 sigma, same side", _hits(_beyond(z, 1, 5, 4))),
            RuleHit(7, "15 in a row within 1 sigma", _hits(_run(np.abs(z) < 1, 15))),
            RuleHit(8, "8 in a row beyond 1 sigma, either side", _hits(_run(np.abs(z) > 1, 8))),
        ),
    )
