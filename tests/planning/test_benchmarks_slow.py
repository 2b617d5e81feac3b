"""Issue 4 acceptance: ft06 = 55 and ft10 = 930 proven optimal within 60 s on 2 workers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shopfloor.planning.cpsat import CpSatScheduler
from shopfloor.planning.instances import read_instance
from tests.conftest import SHARED_DATASETS

INSTANCES = SHARED_DATASETS / "jobshop" / "instances"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "optimum"), [("ft06", 55), ("ft10", 930)])
def test_fisher_thompson_proven_optimal(name: str, optimum: int) -> None:
    problem = read_instance(INSTANCES / name)
    schedule = CpSatScheduler(time_limit_s=60.0, workers=2, seed=0).solve(problem)
    assert schedule.status == "optimal", schedule.status
    assert schedule.makespan == schedule.lower_bound == optimum
    assert schedule.feasible and schedule.seconds < 60.0


def test_import_planning_does_not_import_ortools() -> None:
    code = "import sys, shopfloor.planning; print('ortools' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
