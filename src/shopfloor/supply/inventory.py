"""Lead-time demand and reorder points: exact discrete distributions, and the normal one.

Demand per period is an integer-valued random variable with an empirical pmf (from the
history, or from a forecast's distribution); the lead time ``L`` is a number of periods
with its own pmf (from the supplier's deliveries).  The demand over the lead time is
then the compound sum ``D_1 + ... + D_L``; its pmf is ``sum_l P(L = l) * pmf^{*l}``, by
repeated convolution (exact, no normal approximation; what intermittent items need,
where the normal puts mass on negative demand and misses the lumps).

From that distribution:

- reorder point for a **cycle service level** ``a``: the least ``s`` with
  ``P(LTD <= s) >= a``;
- reorder point for a **fill rate** ``b`` with order quantity ``Q``: the least ``s``
  whose expected shortage per cycle ``E[(LTD - s)+]`` is at most ``(1 - b) * Q`` (the
  standard approximation for (s, Q) policies);
- the normal approximation for comparison: mean ``E[L] mu``, variance
  ``E[L] sigma^2 + mu^2 Var(L)``, ``s = mean + z * sd``.

Lot sizes: EOQ ``sqrt(2 D K / h)`` rounded up to the minimum order quantity and to a
multiple of the pack size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError

FloatArray = npt.NDArray[np.float64]
# Support cap of a lead-time demand pmf: beyond it the exact convolution stops paying off
# (the normal approximation is then good, by the central limit theorem).
MAX_SUPPORT = 100_000


@dataclass(frozen=True)
class Distribution:
    """A pmf on 0, 1, 2, ... (``pmf[k] = P(X = k)``)."""

    pmf: FloatArray

    @property
    def mean(self) -> float:
        return float(np.dot(np.arange(self.pmf.size), self.pmf))

    @property
    def variance(self) -> float:
        k = np.arange(self.pmf.size)
        return float(np.dot(k**2, self.pmf) - self.mean**2)

    def cdf(self) -> FloatArray:
        return np.asarray(np.cumsum(self.pmf), dtype=np.float64)

    def expected_shortage(self) -> FloatArray:
        """``E[(X - s)+]`` for every ``s`` in the support."""
        k = np.arange(self.pmf.size, dtype=np.float64)
        tail_mass = self.pmf[::-1].cumsum()[::-1]  # P(X >= s)
        tail_sum = (k * self.pmf)[::-1].cumsum()[::-1]  # E[X; X >= s]
        # E[(X - s)+] = E[X; X > s] - s P(X > s)
        above_mass = np.append(tail_mass[1:], 0.0)
        above_sum = np.append(tail_sum[1:], 0.0)
        return np.asarray(np.maximum(above_sum - k * above_mass, 0.0), dtype=np.float64)


def empirical(values: npt.ArrayLike) -> Distribution:
    """The pmf of observed non-negative integer values (NaN ignored)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[~np.isnan(v)]
    if v.size == 0:
        raise InputError("no observed value to build a distribution from", field="values")
    if (v < 0).any() or np.isinf(v).any() or (v != np.round(v)).any():
        raise InputError("values must be finite non-negative integers", field="values")
    counts = np.bincount(v.astype(np.int64))
    return Distribution(counts / counts.sum())


def lead_time_demand(demand: Distribution, lead_time: Distribution) -> Distribution:
    """Distribution of the demand summed over a random number of periods."""
    longest = lead_time.pmf.size - 1
    if (demand.pmf.size - 1) * longest + 1 > MAX_SUPPORT:
        raise InputError(
            f"lead-time demand would span more than {MAX_SUPPORT} units: use the normal "
            "approximation",
            field="demand",
        )
    total = np.zeros((demand.pmf.size - 1) * longest + 1)
    power = np.array([1.0])  # pmf of the sum of 0 periods
    for periods in range(longest + 1):
        weight = lead_time.pmf[periods]
        if weight > 0:
            total[: power.size] += weight * power
        if periods < longest:
            power = np.convolve(power, demand.pmf)
    return Distribution(total / total.sum())


def reorder_point_csl(ltd: Distribution, level: float) -> int:
    """Least ``s`` with ``P(LTD <= s) >= level`` (cycle service level)."""
    if not 0.0 < level < 1.0:
        raise InputError(f"service level {level} is not in (0, 1)", field="level")
    cdf = ltd.cdf()
    return int(np.searchsorted(cdf, level - 1e-12))


def reorder_point_fill_rate(ltd: Distribution, fill_rate: float, order_quantity: float) -> int:
    """Least ``s`` whose expected shortage per cycle is at most ``(1 - b) * Q``."""
    if not 0.0 < fill_rate < 1.0:
        raise InputError(f"fill rate {fill_rate} is not in (0, 1)", field="fill_rate")
    if order_quantity <= 0:
        raise InputError("must be positive", field="order_quantity")
    allowed = (1.0 - fill_rate) * order_quantity
    shortage = ltd.expected_shortage()
    meets = np.nonzero(shortage <= allowed + 1e-12)[0]
    return int(meets[0]) if meets.size else ltd.pmf.size - 1


def normal_reorder_point(
    demand_mean: float,
    demand_sd: float,
    lead_time_mean: float,
    lead_time_sd: float,
    level: float,
) -> float:
    """``E[LTD] + z(level) * sd(LTD)`` under the normal approximation."""
    if not 0.0 < level < 1.0:
        raise InputError(f"service level {level} is not in (0, 1)", field="level")
    mean = lead_time_mean * demand_mean
    sd = math.sqrt(lead_time_mean * demand_sd**2 + demand_mean**2 * lead_time_sd**2)
    return mean + NormalDist().inv_cdf(level) * sd


def economic_order_quantity(annual_demand: float, order_cost: float, holding_cost: float) -> float:
    """Wilson's EOQ ``sqrt(2 D K / h)`` (``holding_cost`` per unit and year)."""
    if annual_demand < 0 or order_cost < 0 or holding_cost <= 0:
        raise InputError("needs demand >= 0, order cost >= 0, holding cost > 0", field="eoq")
    return math.sqrt(2.0 * annual_demand * order_cost / holding_cost)


def lot_size(quantity: float, moq: int = 1, pack_size: int = 1) -> int:
    """``quantity`` raised to the minimum order quantity and up to a whole pack (nothing
    needed: nothing ordered)."""
    if moq < 0 or pack_size < 1:
        raise InputError("needs moq >= 0 and pack_size >= 1", field="lot_size")
    if quantity <= 0:
        return 0
    wanted = max(quantity, moq)
    return int(math.ceil(wanted / pack_size - 1e-9) * pack_size)
