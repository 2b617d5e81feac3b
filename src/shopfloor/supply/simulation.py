"""Seeded Monte Carlo (or replay) of periodic-review inventory, many items at once.

The model is the one :mod:`shopfloor.supply.policies` designs for.  In each period, per
item:

1. the deliveries due arrive (before they do, the net stock is checked: a delivery that
   finds no backorder closes a replenishment cycle without stockout; the cycle service
   level is the share of deliveries that do);
2. the demand is drawn (i.i.d. from the item's pmf) or replayed from a history; it is
   served from the stock on hand, the rest is backordered (the **fill rate** is the
   share of demand served from stock on hand);
3. the stock on hand at the end of the period is recorded (holding cost = h x its mean);
4. at a review (every period for (s, Q) and (s, S), every ``R`` for (R, S)) the
   inventory position (net stock + on order) is compared with the policy and an order
   is placed, lot-sized to the MOQ and pack; its lead time ``L`` is drawn from the
   lead-time pmf and it is in stock for the demand of period ``t + L + 1``.

**Crossing.**  By default orders do not overtake one another (``crossing=False``): an
order arrives no earlier than the one placed before it (one supplier delivers in
sequence), which is the assumption under the exact lead-time demand of the design.  With
``crossing=True`` each order keeps its own drawn lead time.

**Common random numbers.**  Demands and lead times come from two independent streams of
``seed``, drawn for every item and period in fixed-size blocks whether or not an order
is placed, so two calls with the same seed and the same items see the same demands and
the same lead time for an order placed in the same period: differences between policies
are the policies', not the dice's.

The loop runs over periods with numpy arrays over items (no Python loop per item).  The
first ``warmup`` periods are played but not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError
from shopfloor.supply.inventory import Distribution
from shopfloor.supply.policies import Costs, Policy

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BLOCK = 256  # periods drawn at a time: the stream layout, hence part of the seeding contract
_KIND = {"sQ": 0, "sS": 1, "RS": 2}


@dataclass(frozen=True)
class SimulationResult:
    """Per-item figures over the counted periods (costs per period).  ``fill_rate`` is NaN
    for an item without demand, ``cycle_service_level`` for one without a delivery."""

    fill_rate: FloatArray
    cycle_service_level: FloatArray
    mean_on_hand: FloatArray
    holding_cost: FloatArray
    ordering_cost: FloatArray
    orders: IntArray
    demand: IntArray
    served: IntArray
    periods: int

    @property
    def total_cost(self) -> FloatArray:
        return np.asarray(self.holding_cost + self.ordering_cost)

    @property
    def aggregate_fill_rate(self) -> float:
        """Demand-weighted fill rate over all items."""
        total = int(self.demand.sum())
        return float(self.served.sum() / total) if total else float("nan")


class _Sampler:
    """Walker's alias tables for many pmfs: one uniform per draw, O(1) per item."""

    def __init__(self, dists: Sequence[Distribution]) -> None:
        supports = [np.flatnonzero(d.pmf > 0) for d in dists]
        width = max(s.size for s in supports)
        n = len(dists)
        self.values = np.zeros((n, width), dtype=np.int64)
        self.prob = np.ones((n, width))
        self.alias = np.zeros((n, width), dtype=np.int64)
        self.size = np.array([s.size for s in supports], dtype=np.float64)
        for i, (d, support) in enumerate(zip(dists, supports, strict=True)):
            self.values[i, : support.size] = support
            prob, alias = _vose(d.pmf[support] / d.pmf[support].sum())
            self.prob[i, : support.size] = prob
            self.alias[i, : support.size] = alias
        self._rows = np.arange(n)[None, :]

    def draw(self, rng: np.random.Generator, periods: int) -> IntArray:
        x = rng.random((periods, self.size.size)) * self.size
        column = np.minimum(x.astype(np.int64), self.size.astype(np.int64) - 1)
        keep = (x - column) < self.prob[self._rows, column]
        column = np.where(keep, column, self.alias[self._rows, column])
        return np.asarray(self.values[self._rows, column])


def _vose(p: FloatArray) -> tuple[FloatArray, IntArray]:
    k = p.size
    scaled = p * k
    prob = np.ones(k)
    alias = np.arange(k, dtype=np.int64)
    small = [i for i in range(k) if scaled[i] < 1.0]
    large = [i for i in range(k) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], g
        scaled[g] += scaled[s] - 1.0
        (small if scaled[g] < 1.0 else large).append(g)
    return prob, alias  # leftovers keep prob 1 (rounding)


def _leads(value: Distribution | Sequence[Distribution], n: int) -> list[Distribution]:
    items = [value] * n if isinstance(value, Distribution) else list(value)
    if len(items) != n:
        raise InputError(f"{len(items)} lead-time pmfs for {n} items", field="lead_times")
    return items


def _costs(value: Costs | Sequence[Costs], n: int) -> list[Costs]:
    items = [value] * n if isinstance(value, Costs) else list(value)
    if len(items) != n:
        raise InputError(f"{len(items)} cost pairs for {n} items", field="costs")
    return items


def simulate(
    policies: Sequence[Policy],
    demand: Sequence[Distribution] | npt.ArrayLike,
    lead_times: Distribution | Sequence[Distribution],
    costs: Costs | Sequence[Costs],
    *,
    periods: int | None = None,
    warmup: int = 50,
    seed: int = 0,
    crossing: bool = False,
) -> SimulationResult:
    """Play ``policies`` (one per item) for ``periods`` periods after ``warmup``.

    ``demand``: one pmf per item (Monte Carlo), or an items x periods matrix of
    non-negative integers to replay (then ``periods`` defaults to its width minus the
    warm-up).  Each item starts with its net stock at the policy's top level (s + Q or
    S) and nothing on order.
    """
    n = len(policies)
    if n == 0:
        raise InputError("no policy to simulate", field="policies")
    if warmup < 0:
        raise InputError("must be >= 0", field="warmup")
    history: IntArray | None = None
    sampler: _Sampler | None = None
    if isinstance(demand, np.ndarray) or (
        not isinstance(demand, Sequence) or not all(isinstance(d, Distribution) for d in demand)
    ):
        raw = np.asarray(demand, dtype=np.float64)
        if raw.ndim != 2 or raw.shape[0] != n:
            raise InputError(f"needs a {n} x periods matrix", field="demand")
        if not np.isfinite(raw).all() or (raw < 0).any() or (raw != np.round(raw)).any():
            raise InputError("replayed demand must be finite non-negative integers", field="demand")
        history = raw.astype(np.int64)
        periods = raw.shape[1] - warmup if periods is None else periods
        if periods + warmup > raw.shape[1]:
            raise InputError(
                f"history has {raw.shape[1]} periods, fewer than asked", field="periods"
            )
    else:
        dists = list(demand)
        if len(dists) != n:
            raise InputError(f"{len(dists)} demand pmfs for {n} policies", field="demand")
        sampler = _Sampler(dists)
    if periods is None or periods < 1:
        raise InputError("must be >= 1", field="periods")
    leads = _leads(lead_times, n)
    cost_list = _costs(costs, n)
    lead_sampler = _Sampler(leads)
    holding = np.array([c.holding_cost for c in cost_list])
    ordering = np.array([c.order_cost for c in cost_list])

    kind = np.array([_KIND[p.kind] for p in policies])
    s = np.array([p.reorder_point if p.reorder_point is not None else 0 for p in policies])
    q = np.array([p.order_quantity or 1 for p in policies])
    big_s = np.array([p.order_up_to if p.order_up_to is not None else 0 for p in policies])
    review = np.array([p.review_period for p in policies])
    moq = np.array([p.moq for p in policies])
    pack = np.array([p.pack_size for p in policies])
    top = np.where(kind == 0, s + q, big_s)

    horizon = int(max(d.pmf.size for d in leads)) + 1  # ring slots: arrivals t+1 .. t+Lmax+1
    ring = np.zeros((n, horizon), dtype=np.int64)
    ring_orders = np.zeros((n, horizon), dtype=np.int64)
    net = top.astype(np.int64).copy()
    on_order = np.zeros(n, dtype=np.int64)
    last_arrival = np.zeros(n, dtype=np.int64)
    rows = np.arange(n)
    counts = {k: np.zeros(n, dtype=np.int64) for k in ("dem", "srv", "oh", "ord", "cyc", "ok")}

    seeds = np.random.SeedSequence(seed).spawn(2)
    demand_rng, lead_rng = (np.random.default_rng(x) for x in seeds)
    total = warmup + periods
    block_d: IntArray = np.zeros((0, n), dtype=np.int64)
    block_l: IntArray = np.zeros((0, n), dtype=np.int64)
    for t in range(total):
        b = t % BLOCK
        if b == 0:
            size = min(BLOCK, total - t)
            if sampler is not None:
                block_d = sampler.draw(demand_rng, BLOCK)[:size]
            else:
                assert history is not None
                block_d = history[:, t : t + size].T
            block_l = lead_sampler.draw(lead_rng, BLOCK)[:size]
        counted = t >= warmup
        slot = t % horizon
        arriving = ring_orders[:, slot]
        if counted:
            counts["cyc"] += arriving
            counts["ok"] += arriving * (net >= 0)
        net += ring[:, slot]
        on_order -= ring[:, slot]
        ring[:, slot] = 0
        ring_orders[:, slot] = 0

        d = block_d[b]
        served = np.minimum(d, np.maximum(net, 0))
        net -= d
        if counted:
            counts["dem"] += d
            counts["srv"] += served
            counts["oh"] += np.maximum(net, 0)

        ip = net + on_order
        qty = np.where(kind == 0, ((s - ip) // q + 1) * q, big_s - ip)
        at_review = (kind == 2) & ((t + 1) % review == 0)
        due = np.where(kind == 2, at_review & (ip < big_s), ip <= s)
        # An (R, S) review with nothing to order still closes a review cycle: it is
        # counted as an empty delivery one lead time later, so that the cycle service
        # level counts every review cycle, as P(D_{L+R} <= S) does.
        empty = np.flatnonzero(at_review & ~due)
        if empty.size:
            when = (t + 1 + block_l[b, empty]) % horizon
            ring_orders[empty, when] += 1
        idx = np.flatnonzero(due)
        if idx.size == 0:
            continue
        lots = np.maximum(qty[idx], moq[idx])
        lots = -(-lots // pack[idx]) * pack[idx]
        arrival = t + 1 + block_l[b, idx]
        if not crossing:
            arrival = np.maximum(arrival, last_arrival[idx])
            last_arrival[idx] = arrival
        ring[idx, arrival % horizon] += lots
        ring_orders[idx, arrival % horizon] += 1
        on_order[idx] += lots
        if counted:
            counts["ord"][idx] += 1
    del rows

    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.where(counts["dem"] > 0, counts["srv"] / counts["dem"], np.nan)
        csl = np.where(counts["cyc"] > 0, counts["ok"] / counts["cyc"], np.nan)
    mean_on_hand = counts["oh"] / periods
    return SimulationResult(
        fill_rate=np.asarray(fill, dtype=np.float64),
        cycle_service_level=np.asarray(csl, dtype=np.float64),
        mean_on_hand=np.asarray(mean_on_hand, dtype=np.float64),
        holding_cost=np.asarray(holding * mean_on_hand, dtype=np.float64),
        ordering_cost=np.asarray(ordering * counts["ord"] / periods, dtype=np.float64),
        orders=counts["ord"],
        demand=counts["dem"],
        served=counts["srv"],
        periods=periods,
    )
