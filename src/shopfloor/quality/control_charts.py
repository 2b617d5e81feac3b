"""Shewhart, EWMA and CUSUM control charts on numpy arrays (DESIGN section 3: pure analytics).

Charts and their limits (Montgomery, *Introduction to Statistical Quality Control*, ch. 6, 7, 9):

- X̄-R and X̄-S: subgroups of equal size ``n`` (2..25) as an ``m x n`` array; limits
  ``x̿ ± A2 R̄`` / ``D3 R̄, D4 R̄`` or ``x̿ ± A3 S̄`` / ``B3 S̄, B4 S̄``;
- I-MR: individuals with ``x̄ ± 3 MR̄ / d2(2)`` and ``D4(2) MR̄``;
- p, np, c, u: 3-sigma binomial / Poisson limits, per point for p and u when the sample
  sizes vary, and a lower limit clipped at zero;
- EWMA ``z_i = λ x_i + (1 - λ) z_{i-1}``, ``z_0 = target``, limits
  ``target ± L σ sqrt(λ / (2 - λ) (1 - (1 - λ)^(2i)))`` (time-varying) or their asymptote;
- tabular CUSUM ``C+_i = max(0, x_i - (μ0 + kσ) + C+_{i-1})``,
  ``C-_i = max(0, (μ0 - kσ) - x_i + C-_{i-1})``, signalling above ``hσ``.

Phase I and phase II: a chart function called without its parameters (``mean``/``sigma``,
``p``, ``c``, ``u``) estimates them from the data it charts (phase I) and may drop the
out-of-control subgroups and re-estimate (``remove_out_of_control``); called with them,
it applies those fixed limits to new data (phase II).  Every result carries the
parameters it used, so a phase I result feeds phase II directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln
from scipy.stats import norm

from shopfloor.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_SUBGROUP = 2
MAX_SUBGROUP = 25
_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class ControlChart:
    """One plotted statistic against its center line and 3-sigma (or L-sigma) limits.

    ``lower`` / ``upper`` hold one limit per point (constant charts repeat it);
    ``sigma`` is the standard deviation of the plotted statistic per point, what the
    run rules of :mod:`shopfloor.quality.rules` need.  ``violations`` are the indices of
    points outside the limits; ``excluded`` the indices phase I left out of the estimate.
    """

    name: str
    statistic: FloatArray
    center: float
    lower: FloatArray
    upper: FloatArray
    sigma: FloatArray
    violations: IntArray
    excluded: IntArray = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class VariablesChart:
    """A location chart (X̄ or I) with its spread chart (R, S or MR).

    ``mean`` and ``sigma`` (within-subgroup) are the process parameters behind the
    limits: pass them back to the same function to chart new data in phase II.
    """

    location: ControlChart
    spread: ControlChart
    mean: float
    sigma: float
    excluded: IntArray


@dataclass(frozen=True)
class CusumChart:
    """Tabular CUSUM: upper and lower sums, the decision interval ``H = hσ``, signals."""

    upper: FloatArray
    lower: FloatArray
    decision_interval: float
    reference: float
    target: float
    sigma: float
    violations: IntArray


# -- constants --------------------------------------------------------------------------

# Integration grid for the range of n standard normals; +-9 sigma and a 0.01 step give
# d2 and d3 to better than 1e-6, far below the 3-decimal tables they replace.
_GRID = np.linspace(-9.0, 9.0, 1801)


def _check_n(n: int) -> None:
    if not MIN_SUBGROUP <= n <= MAX_SUBGROUP:
        raise InputError(
            f"subgroup size must be between {MIN_SUBGROUP} and {MAX_SUBGROUP}, got {n}",
            field="subgroup_size",
        )


@cache
def d2(n: int) -> float:
    """Mean of the range of ``n`` standard normals: ``∫ 1 - Φ^n - (1 - Φ)^n dx``."""
    _check_n(n)
    cdf = norm.cdf(_GRID)
    return float(np.trapezoid(1.0 - cdf**n - (1.0 - cdf) ** n, _GRID))


@cache
def d3(n: int) -> float:
    """Standard deviation of that range, from ``E[W²] = 2 ∫_0^∞ ∫ g(x, x + w) dx dw``.

    ``g(x, y) = 1 - F(y)^n - (1 - F(x))^n + (F(y) - F(x))^n`` is P(min < x, max > y)
    for x < y; integrating over the gap w = y - x (rather than masking x < y on a square
    grid) keeps the trapezoid rule accurate at the diagonal (Harter 1960).
    """
    _check_n(n)
    cdf = norm.cdf(_GRID)
    step = float(_GRID[1] - _GRID[0])
    inner = np.empty(_GRID.size)
    for gap in range(_GRID.size):
        fx, fy = cdf[: _GRID.size - gap], cdf[gap:]
        g = 1.0 - fy**n - (1.0 - fx) ** n + (fy - fx) ** n
        inner[gap] = float(np.trapezoid(g, dx=step)) if g.size > 1 else 0.0
    second = 2.0 * float(np.trapezoid(inner, dx=step))
    return float(np.sqrt(second - d2(n) ** 2))


@cache
def c4(n: int) -> float:
    """Bias of the sample sd: ``sqrt(2 / (n-1)) Γ(n/2) / Γ((n-1)/2)``."""
    _check_n(n)
    return float(np.sqrt(2.0 / (n - 1)) * np.exp(gammaln(n / 2) - gammaln((n - 1) / 2)))


def a2(n: int) -> float:
    """X̄ limits from R̄: ``3 / (d2 sqrt(n))``."""
    return float(3.0 / (d2(n) * np.sqrt(n)))


def a3(n: int) -> float:
    """X̄ limits from S̄: ``3 / (c4 sqrt(n))``."""
    return float(3.0 / (c4(n) * np.sqrt(n)))


def d3_factor(n: int) -> float:
    """Lower R limit factor D3 = ``max(0, 1 - 3 d3 / d2)``."""
    return max(0.0, 1.0 - 3.0 * d3(n) / d2(n))


def d4_factor(n: int) -> float:
    """Upper R limit factor D4 = ``1 + 3 d3 / d2``."""
    return 1.0 + 3.0 * d3(n) / d2(n)


def b3(n: int) -> float:
    """Lower S limit factor B3 = ``max(0, 1 - 3 sqrt(1 - c4²) / c4)``."""
    return max(0.0, 1.0 - 3.0 * float(np.sqrt(1.0 - c4(n) ** 2)) / c4(n))


def b4(n: int) -> float:
    """Upper S limit factor B4 = ``1 + 3 sqrt(1 - c4²) / c4``."""
    return 1.0 + 3.0 * float(np.sqrt(1.0 - c4(n) ** 2)) / c4(n)


# -- validation -------------------------------------------------------------------------


def _finite(values: npt.ArrayLike, name: str, ndim: int, min_len: int) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != ndim:
        raise InputError(f"must be {ndim}-D, got {array.ndim}-D", field=name)
    if not np.all(np.isfinite(array)):
        raise InputError("must be finite (no NaN or inf)", field=name)
    if array.shape[0] < min_len:
        raise InputError(f"needs at least {min_len} points, got {array.shape[0]}", field=name)
    return array


def _positive(value: float, name: str) -> float:
    if not (np.isfinite(value) and value > 0):
        raise InputError(f"must be a positive finite number, got {value}", field=name)
    return float(value)


def _chart(
    name: str,
    statistic: FloatArray,
    center: float,
    sigma: FloatArray,
    width: float = 3.0,
    floor: float | None = None,
) -> ControlChart:
    lower = center - width * sigma
    upper = center + width * sigma
    if floor is not None:
        lower = np.maximum(lower, floor)
    # A point exactly on a limit is in control: Shewhart's rule is "beyond the limits".
    out = np.flatnonzero((statistic > upper) | (statistic < lower)).astype(np.int64)
    return ControlChart(name, statistic, float(center), lower, upper, sigma, out)


def _union(charts: tuple[ControlChart, ...], size: int) -> npt.NDArray[np.bool_]:
    bad = np.zeros(size, dtype=bool)
    for chart in charts:
        bad[chart.violations] = True
    return bad


def _phase_one(
    build: Callable[[npt.NDArray[np.bool_]], tuple[ControlChart, ...]],
    size: int,
    remove: bool,
    max_iterations: int,
    flagged: Callable[[tuple[ControlChart, ...]], npt.NDArray[np.bool_]] | None = None,
) -> tuple[tuple[ControlChart, ...], IntArray]:
    """Estimate on the kept points, drop the new violators, repeat until none are left.

    ``flagged`` maps the charts to the points to drop (default: any chart's violations).
    """
    if max_iterations < 1:
        raise InputError("must be at least 1", field="max_iterations")
    keep = np.ones(size, dtype=bool)
    charts = build(keep)
    for _ in range(max_iterations if remove else 0):
        bad = (flagged(charts) if flagged is not None else _union(charts, size)) & keep
        if not bad.any():
            break
        keep &= ~bad
        if keep.sum() < 2:
            raise InputError("phase I removed all but one point", field="values")
        charts = build(keep)
    excluded = np.flatnonzero(~keep).astype(np.int64)
    return tuple(replace(chart, excluded=excluded) for chart in charts), excluded


# -- variables charts -------------------------------------------------------------------


def _subgroup_chart(
    subgroups: npt.ArrayLike,
    spread_name: str,
    mean: float | None,
    sigma: float | None,
    remove_out_of_control: bool,
    max_iterations: int,
) -> VariablesChart:
    data = _finite(subgroups, "subgroups", 2, 2)
    m, n = data.shape
    _check_n(n)
    xbar = data.mean(axis=1)
    if spread_name == "R":
        spread = data.max(axis=1) - data.min(axis=1)
        unbias, spread_sd = d2(n), d3(n)
    else:
        spread = data.std(axis=1, ddof=1)
        unbias, spread_sd = c4(n), float(np.sqrt(1.0 - c4(n) ** 2))

    def build(mu: float, sd: float) -> tuple[ControlChart, ControlChart]:
        # A2 R̄ = 3 σ̂ / sqrt(n) with σ̂ = R̄ / d2, and D4 R̄ = d2 σ̂ + 3 d3 σ̂: the factor
        # tables are these expressions, so one (μ, σ) pair serves phase I and phase II.
        loc = _chart("Xbar", xbar, mu, np.full(m, sd / np.sqrt(n)))
        spr = _chart(spread_name, spread, unbias * sd, np.full(m, spread_sd * sd), floor=0.0)
        return loc, spr

    if (mean is None) != (sigma is None):
        raise InputError("give both mean and sigma (phase II) or neither", field="sigma")
    if mean is not None and sigma is not None:
        loc, spr = build(float(mean), _positive(sigma, "sigma"))
        return VariablesChart(loc, spr, float(mean), float(sigma), _EMPTY)

    def estimate(keep: npt.NDArray[np.bool_]) -> tuple[float, float]:
        return float(xbar[keep].mean()), float(spread[keep].mean() / unbias)

    charts, excluded = _phase_one(
        lambda keep: build(*estimate(keep)), m, remove_out_of_control, max_iterations
    )
    mu, sd = estimate(np.isin(np.arange(m), excluded, invert=True))
    return VariablesChart(charts[0], charts[1], mu, sd, excluded)


def xbar_r_chart(
    subgroups: npt.ArrayLike,
    *,
    mean: float | None = None,
    sigma: float | None = None,
    remove_out_of_control: bool = False,
    max_iterations: int = 10,
) -> VariablesChart:
    """X̄ and R charts of an ``m x n`` array of subgroups (σ̂ = R̄ / d2)."""
    return _subgroup_chart(subgroups, "R", mean, sigma, remove_out_of_control, max_iterations)


def xbar_s_chart(
    subgroups: npt.ArrayLike,
    *,
    mean: float | None = None,
    sigma: float | None = None,
    remove_out_of_control: bool = False,
    max_iterations: int = 10,
) -> VariablesChart:
    """X̄ and S charts of an ``m x n`` array of subgroups (σ̂ = S̄ / c4)."""
    return _subgroup_chart(subgroups, "S", mean, sigma, remove_out_of_control, max_iterations)


def individuals_chart(
    values: npt.ArrayLike,
    *,
    mean: float | None = None,
    sigma: float | None = None,
    remove_out_of_control: bool = False,
    max_iterations: int = 10,
) -> VariablesChart:
    """I and MR charts (σ̂ = MR̄ / 1.128); the MR chart has one point fewer.

    Phase I removal drops the flagged individuals; a moving range is kept only when both
    of its points are, so one outlier does not inflate σ̂ twice.
    """
    x = _finite(values, "values", 1, 3)
    mr = np.abs(np.diff(x))
    unbias, spread_sd = d2(2), d3(2)

    def build(mu: float, sd: float) -> tuple[ControlChart, ControlChart]:
        loc = _chart("I", x, mu, np.full(x.size, sd))
        spr = _chart("MR", mr, unbias * sd, np.full(mr.size, spread_sd * sd), floor=0.0)
        return loc, spr

    if (mean is None) != (sigma is None):
        raise InputError("give both mean and sigma (phase II) or neither", field="sigma")
    if mean is not None and sigma is not None:
        loc, spr = build(float(mean), _positive(sigma, "sigma"))
        return VariablesChart(loc, spr, float(mean), float(sigma), _EMPTY)

    def estimate(keep: npt.NDArray[np.bool_]) -> tuple[float, float]:
        pair = keep[1:] & keep[:-1]
        if not pair.any():
            raise InputError("no moving range left after phase I removal", field="values")
        return float(x[keep].mean()), float(mr[pair].mean() / unbias)

    def flagged(charts: tuple[ControlChart, ...]) -> npt.NDArray[np.bool_]:
        # One outlier makes two large moving ranges; blame the individual the I chart
        # flags, and blame a moving range's later point only when the I chart flags
        # neither of its ends (a jump in spread rather than an outlier).
        bad = _union(charts[:1], x.size)
        ranges = charts[1].violations
        lone = ranges[~bad[ranges] & ~bad[ranges + 1]]
        bad[lone + 1] = True
        return bad

    charts, excluded = _phase_one(
        lambda keep: build(*estimate(keep)), x.size, remove_out_of_control, max_iterations, flagged
    )
    mu, sd = estimate(np.isin(np.arange(x.size), excluded, invert=True))
    return VariablesChart(charts[0], charts[1], mu, sd, excluded)


# -- attributes charts ------------------------------------------------------------------


def _counts(counts: npt.ArrayLike, name: str) -> FloatArray:
    array = _finite(counts, name, 1, 2)
    if np.any(array < 0):
        raise InputError("counts must be non-negative", field=name)
    return array


def _sizes(sizes: npt.ArrayLike | float, m: int, counts: FloatArray | None) -> FloatArray:
    array = np.broadcast_to(np.asarray(sizes, dtype=np.float64), (m,)).astype(np.float64)
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise InputError("sample sizes must be positive and finite", field="sample_sizes")
    if counts is not None and np.any(counts > array):
        raise InputError("more nonconforming units than inspected", field="counts")
    return array


def _rate_chart(
    name: str,
    counts: FloatArray,
    sizes: FloatArray,
    rate: float | None,
    variance: Callable[[float, FloatArray], FloatArray],
    remove: bool,
    max_iterations: int,
) -> ControlChart:
    """Shared p / u logic: the rate is pooled, ``sum(counts) / sum(sizes)``.

    Pooling weights large samples more, which is what their smaller variance earns.
    """
    ratio = counts / sizes

    def build(r: float) -> tuple[ControlChart]:
        if r <= 0:
            raise InputError("every count is zero: the limits are undefined", field="counts")
        return (_chart(name, ratio, r, np.sqrt(variance(r, sizes)), floor=0.0),)

    if rate is not None:
        return build(_positive(rate, name))[0]
    charts, _ = _phase_one(
        lambda keep: build(float(counts[keep].sum() / sizes[keep].sum())),
        counts.size,
        remove,
        max_iterations,
    )
    return charts[0]


def p_chart(
    defectives: npt.ArrayLike,
    sample_sizes: npt.ArrayLike | float,
    *,
    p: float | None = None,
    remove_out_of_control: bool = False,
    max_iterations: int = 10,
) -> ControlChart:
    """Fraction nonconforming ``D_i / n_i``; limits ``p̄ ± 3 sqrt(p̄(1 - p̄) / n_i)``.

    ``p̄`` is pooled (``ΣD / Σn``), which weights large samples more, as it should.
    """
    d = _counts(defectives, "defectives")
    n = _sizes(sample_sizes, d.size, d)
    if p is not None and not 0 < p < 1:
        raise InputError(f"must be in (0, 1), got {p}", field="p")
    return _rate_chart(
        "p", d, n, p, lambda r, s: r * (1 - r) / s, remove_out_of_control, max_iterations
    )


def np_chart(
    defectives: npt.ArrayLike,
    sample_size: int,
    *,
    p: float | None = None,
    remove_out_of_control: bool = False,
    max_iterations: int = 10,
) -> ControlChart:
    """Number nonconforming with a constant sample size; limits ``np̄ ± 3 sqrt(np̄(1 - p̄))``."""
    d = _counts(defectives, "defectives")
    n = _sizes(sample_size, d.size, d)
    chart = p_chart(
        d, n, p=p, remove_out_of_control=remove_out_of_control, max_iterations=max_iterations
    )
    size = float(n[0])
    return replace(
        chart,
        name="np",
        statistic=d,
        center=chart.center * size,
        lower=chart.lower * size,
        upper=chart.upper * size,
        sigma=chart.sigma * size,
    )


def c_chart(
    nonconformities: npt.ArrayLike,
    *,
    c: float | None = None,
    remove_out_of_control: bool = False,
    max_iterations: int = 10,
) -> ControlChart:
    """Nonconformities per inspection unit; limits ``c̄ ± 3 sqrt(c̄)``."""
    counts = _counts(nonconformities, "nonconformities")
    if c is not None:
        _positive(c, "c")
    chart = u_chart(
        counts, 1.0, u=c, remove_out_of_control=remove_out_of_control,
        max_iterations=max_iterations,
    )  # fmt: skip
    return replace(chart, name="c")


def u_chart(
    nonconformities: npt.ArrayLike,
    units: npt.ArrayLike | float,
    *,
    u: float | None = None,
    remove_out_of_control: bool = False,
    max_iterations: int = 10,
) -> ControlChart:
    """Nonconformities per unit ``c_i / n_i``; limits ``ū ± 3 sqrt(ū / n_i)``, ū pooled."""
    counts = _counts(nonconformities, "nonconformities")
    n = _sizes(units, counts.size, None)
    return _rate_chart("u", counts, n, u, lambda r, s: r / s, remove_out_of_control, max_iterations)


# -- time-weighted charts ---------------------------------------------------------------


def _target_sigma(x: FloatArray, target: float | None, sigma: float | None) -> tuple[float, float]:
    # Without a baseline, estimate from the data as an I-MR chart would: the moving range
    # is robust to the slow drift these charts exist to find, the overall sd is not.
    mu = float(x.mean()) if target is None else float(target)
    sd = float(np.abs(np.diff(x)).mean() / d2(2)) if sigma is None else sigma
    return mu, _positive(sd, "sigma")


def ewma_chart(
    values: npt.ArrayLike,
    *,
    lam: float = 0.2,
    width: float = 3.0,
    target: float | None = None,
    sigma: float | None = None,
    asymptotic: bool = False,
) -> ControlChart:
    """EWMA of ``values`` (individuals, or subgroup means with ``sigma = σ / sqrt(n)``).

    ``lam`` is λ in (0, 1]; ``width`` is L.  ``sigma`` is the sd of one plotted value.
    Limits widen from ``L σ λ`` at i = 1 to ``L σ sqrt(λ / (2 - λ))``; ``asymptotic``
    uses the latter throughout.
    """
    x = _finite(values, "values", 1, 2)
    if not (np.isfinite(lam) and 0 < lam <= 1):
        raise InputError(f"must be in (0, 1], got {lam}", field="lam")
    _positive(width, "width")
    mu, sd = _target_sigma(x, target, sigma)
    z = np.empty_like(x)
    prev = mu
    for i, xi in enumerate(x):
        prev = lam * xi + (1.0 - lam) * prev
        z[i] = prev
    steps = np.arange(1, x.size + 1)
    growth = 1.0 if asymptotic else 1.0 - (1.0 - lam) ** (2 * steps)
    sd_z = sd * np.sqrt(lam / (2.0 - lam) * growth) * np.ones(x.size)
    return _chart("EWMA", z, mu, sd_z, width=width)


def cusum_chart(
    values: npt.ArrayLike,
    *,
    k: float = 0.5,
    h: float = 5.0,
    target: float | None = None,
    sigma: float | None = None,
) -> CusumChart:
    """Tabular CUSUM with reference ``K = kσ`` and decision interval ``H = hσ``.

    A point is a violation when either sum exceeds H (strictly).  ``k = 0.5, h = 5``
    detects a 1σ shift with an in-control ARL of about 465 (Montgomery, section 9.1).
    """
    x = _finite(values, "values", 1, 2)
    if not (np.isfinite(k) and k >= 0):
        raise InputError(f"must be non-negative, got {k}", field="k")
    _positive(h, "h")
    mu, sd = _target_sigma(x, target, sigma)
    upper = np.empty_like(x)
    lower = np.empty_like(x)
    cu = cl = 0.0
    for i, xi in enumerate(x):
        cu = max(0.0, xi - (mu + k * sd) + cu)
        cl = max(0.0, (mu - k * sd) - xi + cl)
        upper[i], lower[i] = cu, cl
    limit = h * sd
    out = np.flatnonzero((upper > limit) | (lower > limit)).astype(np.int64)
    return CusumChart(upper, lower, limit, k * sd, mu, sd, out)
