"""Process capability: Cp, Cpk, Pp, Ppk with confidence intervals.

Definitions (Montgomery, *Introduction to Statistical Quality Control*, ch. 8), with μ̂
the grand mean, σ̂ a sigma estimate and n the number of individual values:

- ``Cp = (USL - LSL) / 6σ̂``; ``Cpu = (USL - μ̂) / 3σ̂``; ``Cpl = (μ̂ - LSL) / 3σ̂``;
  ``Cpk = min(Cpu, Cpl)``.  With one spec limit only, Cp is undefined (``None``) and
  Cpk is the one-sided index of the limit given.
- The C indices use the **within** sigma: ``R̄ / d2(n)`` or ``S̄ / c4(n)`` for an
  ``m x n`` array of subgroups, ``MR̄ / d2(2) = MR̄ / 1.128`` for individuals.  The P
  indices use the **overall** sigma, the sample sd (ddof = 1) of all values.
- Confidence interval on Cp (and Pp), chi-square (Montgomery, eq. 8.19)::

      Ĉp sqrt(χ²_{α/2, n-1} / (n - 1)) <= Cp <= Ĉp sqrt(χ²_{1-α/2, n-1} / (n - 1))

  with ``χ²_{q, ν}`` the q-quantile.  It is exact for the overall sd and an
  approximation for the within sigma (whose degrees of freedom differ from n - 1).
- Confidence interval on Cpk (and Ppk), Bissell's (1990) normal approximation::

      Ĉpk (1 ± z_{1-α/2} sqrt(1 / (9 n Ĉpk²) + 1 / (2 (n - 1))))

  Bissell, A. F. (1990), "How reliable is your capability index?", *Applied
  Statistics* 39(3), 331-340.  It is used for one-sided indices as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2, norm

from shopfloor.errors import InputError
from shopfloor.quality.control_charts import c4, d2

FloatArray = npt.NDArray[np.float64]

WITHIN_METHODS = ("rbar", "sbar", "mr")


@dataclass(frozen=True)
class Interval:
    """A point estimate and its two-sided confidence interval."""

    estimate: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Capability:
    """Capability of one characteristic against its specification limits.

    ``cp`` / ``pp`` are ``None`` for a one-sided specification; ``cpu`` / ``cpl`` (and
    ``ppu`` / ``ppl``) are ``None`` for the missing side.
    """

    n: int
    mean: float
    sigma_within: float
    sigma_overall: float
    within_method: str
    confidence: float
    cp: Interval | None
    cpk: Interval
    pp: Interval | None
    ppk: Interval
    cpu: float | None
    cpl: float | None
    ppu: float | None
    ppl: float | None


def cp_interval(cp: float, n: int, confidence: float = 0.95) -> Interval:
    """Chi-square interval on Cp (or Pp) from ``n`` values (formula in the module doc)."""
    _check_confidence(confidence)
    if n < 2:
        raise InputError(f"needs at least 2 values, got {n}", field="n")
    alpha = 1.0 - confidence
    df = n - 1
    low = cp * np.sqrt(chi2.ppf(alpha / 2, df) / df)
    high = cp * np.sqrt(chi2.ppf(1 - alpha / 2, df) / df)
    return Interval(float(cp), float(low), float(high))


def cpk_interval(cpk: float, n: int, confidence: float = 0.95) -> Interval:
    """Bissell's (1990) normal-approximation interval on Cpk (or Ppk)."""
    _check_confidence(confidence)
    if n < 2:
        raise InputError(f"needs at least 2 values, got {n}", field="n")
    z = norm.ppf(0.5 + confidence / 2)
    if cpk == 0:
        # The approximation's first term is undefined at 0; its limit is ± z / (3 sqrt(n)).
        half = z / (3.0 * np.sqrt(n))
        return Interval(0.0, float(-half), float(half))
    half = z * np.sqrt(1.0 / (9.0 * n * cpk**2) + 1.0 / (2.0 * (n - 1)))
    return Interval(float(cpk), float(cpk * (1 - half)), float(cpk * (1 + half)))


def _check_confidence(confidence: float) -> None:
    if not (np.isfinite(confidence) and 0 < confidence < 1):
        raise InputError(f"must be in (0, 1), got {confidence}", field="confidence")


def _within(data: FloatArray, method: str | None) -> tuple[float, str]:
    if data.ndim == 1:
        if method not in (None, "mr"):
            raise InputError(f"'{method}' needs subgroups (a 2-D array)", field="within")
        return float(np.abs(np.diff(data)).mean() / d2(2)), "mr"
    n = data.shape[1]
    method = method or "rbar"
    if method == "rbar":
        return float((data.max(axis=1) - data.min(axis=1)).mean() / d2(n)), method
    if method == "sbar":
        return float(data.std(axis=1, ddof=1).mean() / c4(n)), method
    raise InputError(f"must be one of {WITHIN_METHODS[:2]} for subgroups", field="within")


def capability(
    values: npt.ArrayLike,
    *,
    lsl: float | None = None,
    usl: float | None = None,
    within: str | None = None,
    confidence: float = 0.95,
) -> Capability:
    """Cp, Cpk, Pp, Ppk of ``values`` (1-D individuals or an ``m x n`` subgroup array).

    ``within`` picks the within sigma: ``"rbar"`` (default for subgroups), ``"sbar"``,
    or ``"mr"`` (the only one for individuals).  At least one spec limit is required.
    """
    data = np.asarray(values, dtype=np.float64)
    if data.ndim not in (1, 2):
        raise InputError(f"must be 1-D or 2-D, got {data.ndim}-D", field="values")
    if not np.all(np.isfinite(data)):
        raise InputError("must be finite (no NaN or inf)", field="values")
    if data.ndim == 2 and data.shape[1] < 2:
        raise InputError("subgroups need at least 2 values each", field="subgroup_size")
    if data.size < 3 or data.shape[0] < 2:
        raise InputError(f"needs at least 3 values, got {data.size}", field="values")
    if lsl is None and usl is None:
        raise InputError("give at least one of lsl and usl", field="usl")
    for name, limit in (("lsl", lsl), ("usl", usl)):
        if limit is not None and not np.isfinite(limit):
            raise InputError("must be finite", field=name)
    if lsl is not None and usl is not None and lsl >= usl:
        raise InputError(f"lsl ({lsl}) must be below usl ({usl})", field="lsl")
    _check_confidence(confidence)

    n = int(data.size)
    mean = float(data.mean())
    sigma_w, method = _within(data, within)
    sigma_o = float(data.std(ddof=1))
    if sigma_w <= 0 or sigma_o <= 0:
        raise InputError("has no variation: capability is undefined", field="values")

    def indices(sigma: float) -> tuple[Interval | None, Interval, float | None, float | None]:
        upper = None if usl is None else (usl - mean) / (3 * sigma)
        lower = None if lsl is None else (mean - lsl) / (3 * sigma)
        two_sided = None
        if usl is not None and lsl is not None:
            two_sided = cp_interval((usl - lsl) / (6 * sigma), n, confidence)
        k = min(v for v in (upper, lower) if v is not None)
        return two_sided, cpk_interval(k, n, confidence), upper, lower

    cp, cpk, cpu, cpl = indices(sigma_w)
    pp, ppk, ppu, ppl = indices(sigma_o)
    return Capability(
        n, mean, sigma_w, sigma_o, method, confidence, cp, cpk, pp, ppk, cpu, cpl, ppu, ppl
    )
