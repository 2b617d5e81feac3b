from dataclasses import replace

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.twin.energy import PriceGrid
from shopfloor.twin.model import simulate
from shopfloor.twin.policies import Costs, Policy
from tests.twin.plants import plant

COSTS = Costs(failure=10000, planned=2000, off_shift_premium=0.5, lost_part=20, tardiness_per_h=50)


def test_price_integral_is_exact_for_steps() -> None:
    grid = PriceGrid(np.array([0.1, 0.3]), step_s=900.0)
    assert grid.integral(0, 1800) == pytest.approx(900 * 0.4)
    assert grid.integral(450, 1350) == pytest.approx(450 * 0.1 + 450 * 0.3)
    assert grid.cost(10.0, 0, 1800) == pytest.approx(10 * 0.5 * 0.2)  # 10 kW, 0.5 h, mean 0.2
    assert grid.is_peak(1000) and not grid.is_peak(10)
    with pytest.raises(InputError):
        PriceGrid(np.array([np.nan]))


def _priced(days: float = 7.0):
    p = plant(days=days)
    # peak 08:00-19:00 every day at 0.3, else 0.1 per kWh
    hours = (np.arange(int((days + 3) * 96)) * 900 // 3600) % 24
    prices = np.where((hours >= 8) & (hours < 19), 0.3, 0.1)
    power = {m.asset: (30.0, 6.0) for m in p.machines}
    return replace(p, power=power, prices=PriceGrid(prices))


def test_energy_is_priced_and_standby_saves_without_touching_the_flow() -> None:
    p = _priced()
    base = simulate(p, Policy("run_to_failure"), COSTS, 2)
    tou = simulate(p, Policy("run_to_failure"), COSTS, 2, tou_aware=True)
    b, t = base.cost(COSTS), tou.cost(COSTS)
    # running energy alone: 30 kW x running hours, at least the cheapest price
    run_h = sum(m.run_s for m in base.machines) / 3600
    assert b["energy_kwh"] >= 30 * run_h and b["energy_cost"] >= 0.1 * 30 * run_h
    assert t["good"] == b["good"] and t["tardiness_h"] == b["tardiness_h"]
    assert t["energy_cost"] < b["energy_cost"]
    assert sum(m.paused_s for m in tou.machines) > 0


def test_standby_needs_a_tariff() -> None:
    with pytest.raises(InputError):
        simulate(plant(), Policy("run_to_failure"), COSTS, 0, tou_aware=True)
