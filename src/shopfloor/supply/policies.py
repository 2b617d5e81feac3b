"""Inventory policies per item: (s, Q), (s, S) and (R, S), designed on exact discrete distributions.

**Timing model** (the one :mod:`shopfloor.supply.simulation` plays out).  Time runs in
periods.  In each period: the deliveries due arrive, then the period's demand ``D`` is
served from the stock on hand (what is missing is backordered), then (at a review) the
inventory position ``IP`` = net stock + stock on order is compared with the policy and an
order may be placed.  An order placed at the end of period ``t`` with lead time ``L``
(``L = 0, 1, ...``, pmf from the supplier) is in stock for the demand of period
``t + L + 1``.  Orders do not overtake one another (see the simulation).

Then, if ``y`` is the inventory position after ordering at ``t`` and ``D_L`` the demand
over the lead time (the compound sum of
:func:`~shopfloor.supply.inventory.lead_time_demand`), the demand of period ``t + L + 1``
meets the net stock ``y - D_L``; so the expected unserved demand of that period is
``H(y) = E[(D_{L+1} - y)+] - E[(D_L - y)+]`` and the expected stock on hand at its end is
``E[(y - D_{L+1})+]``.  Averaging over the steady-state distribution of ``y`` gives the
**exact fill rate** of the policy ``1 - E[H(y)] / E[D]`` and its mean stock on hand:

- (s, Q): order the least multiple of ``Q`` that lifts ``IP`` above ``s``; ``y`` is
  uniform on ``s+1 .. s+Q`` (the transition matrix of ``y`` is circulant, hence doubly
  stochastic, whatever the integer demand);
- (s, S): order up to ``S`` when ``IP <= s``; ``P(y = S - j)`` is proportional to the
  renewal mass ``m(j)`` of the positive demands (``m(0) = 1``,
  ``m(j) = sum_k P(D = k | D > 0) m(j - k)``), ``j < S - s``;
- (R, S): every ``R`` periods order up to ``S``; the protection interval is ``L + R``:
  ``fill = 1 - (E[(D_{L+R} - S)+] - E[(D_L - S)+]) / (R E[D])``.

The **cycle service level** is the probability that no demand is backordered between
two deliveries, i.e. that the net stock just before a delivery is ``>= 0``: for
(R, S) ``P(D_{L+R} <= S)``; for (s, .) ``P(IP^- - D_L >= 0)`` with the inventory
position ``IP^-`` at the order *including the undershoot* below ``s`` (computed from
the same ``y`` distribution).  The **safety stock** is the expected net stock just
before a delivery.

The plain (s, Q) formula ``E[(LTD - s)+] <= (1 - b) Q`` ignores the undershoot and
counts shortages that were already backordered; on slow movers it misses the target by
many points either way.  The exact fill rate has neither error, but ``s`` is an integer:
for a part selling a unit a year, ``s = 0`` may give 89 % and ``s = 1`` 99.5 %.  So the
exact design (``quantity="optimal"``) also searches the lot size: for every lot-feasible
``Q`` (MOQ, pack) up to a few EOQs it takes the least ``s`` meeting the target and keeps
the pair of least expected cost ``h E[on hand] + K P(order)``; a larger ``Q`` is what
lets a slow mover land near 95 % instead of jumping to 99.5 %.

``method="normal"`` is the textbook design for comparison: ``Q`` = lot-sized EOQ and
``s = E[D_L] + k sd(D_L)`` (``S`` over ``L + R`` for (R, S)) with ``z`` for a cycle
service level or ``sd G(k) = (1 - b) Q`` (the normal loss function) for a fill rate,
rounded up to a whole unit.  Both methods report the exact fill rate the model predicts
for the chosen policy (``expected_fill_rate``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError
from shopfloor.supply.inventory import (
    Distribution,
    economic_order_quantity,
    lead_time_demand,
    lot_size,
)

FloatArray = npt.NDArray[np.float64]
PolicyKind = Literal["sQ", "sS", "RS"]
Method = Literal["exact", "normal"]
QuantityRule = Literal["eoq", "optimal"]
# The exact search tries lot sizes up to this multiple of the EOQ (and at least this many
# packs): beyond it the ordering saving cannot pay the extra cycle stock.
SEARCH_EOQ_MULTIPLE = 3.0
SEARCH_MIN_PACKS = 6
_NORMAL = NormalDist()


@dataclass(frozen=True)
class ServiceTarget:
    """What the policy must achieve: ``kind`` "csl" (cycle service level: probability of
    no backorder between deliveries) or "fill_rate" (share of demand served from stock)."""

    kind: Literal["csl", "fill_rate"]
    level: float

    def __post_init__(self) -> None:
        if self.kind not in ("csl", "fill_rate"):
            raise InputError(f"unknown target kind {self.kind!r}", field="target")
        if not 0.0 < self.level < 1.0:
            raise InputError(f"service level {self.level} is not in (0, 1)", field="level")

    @classmethod
    def cycle_service_level(cls, level: float) -> ServiceTarget:
        return cls("csl", level)

    @classmethod
    def fill_rate(cls, level: float) -> ServiceTarget:
        return cls("fill_rate", level)


@dataclass(frozen=True)
class Costs:
    """``order_cost`` K per order placed; ``holding_cost`` h per unit on hand per period."""

    order_cost: float
    holding_cost: float

    def __post_init__(self) -> None:
        if not (self.order_cost >= 0 and math.isfinite(self.order_cost)):
            raise InputError("must be finite and >= 0", field="order_cost")
        if not (self.holding_cost > 0 and math.isfinite(self.holding_cost)):
            raise InputError("must be finite and > 0", field="holding_cost")


@dataclass(frozen=True)
class Policy:
    """One item's policy.  (s, Q): ``reorder_point`` and ``order_quantity``; (s, S):
    ``reorder_point`` and ``order_up_to``; (R, S): ``order_up_to`` every
    ``review_period`` periods.  The ``expected_*`` figures are the exact model's for
    this policy (whatever the design method); costs are per period."""

    kind: PolicyKind
    review_period: int
    reorder_point: int | None
    order_quantity: int | None
    order_up_to: int | None
    safety_stock: float
    expected_fill_rate: float
    expected_cycle_service_level: float
    expected_on_hand: float
    orders_per_period: float
    method: Method
    moq: int = 0
    pack_size: int = 1

    def expected_cost(self, costs: Costs) -> float:
        return (
            costs.holding_cost * self.expected_on_hand + costs.order_cost * self.orders_per_period
        )


@dataclass(frozen=True)
class _Tables:
    """What every candidate of one item is evaluated with."""

    demand: FloatArray  # pmf of D
    mean: float
    ltd: FloatArray  # pmf of D_L
    ltd1: FloatArray  # pmf of D_{L+1}


def _excess(pmf: FloatArray, y: npt.NDArray[np.int64]) -> FloatArray:
    """``E[(X - y)+]`` for integer ``y`` of any sign."""
    mean = float(np.dot(np.arange(pmf.size), pmf))
    table = Distribution(pmf).expected_shortage()
    out = np.where(y < 0, mean - y, 0.0).astype(np.float64)
    inside = (y >= 0) & (y < pmf.size)
    out[inside] = table[y[inside]]
    return out


def _cdf_at(pmf: FloatArray, x: npt.NDArray[np.int64]) -> FloatArray:
    cdf = np.cumsum(pmf)
    return np.where(x < 0, 0.0, cdf[np.clip(x, 0, pmf.size - 1)])


@dataclass(frozen=True)
class _Sweep:
    """Exact figures of an (s, .) policy for every ``s`` in ``s_values``."""

    s_values: npt.NDArray[np.int64]
    fill: FloatArray
    on_hand: FloatArray
    order_prob: float
    c: FloatArray  # c[e] = P(order placed with IP^- = s - e), e >= 0 (unnormalised)
    tables: _Tables

    def csl(self) -> FloatArray:
        # P(IP^- - D_L >= 0 | order) = sum_e c_e F_L(s - e) / P(order).
        lo = int(self.s_values[0]) - (self.c.size - 1)
        x = np.arange(lo, int(self.s_values[-1]) + 1)
        conv = np.convolve(_cdf_at(self.tables.ltd, x), self.c)
        start = self.c.size - 1
        return np.asarray(conv[start : start + self.s_values.size] / self.order_prob)

    def safety(self, index: int) -> float:
        undershoot = float(np.dot(np.arange(self.c.size), self.c)) / self.order_prob
        ltd_mean = float(np.dot(np.arange(self.tables.ltd.size), self.tables.ltd))
        return float(self.s_values[index]) - undershoot - ltd_mean


def _sweep(tables: _Tables, weights: FloatArray, s_high: int) -> _Sweep:
    """``weights[k-1]`` = P(y = s + k), k = 1..len; ``s`` from ``-len`` to ``s_high``."""
    width = weights.size
    s_values = np.arange(-width, s_high + 1, dtype=np.int64)
    y = np.arange(-width + 1, s_high + width + 1, dtype=np.int64)
    g1 = _excess(tables.ltd1, y)
    unserved = g1 - _excess(tables.ltd, y)
    ltd1_mean = float(np.dot(np.arange(tables.ltd1.size), tables.ltd1))
    on_hand_y = y - ltd1_mean + g1
    # correlate(a, w, "valid")[n] = sum_k a[n + k] w[k]: the average over y = s+1..s+width.
    fill = 1.0 - np.correlate(unserved, weights, "valid") / tables.mean
    on_hand = np.correlate(on_hand_y, weights, "valid")
    # An order is placed with IP^- = s + k - d when y = s + k and d >= k: c[e] with
    # e = d - k, c[e] = sum_k w_k P(D = k + e).
    p = tables.demand
    tail = np.concatenate([p[1:], np.zeros(width)])
    c = np.correlate(tail, weights, "valid")[: max(p.size - 1, 1)]
    return _Sweep(s_values, fill, on_hand, float(c.sum()), np.asarray(c), tables)


def _renewal_weights(demand: FloatArray, span: int) -> FloatArray:
    """Steady-state ``P(y = s + k)``, k = 1..span, of an (s, S) policy with S - s = span."""
    positive = demand[1:] / (1.0 - demand[0])  # P(D = k | D > 0), k >= 1
    m = np.zeros(span)
    m[0] = 1.0
    for j in range(1, span):
        k = min(j, positive.size)
        m[j] = float(np.dot(positive[:k], m[j - 1 :: -1][:k]))
    w = m[::-1]  # y = S - j = s + (span - j)
    return np.asarray(w / w.sum())


def _check(demand: Distribution, lead_time: Distribution) -> None:
    for name, dist in (("demand", demand), ("lead_time", lead_time)):
        pmf = dist.pmf
        if pmf.ndim != 1 or pmf.size == 0 or (pmf < 0).any() or not np.isfinite(pmf).all():
            raise InputError("must be a non-negative finite pmf", field=name)
        if abs(float(pmf.sum()) - 1.0) > 1e-6:
            raise InputError(f"pmf sums to {float(pmf.sum()):.6g}, not 1", field=name)
    if demand.mean <= 0:
        raise InputError("no demand at all: nothing to stock", field="demand")


def _select(values: FloatArray, level: float) -> int:
    """Index of the least ``s`` whose figure (non-decreasing in s) reaches ``level``."""
    ok = np.nonzero(values >= level - 1e-12)[0]
    return int(ok[0]) if ok.size else values.size - 1


def _normal_k(target: ServiceTarget, sd: float, allowed_shortage: float) -> float:
    """Safety factor: ``z`` for a CSL; for a fill rate ``sd G(k) = allowed_shortage``."""
    if target.kind == "csl":
        return _NORMAL.inv_cdf(target.level)
    goal = allowed_shortage / sd

    def loss(k: float) -> float:
        return _NORMAL.pdf(k) - k * (1.0 - _NORMAL.cdf(k))

    lo, hi = -8.0, 8.0  # G is decreasing: G(-8) ~ 8, G(8) ~ 0
    if goal >= loss(lo):
        return lo
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if loss(mid) > goal else (lo, mid)
    return hi


def _normal_level(
    target: ServiceTarget, mean: float, var: float, allowed_shortage: float, shift: float
) -> int:
    sd = math.sqrt(max(var, 0.0))
    if sd == 0.0:
        return math.ceil(mean - 1e-9)
    k = _normal_k(target, sd, allowed_shortage) + shift
    return math.ceil(mean + k * sd - 1e-9)


def _lead_moments(demand: Distribution, lead_time: Distribution, extra: int) -> tuple[float, float]:
    """Mean and variance of the demand over ``L + extra`` periods (the normal method's)."""
    periods = lead_time.mean + extra
    return (
        periods * demand.mean,
        periods * demand.variance + demand.mean**2 * lead_time.variance,
    )


def _design_reorder(
    tables: _Tables,
    demand: Distribution,
    lead_time: Distribution,
    target: ServiceTarget,
    costs: Costs,
    kind: Literal["sQ", "sS"],
    moq: int,
    pack_size: int,
    method: Method,
    quantity: QuantityRule,
    shift: float,
    fixed_q: int | None,
) -> Policy:
    eoq = economic_order_quantity(demand.mean, costs.order_cost, costs.holding_cost)
    q_eoq = lot_size(max(round(eoq), 1) if fixed_q is None else fixed_q, moq, pack_size)
    if method == "normal" or quantity == "eoq" or fixed_q is not None:
        candidates = [q_eoq]
    else:
        top = max(SEARCH_EOQ_MULTIPLE * q_eoq, SEARCH_MIN_PACKS * pack_size, moq)
        first = lot_size(1, moq, pack_size)
        candidates = list(range(first, int(top) + 1, pack_size))
    s_high = tables.ltd1.size
    normal_s = 0
    if method == "normal":
        mean, var = _lead_moments(demand, lead_time, 0)
        normal_s = _normal_level(target, mean, var, (1.0 - target.level) * q_eoq, shift)
        s_high = max(s_high, normal_s + 1)
    best: tuple[float, int, _Sweep, int] | None = None
    for q in candidates:
        # (s, Q): y uniform on s+1..s+Q; (s, S): renewal weights of the positive demands.
        weights = np.full(q, 1.0 / q) if kind == "sQ" else _renewal_weights(tables.demand, q)
        sweep = _sweep(tables, weights, s_high)
        if method == "normal":
            index = max(normal_s - int(sweep.s_values[0]), 0)
        elif target.kind == "fill_rate":
            index = _select(sweep.fill, target.level)
        else:
            index = _select(sweep.csl(), target.level)
        cost = costs.holding_cost * sweep.on_hand[index] + costs.order_cost * sweep.order_prob
        if best is None or cost < best[0] - 1e-12:
            best = (cost, q, sweep, index)
    assert best is not None
    _, q, sweep, index = best
    s = int(sweep.s_values[index])
    return Policy(
        kind=kind,
        review_period=1,
        reorder_point=s,
        order_quantity=q if kind == "sQ" else None,
        order_up_to=s + q if kind == "sS" else None,
        safety_stock=sweep.safety(index),
        expected_fill_rate=float(sweep.fill[index]),
        expected_cycle_service_level=float(sweep.csl()[index]),
        expected_on_hand=float(sweep.on_hand[index]),
        orders_per_period=sweep.order_prob,
        method=method,
        moq=moq,
        pack_size=pack_size,
    )


def _design_periodic(
    tables: _Tables,
    demand: Distribution,
    lead_time: Distribution,
    target: ServiceTarget,
    review_period: int,
    moq: int,
    pack_size: int,
    method: Method,
    shift: float,
) -> Policy:
    r = review_period
    # D_{L+j}, j = 1..R, for the mean stock on hand over the review cycle.
    partial = [tables.ltd1]
    for _ in range(r - 1):
        partial.append(np.convolve(partial[-1], tables.demand))
    protect = partial[-1]  # D_{L+R}
    if method == "normal":
        mean, var = _lead_moments(demand, lead_time, r)
        level = _normal_level(target, mean, var, (1.0 - target.level) * r * demand.mean, shift)
    else:
        level = -1
    top = max(protect.size, level + 1)
    s_values = np.arange(0, top + 1, dtype=np.int64)
    fill = 1.0 - (_excess(protect, s_values) - _excess(tables.ltd, s_values)) / (r * tables.mean)
    csl = _cdf_at(protect, s_values)
    if method == "normal":
        index = max(level, 0)
    else:
        index = _select(fill if target.kind == "fill_rate" else csl, target.level)
    big_s = int(s_values[index])
    on_hand = float(
        np.mean(
            [
                big_s - np.dot(np.arange(p.size), p) + _excess(p, s_values[index : index + 1])[0]
                for p in partial
            ]
        )
    )
    protect_mean = float(np.dot(np.arange(protect.size), protect))
    return Policy(
        kind="RS",
        review_period=r,
        reorder_point=None,
        order_quantity=None,
        order_up_to=big_s,
        safety_stock=big_s - protect_mean,
        expected_fill_rate=float(fill[index]),
        expected_cycle_service_level=float(csl[index]),
        expected_on_hand=on_hand,
        # an order at a review iff some demand since the last one
        orders_per_period=(1.0 - float(tables.demand[0]) ** r) / r,
        method=method,
        moq=moq,
        pack_size=pack_size,
    )


def design_policy(
    demand: Distribution,
    lead_time: Distribution,
    target: ServiceTarget,
    costs: Costs,
    *,
    kind: PolicyKind = "sQ",
    review_period: int = 1,
    moq: int = 0,
    pack_size: int = 1,
    method: Method = "exact",
    quantity: QuantityRule = "optimal",
    safety_shift: float = 0.0,
    order_quantity: int | None = None,
) -> Policy:
    """One item's policy from its per-period demand pmf and its lead-time pmf (periods).

    ``quantity`` (exact method, (s, Q) and (s, S)): "eoq" keeps the lot-sized EOQ,
    "optimal" searches the lot size too (see the module docstring).  (s, Q) and (s, S)
    review every period; (R, S) every ``review_period``.  ``safety_shift`` (normal
    method only) is added to the safety factor ``k``: a recalibration knob, used to
    compare the methods at an equal achieved service.  ``order_quantity`` ((s, Q): Q,
    (s, S): S - s) fixes the lot size instead of the EOQ or the search (lot-sized).
    """
    if order_quantity is not None and order_quantity < 1:
        raise InputError("must be >= 1", field="order_quantity")
    if kind not in ("sQ", "sS", "RS"):
        raise InputError(f"unknown policy kind {kind!r}", field="kind")
    if method not in ("exact", "normal"):
        raise InputError(f"unknown method {method!r}", field="method")
    if quantity not in ("eoq", "optimal"):
        raise InputError(f"unknown quantity rule {quantity!r}", field="quantity")
    if review_period < 1 or (kind != "RS" and review_period != 1):
        raise InputError(
            "(s, .) policies review every period; (R, S) needs R >= 1", field="review_period"
        )
    if moq < 0 or pack_size < 1:
        raise InputError("needs moq >= 0 and pack_size >= 1", field="lot_size")
    _check(demand, lead_time)
    ltd = lead_time_demand(demand, lead_time).pmf
    tables = _Tables(demand.pmf, demand.mean, ltd, np.convolve(ltd, demand.pmf))
    if kind == "RS":
        return _design_periodic(
            tables, demand, lead_time, target, review_period, moq, pack_size, method, safety_shift
        )
    return _design_reorder(
        tables,
        demand,
        lead_time,
        target,
        costs,
        kind,
        moq,
        pack_size,
        method,
        quantity,
        safety_shift,
        order_quantity,
    )


def design_policies(
    demands: Sequence[Distribution],
    lead_times: Distribution | Sequence[Distribution],
    target: ServiceTarget,
    costs: Costs | Sequence[Costs],
    *,
    kind: PolicyKind = "sQ",
    review_period: int = 1,
    moq: int = 0,
    pack_size: int = 1,
    method: Method = "exact",
    quantity: QuantityRule = "optimal",
    safety_shift: float = 0.0,
    order_quantities: Sequence[int | None] | None = None,
) -> list[Policy]:
    """:func:`design_policy` for many items (one lead time and one cost pair for all, or
    one per item; ``order_quantities``: one fixed lot size per item, None = designed)."""
    n = len(demands)
    leads = [lead_times] * n if isinstance(lead_times, Distribution) else list(lead_times)
    cost_list = [costs] * n if isinstance(costs, Costs) else list(costs)
    if len(leads) != n:
        raise InputError(f"{len(leads)} lead times for {n} items", field="lead_times")
    if len(cost_list) != n:
        raise InputError(f"{len(cost_list)} cost pairs for {n} items", field="costs")
    fixed = [None] * n if order_quantities is None else list(order_quantities)
    if len(fixed) != n:
        raise InputError(f"{len(fixed)} order quantities for {n} items", field="order_quantities")
    return [
        design_policy(
            d,
            lead,
            target,
            c,
            kind=kind,
            review_period=review_period,
            moq=moq,
            pack_size=pack_size,
            method=method,
            quantity=quantity,
            safety_shift=safety_shift,
            order_quantity=q,
        )
        for d, lead, c, q in zip(demands, leads, cost_list, fixed, strict=True)
    ]


def reorder_quantity(policy: Policy, inventory_position: int) -> int:
    """What to order now (for (R, S): at a review) given the inventory position (net stock
    plus stock on order): 0 when no order is due; lot-sized to the policy's MOQ and pack."""
    ip = int(inventory_position)
    if policy.kind == "sQ":
        assert policy.reorder_point is not None and policy.order_quantity is not None
        if ip > policy.reorder_point:
            return 0
        lots = (policy.reorder_point - ip) // policy.order_quantity + 1
        return lot_size(lots * policy.order_quantity, policy.moq, policy.pack_size)
    assert policy.order_up_to is not None
    if policy.kind == "sS":
        assert policy.reorder_point is not None
        if ip > policy.reorder_point:
            return 0
    return lot_size(policy.order_up_to - ip, policy.moq, policy.pack_size)
