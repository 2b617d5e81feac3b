"""Inventory simulation: seeding, limits, replay by hand, and agreement with the exact design."""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.supply.inventory import Distribution
from shopfloor.supply.policies import Costs, Policy, ServiceTarget, design_policies
from shopfloor.supply.simulation import simulate

COSTS = Costs(order_cost=10.0, holding_cost=1.0)
LEAD = Distribution(np.array([0.0, 0.5, 0.3, 0.2]))
DEMANDS = [
    Distribution(np.array([0.85, 0.15])),
    Distribution(np.array([0.6, 0.2, 0.1, 0.0, 0.1])),
    Distribution(np.array([0.1, 0.2, 0.3, 0.2, 0.1, 0.1])),
]


def sq(s: int, q: int) -> Policy:
    return Policy("sQ", 1, s, q, None, 0.0, 0.0, 0.0, 0.0, 0.0, "exact")


def test_reproducible_with_the_seed() -> None:
    policies = [sq(1, 3), sq(2, 4), sq(5, 6)]
    a = simulate(policies, DEMANDS, LEAD, COSTS, periods=2000, seed=7)
    b = simulate(policies, DEMANDS, LEAD, COSTS, periods=2000, seed=7)
    c = simulate(policies, DEMANDS, LEAD, COSTS, periods=2000, seed=8)
    np.testing.assert_array_equal(a.fill_rate, b.fill_rate)
    np.testing.assert_array_equal(a.holding_cost, b.holding_cost)
    assert not np.array_equal(a.demand, c.demand)
    # Common random numbers: another policy sees the very same demands.
    other = simulate([sq(9, 9)] * 3, DEMANDS, LEAD, COSTS, periods=2000, seed=7)
    np.testing.assert_array_equal(other.demand, a.demand)


def test_limits_of_the_fill_rate() -> None:
    huge = simulate([sq(1000, 10)] * 3, DEMANDS, LEAD, COSTS, periods=1000)
    np.testing.assert_array_equal(huge.fill_rate, 1.0)
    np.testing.assert_array_equal(huge.cycle_service_level, 1.0)
    # s = -1, Q = 1, no stock: every unit is backordered and refilled to zero.
    none = simulate([sq(-1, 1)] * 3, DEMANDS, LEAD, COSTS, periods=1000)
    np.testing.assert_array_equal(none.fill_rate, 0.0)
    np.testing.assert_array_equal(none.mean_on_hand, 0.0)


def test_replay_by_hand() -> None:
    # s = 0, Q = 2, lead time 0 (in stock for the next period), start with 2 on hand.
    history = np.array([[1, 0, 2, 0]])
    r = simulate([sq(0, 2)], history, Distribution(np.array([1.0])), COSTS, warmup=0)
    # t0: serve 1 (1 left); t1: nothing; t2: serve 1 of 2, net -1, order 2;
    # t3: the 2 arrive (finding a backorder: cycle with stockout), net 1.
    assert (int(r.demand[0]), int(r.served[0]), int(r.orders[0])) == (3, 2, 1)
    assert r.fill_rate[0] == pytest.approx(2 / 3)
    assert r.mean_on_hand[0] == pytest.approx((1 + 1 + 0 + 1) / 4)
    assert r.cycle_service_level[0] == 0.0
    assert r.ordering_cost[0] == pytest.approx(10.0 / 4)
    # The replay uses exactly the given demand, after the warm-up.
    rows = np.random.default_rng(0).integers(0, 4, size=(3, 300))
    replay = simulate([sq(3, 5)] * 3, rows, LEAD, COSTS, warmup=50)
    np.testing.assert_array_equal(replay.demand, rows[:, 50:].sum(axis=1))
    assert replay.periods == 250


def test_simulation_confirms_the_exact_design() -> None:
    target = ServiceTarget.fill_rate(0.95)
    for kind, review in (("sQ", 1), ("sS", 1), ("RS", 2)):
        policies = design_policies(DEMANDS, LEAD, target, COSTS, kind=kind, review_period=review)  # type: ignore[arg-type]
        r = simulate(policies, DEMANDS, LEAD, COSTS, periods=6_000, seed=1)
        expected = np.array([p.expected_fill_rate for p in policies])
        np.testing.assert_allclose(r.fill_rate, expected, atol=0.02)
        on_hand = np.array([p.expected_on_hand for p in policies])
        np.testing.assert_allclose(r.mean_on_hand, on_hand, rtol=0.06)
        orders = np.array([p.orders_per_period for p in policies])
        np.testing.assert_allclose(r.orders / r.periods, orders, rtol=0.1)


def test_crossing_changes_nothing_with_a_fixed_lead_time() -> None:
    fixed = Distribution(np.array([0.0, 0.0, 1.0]))
    a = simulate([sq(2, 1)] * 3, DEMANDS, fixed, COSTS, periods=500, crossing=False)
    b = simulate([sq(2, 1)] * 3, DEMANDS, fixed, COSTS, periods=500, crossing=True)
    np.testing.assert_array_equal(a.fill_rate, b.fill_rate)
    with_crossing = simulate([sq(2, 1)] * 3, DEMANDS, LEAD, COSTS, periods=500, crossing=True)
    assert np.isfinite(with_crossing.fill_rate).all()


def test_bad_inputs_name_the_field() -> None:
    one = [sq(1, 1)]
    cases = [
        (lambda: simulate([], DEMANDS, LEAD, COSTS, periods=10), "policies"),
        (lambda: simulate(one, DEMANDS[:1], LEAD, COSTS, periods=0), "periods"),
        (lambda: simulate(one, DEMANDS[:1], LEAD, COSTS, periods=5, warmup=-1), "warmup"),
        (lambda: simulate(one, DEMANDS, LEAD, COSTS, periods=5), "demand"),
        (lambda: simulate(one, np.array([[1, -1]]), LEAD, COSTS, warmup=0), "demand"),
        (lambda: simulate(one, np.array([1, 2]), LEAD, COSTS, warmup=0), "demand"),
        (lambda: simulate(one, np.array([[1, 2]]), LEAD, COSTS, periods=5, warmup=0), "periods"),
        (lambda: simulate(one, DEMANDS[:1], [LEAD, LEAD], COSTS, periods=5), "lead_times"),
        (lambda: simulate(one, DEMANDS[:1], LEAD, [COSTS, COSTS], periods=5), "costs"),
    ]
    for call, field in cases:
        with pytest.raises(InputError) as err:
            call()
        assert err.value.field == field
