"""Inventory policy design: hand-checkable cases, method agreement, lot sizes, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.supply.inventory import Distribution
from shopfloor.supply.policies import (
    Costs,
    Policy,
    ServiceTarget,
    design_policies,
    design_policy,
    reorder_quantity,
)

COSTS = Costs(order_cost=10.0, holding_cost=1.0)
FILL = ServiceTarget.fill_rate(0.95)
CSL = ServiceTarget.cycle_service_level(0.95)


def constant(value: int) -> Distribution:
    pmf = np.zeros(value + 1)
    pmf[value] = 1.0
    return Distribution(pmf)


def poisson(mean: float, top: int) -> Distribution:
    k = np.arange(top + 1)
    pmf = np.exp(-mean + k * math.log(mean) - np.array([math.lgamma(x + 1) for x in k]))
    return Distribution(pmf / pmf.sum())


def test_deterministic_demand_reorders_at_lead_time_demand() -> None:
    # One unit a period, two periods of lead time: s = L x d with no stock left over.
    for target in (FILL, CSL):
        for method in ("exact", "normal"):
            p = design_policy(
                constant(1), constant(2), target, COSTS, method=method, quantity="eoq"
            )
            assert (p.kind, p.reorder_point, p.order_quantity) == ("sQ", 2, 4)  # EOQ sqrt(20)
            assert p.expected_fill_rate == pytest.approx(1.0)
            assert p.safety_stock == pytest.approx(0.0)
    # (R, S) with d = 3, L = 1, R = 2: order up to (L + R) d.
    for method in ("exact", "normal"):
        p = design_policy(
            constant(3), constant(1), FILL, COSTS, kind="RS", review_period=2, method=method
        )
        assert (p.order_up_to, p.reorder_point) == (9, None)
        assert p.expected_fill_rate == pytest.approx(1.0)


def test_exact_fill_rate_by_hand() -> None:
    # D in {0, 1} half and half, L = 0: y uniform on s+1..s+Q meets D alone.  s = -1, Q = 2:
    # y = 0 serves nothing, y = 1 serves everything -> fill 0.5.
    coin = Distribution(np.array([0.5, 0.5]))
    p = design_policy(
        coin, constant(0), ServiceTarget.fill_rate(0.5), COSTS, order_quantity=2, quantity="eoq"
    )
    assert (p.reorder_point, p.order_quantity) == (-1, 2)
    assert p.expected_fill_rate == pytest.approx(0.5)
    assert p.expected_on_hand == pytest.approx(0.5 * 0.5)  # y = 1 and no demand
    assert p.orders_per_period == pytest.approx(0.25)  # E[min(D, 2)] / 2


def test_fill_rate_needs_less_than_cycle_service_level_with_large_lots() -> None:
    demand = poisson(2.0, 30)
    lead = Distribution(np.array([0.0, 0.5, 0.3, 0.2]))
    fill = design_policy(demand, lead, FILL, COSTS, order_quantity=30)
    csl = design_policy(demand, lead, CSL, COSTS, order_quantity=30)
    assert fill.reorder_point is not None and csl.reorder_point is not None
    assert fill.reorder_point < csl.reorder_point
    assert fill.expected_fill_rate >= 0.95 and csl.expected_cycle_service_level >= 0.95
    assert fill.expected_on_hand < csl.expected_on_hand


def test_exact_lands_near_the_target_on_a_slow_mover() -> None:
    # A unit every 20 periods: s = 0 or 1 with the EOQ alone jumps past 95 %; the lot-size
    # search lands close to it.
    slow = Distribution(np.array([0.95, 0.05]))
    lead = Distribution(np.array([0.0, 0.5, 0.3, 0.2]))
    eoq = design_policy(slow, lead, FILL, COSTS, quantity="eoq")
    best = design_policy(slow, lead, FILL, COSTS)
    assert 0.95 <= best.expected_fill_rate <= 0.97
    assert best.expected_cost(COSTS) <= eoq.expected_cost(COSTS) + 1e-12
    normal = design_policy(slow, lead, FILL, COSTS, method="normal")
    assert normal.method == "normal" and normal.expected_fill_rate > 0.99  # overshoots


def test_normal_and_exact_agree_on_smooth_poisson_demand() -> None:
    demand = poisson(20.0, 80)
    lead = constant(2)
    for target in (FILL, CSL):
        exact = design_policy(demand, lead, target, COSTS, kind="RS", review_period=1)
        normal = design_policy(demand, lead, target, COSTS, kind="RS", method="normal")
        assert exact.order_up_to is not None and normal.order_up_to is not None
        assert abs(exact.order_up_to - normal.order_up_to) <= 2
        assert normal.expected_fill_rate == pytest.approx(exact.expected_fill_rate, abs=0.01)


def test_s_s_equals_s_q_for_unit_demand() -> None:
    # With demands of at most one unit, (s, S) never undershoots: same as (s, Q = S - s).
    demand = Distribution(np.array([0.7, 0.3]))
    lead = Distribution(np.array([0.0, 0.5, 0.5]))
    sq = design_policy(demand, lead, FILL, COSTS, order_quantity=4)
    ss = design_policy(demand, lead, FILL, COSTS, kind="sS", order_quantity=4)
    assert ss.reorder_point == sq.reorder_point and ss.order_up_to == sq.reorder_point + 4  # type: ignore[operator]
    assert ss.expected_fill_rate == pytest.approx(sq.expected_fill_rate)
    assert ss.expected_on_hand == pytest.approx(sq.expected_on_hand)


def test_moq_and_pack_size_round_the_lot() -> None:
    demand = poisson(2.0, 30)
    p = design_policy(demand, constant(1), FILL, COSTS, moq=10, pack_size=6, quantity="eoq")
    assert p.order_quantity == 12  # EOQ ~6 -> MOQ 10 -> two packs of 6
    searched = design_policy(demand, constant(1), FILL, COSTS, moq=10, pack_size=6)
    assert searched.order_quantity is not None and searched.order_quantity % 6 == 0
    assert searched.order_quantity >= 10


def test_reorder_quantity_at_below_above_s() -> None:
    sq = Policy("sQ", 1, 5, 10, None, 0.0, 0.95, 0.9, 1.0, 0.1, "exact")
    assert reorder_quantity(sq, 6) == 0
    assert reorder_quantity(sq, 5) == 10
    assert reorder_quantity(sq, -7) == 20  # two lots to lift 12 short above s
    ss = Policy("sS", 1, 5, None, 20, 0.0, 0.95, 0.9, 1.0, 0.1, "exact", moq=0, pack_size=4)
    assert reorder_quantity(ss, 6) == 0
    assert reorder_quantity(ss, 5) == 16  # 15 rounded up to packs of 4
    rs = Policy("RS", 4, None, None, 20, 0.0, 0.95, 0.9, 1.0, 0.1, "exact", moq=10)
    assert reorder_quantity(rs, 20) == 0
    assert reorder_quantity(rs, 17) == 10  # 3 raised to the MOQ
    assert reorder_quantity(rs, 5) == 15


def test_batch_design_matches_single_and_is_fast() -> None:
    rng = np.random.default_rng(3)
    demands = [Distribution(rng.dirichlet(np.ones(6))) for _ in range(50)]
    lead = Distribution(np.array([0.0, 0.5, 0.3, 0.2]))
    batch = design_policies(demands, lead, FILL, COSTS)
    assert batch[7] == design_policy(demands[7], lead, FILL, COSTS)
    fixed = design_policies(demands, [lead] * 50, FILL, [COSTS] * 50, order_quantities=[3] * 50)
    assert {p.order_quantity for p in fixed} == {3}


def test_bad_inputs_name_the_field() -> None:
    demand = Distribution(np.array([0.5, 0.5]))
    lead = constant(1)
    cases = [
        (lambda: ServiceTarget.fill_rate(1.0), "level"),
        (lambda: ServiceTarget("other", 0.9), "target"),  # type: ignore[arg-type]
        (lambda: Costs(10.0, 0.0), "holding_cost"),
        (lambda: Costs(-1.0, 1.0), "order_cost"),
        (lambda: design_policy(demand, lead, FILL, COSTS, kind="xx"), "kind"),  # type: ignore[arg-type]
        (lambda: design_policy(demand, lead, FILL, COSTS, method="x"), "method"),  # type: ignore[arg-type]
        (lambda: design_policy(demand, lead, FILL, COSTS, review_period=2), "review_period"),
        (lambda: design_policy(demand, lead, FILL, COSTS, pack_size=0), "lot_size"),
        (lambda: design_policy(demand, lead, FILL, COSTS, order_quantity=0), "order_quantity"),
        (lambda: design_policy(constant(0), lead, FILL, COSTS), "demand"),
        (lambda: design_policy(Distribution(np.array([0.5, 0.6])), lead, FILL, COSTS), "demand"),
        (
            lambda: design_policy(demand, Distribution(np.array([-0.1, 1.1])), FILL, COSTS),
            "lead_time",
        ),
        (lambda: design_policies([demand], [lead, lead], FILL, COSTS), "lead_times"),
        (lambda: design_policies([demand], lead, FILL, [COSTS, COSTS]), "costs"),
    ]
    for call, field in cases:
        with pytest.raises(InputError) as err:
            call()
        assert err.value.field == field
