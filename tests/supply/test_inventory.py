"""Lead-time demand, reorder points and lot sizes against hand computations and simulation."""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.supply.inventory import (
    Distribution,
    economic_order_quantity,
    empirical,
    lead_time_demand,
    lot_size,
    normal_reorder_point,
    reorder_point_csl,
    reorder_point_fill_rate,
)


def test_empirical_pmf_and_moments() -> None:
    d = empirical([0, 0, 1, 3, np.nan])
    np.testing.assert_allclose(d.pmf, [0.5, 0.25, 0.0, 0.25])
    assert d.mean == pytest.approx(1.0) and d.variance == pytest.approx(0.25 + 2.25 - 1.0)
    with pytest.raises(InputError, match="integers"):
        empirical([0.5])
    with pytest.raises(InputError, match="no observed"):
        empirical([np.nan])


def test_compound_sum_by_hand() -> None:
    demand = Distribution(np.array([0.5, 0.5]))  # 0 or 1 per period
    lead = Distribution(np.array([0.0, 0.5, 0.5]))  # 1 or 2 periods
    ltd = lead_time_demand(demand, lead)
    # L=1: {0: .5, 1: .5}; L=2: {0: .25, 1: .5, 2: .25}; mixed half and half.
    np.testing.assert_allclose(ltd.pmf, [0.375, 0.5, 0.125])
    assert ltd.mean == pytest.approx(1.5 * 0.5)


def test_compound_sum_matches_simulation() -> None:
    rng = np.random.default_rng(0)
    demand = empirical(rng.choice([0, 0, 0, 1, 2, 5], size=5000))
    lead = Distribution(np.array([0.0, 0.0, 0.3, 0.5, 0.2]))
    ltd = lead_time_demand(demand, lead)
    draws = [
        rng.choice(demand.pmf.size, size=rng.choice(5, p=lead.pmf), p=demand.pmf).sum()
        for _ in range(20000)
    ]
    assert ltd.mean == pytest.approx(np.mean(draws), rel=0.03)
    s = reorder_point_csl(ltd, 0.95)
    assert np.mean(np.asarray(draws) <= s) >= 0.94


def test_reorder_points() -> None:
    ltd = Distribution(np.array([0.375, 0.5, 0.125]))
    assert reorder_point_csl(ltd, 0.3) == 0
    assert reorder_point_csl(ltd, 0.875) == 1 and reorder_point_csl(ltd, 0.9) == 2
    # E[(X - s)+]: s=0 -> 0.75, s=1 -> 0.125, s=2 -> 0.
    np.testing.assert_allclose(ltd.expected_shortage(), [0.75, 0.125, 0.0])
    assert reorder_point_fill_rate(ltd, 0.95, order_quantity=3) == 1  # allows 0.15
    assert reorder_point_fill_rate(ltd, 0.99, order_quantity=3) == 2
    with pytest.raises(InputError, match="not in"):
        reorder_point_csl(ltd, 1.0)


def test_normal_reorder_point_and_lot_sizes() -> None:
    # mean 4 x 10; variance 4 x 9 + 100 x 1 = 136.
    s = normal_reorder_point(10, 3, 4, 1, 0.5)
    assert s == pytest.approx(40.0)
    assert normal_reorder_point(10, 3, 4, 1, 0.95) == pytest.approx(40 + 1.6448536 * 136**0.5)
    assert economic_order_quantity(1200, 50, 3) == pytest.approx(200.0)
    assert lot_size(37.2, moq=10, pack_size=12) == 48
    assert lot_size(3, moq=10, pack_size=4) == 12
    assert lot_size(0) == 0 and lot_size(24, pack_size=12) == 24
    with pytest.raises(InputError):
        lot_size(5, pack_size=0)
