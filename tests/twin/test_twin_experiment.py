import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.twin.experiment import Scenario, apply, compare, mean_interval, run_scenarios
from shopfloor.twin.policies import Costs, Policy
from tests.twin.plants import plant

COSTS = Costs(failure=10000, planned=2000, off_shift_premium=0.5, lost_part=20, tardiness_per_h=50)


def test_interval_of_a_constant_difference_is_a_point() -> None:
    iv = mean_interval(np.full(10, 3.0))
    assert iv.mean == iv.low == iv.high == 3.0 and iv.excludes_zero
    assert not mean_interval(np.array([-1.0, 1.0, -1.0, 1.0])).excludes_zero


def test_scenarios_share_seeds_and_more_capacity_makes_more() -> None:
    p = plant(days=7)
    base = Scenario("as_is", Policy("run_to_failure"))
    shift = Scenario("longer shift", Policy("run_to_failure"), extra_shift_hours=4.0)
    res = run_scenarios(p, [base, base, shift], COSTS, replications=4)
    assert np.array_equal(res[0].metrics["good"], res[1].metrics["good"])  # same seeds
    cmp = compare(res[2], res[0])
    assert cmp.difference["good"].low > 0 and cmp.relative["good"] > 0.1


def test_apply_scales_the_plant() -> None:
    p = plant()
    q = apply(
        p,
        Scenario("x", Policy("run_to_failure"), buffer_factor=2, demand_factor=0.5, speed_factor=2),
    )
    assert q.lines[0].buffer_parts[0] == 2 * p.lines[0].buffer_parts[0]
    assert q.lines[0].orders[0].quantity == 0.5 * p.lines[0].orders[0].quantity
    assert q.lines[0].machines[0].cycle_s == 0.5 * p.lines[0].machines[0].cycle_s
    with pytest.raises(InputError):
        apply(p, Scenario("bad", Policy("run_to_failure"), demand_factor=0))
