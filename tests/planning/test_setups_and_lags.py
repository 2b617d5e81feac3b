"""Sequence-dependent setups and minimum lags, end to end: checker, dispatch, CP-SAT."""

from __future__ import annotations

import pytest

from shopfloor.planning.checker import check_schedule
from shopfloor.planning.cpsat import CpSatScheduler
from shopfloor.planning.dispatch import RULES, dispatch
from shopfloor.planning.problem import (
    Alternative,
    Assignment,
    Downtime,
    Job,
    Operation,
    Problem,
    Setup,
    makespan_of,
)
from tests.planning.problems import random_problem, with_setups_and_lags

FAST = {"time_limit_s": 10.0, "workers": 1}


def _one_machine(families: str, setup: int = 5, **kwargs: object) -> Problem:
    jobs = tuple(Job((Operation((Alternative(0, 1, setup),)),), family=f) for f in families)
    return Problem(jobs, 1, **kwargs)  # type: ignore[arg-type]


def test_solver_groups_families_to_save_changeovers() -> None:
    # A, B, A, B with 5 per change: grouping needs one change after the first setup.
    unknown = CpSatScheduler(**FAST).solve(_one_machine("ABAB"))  # type: ignore[arg-type]
    assert unknown.status == "optimal" and unknown.feasible
    assert unknown.makespan == 5 + 1 + 1 + 5 + 1 + 1
    known = CpSatScheduler(**FAST).solve(  # type: ignore[arg-type]
        _one_machine("ABAB", initial_family=((0, "A"),))
    )
    assert known.makespan == 1 + 1 + 5 + 1 + 1
    assert sum(a.setup for a in known.assignments) == 5


def test_setup_matrix_is_asymmetric_and_overrides_the_alternative() -> None:
    matrix = (Setup(0, "A", "B", 1), Setup(0, "B", "A", 20))
    problem = _one_machine("AB", setups=matrix, initial_family=((0, "B"),))
    schedule = CpSatScheduler(**FAST).solve(problem)  # type: ignore[arg-type]
    # B first (already set up), then B -> A costs 20; A first costs 20 then A -> B 1.
    assert schedule.makespan == 1 + 20 + 1
    assert schedule.feasible


def test_checker_demands_the_changeover_of_the_actual_predecessor() -> None:
    problem = _one_machine("AB", setup=4)
    good = [Assignment(0, 0, 0, 0, 5, 4), Assignment(1, 0, 0, 5, 10, 4)]
    assert check_schedule(problem, good).feasible
    short = [Assignment(0, 0, 0, 0, 5, 4), Assignment(1, 0, 0, 5, 8, 2)]
    assert check_schedule(problem, short).kinds() == {"setup"}
    same = _one_machine("AA", setup=4)
    assert check_schedule(same, [Assignment(0, 0, 0, 0, 5, 4), Assignment(1, 0, 0, 5, 6)]).feasible


def test_changeover_never_runs_in_a_downtime() -> None:
    problem = _one_machine("A", setup=3, downtimes=(Downtime(0, 2, 10),))
    schedule = CpSatScheduler(**FAST).solve(problem)  # type: ignore[arg-type]
    assert schedule.assignments[0].start == 10 and schedule.makespan == 14
    inside = [Assignment(0, 0, 0, 0, 12, 3)]
    assert (
        "downtime" in check_schedule(problem, inside).kinds()
        or not check_schedule(problem, inside).feasible
    )


def test_changeover_may_precede_the_part() -> None:
    # Job 0 feeds machine 1 at t=4; machine 1 sets up for 3 while machine 0 still works.
    jobs = (Job((Operation((Alternative(0, 4),)), Operation((Alternative(1, 2, 3),)))),)
    schedule = CpSatScheduler(**FAST).solve(Problem(jobs, 2))  # type: ignore[arg-type]
    second = schedule.assignments[1]
    assert (second.start, second.process_start, second.end) == (1, 4, 6)
    assert schedule.makespan == 6 and schedule.feasible


def test_minimum_lag_between_operations() -> None:
    jobs = (Job((Operation((Alternative(0, 2),), lag_after=7), Operation((Alternative(1, 1),)))),)
    problem = Problem(jobs, 2)
    schedule = CpSatScheduler(**FAST).solve(problem)  # type: ignore[arg-type]
    assert schedule.makespan == 2 + 7 + 1 and schedule.lower_bound == 10
    early = [Assignment(0, 0, 0, 0, 2), Assignment(0, 1, 1, 5, 6)]
    assert check_schedule(problem, early).kinds() == {"lag"}
    assert makespan_of(dispatch(problem, "spt")) == 10


@pytest.mark.parametrize("seed", range(12))
def test_random_problems_with_setups_and_lags(seed: int) -> None:
    problem = with_setups_and_lags(random_problem(seed, n_jobs=5, n_machines=2 + seed % 2), seed)
    for rule in RULES:
        result = check_schedule(problem, dispatch(problem, rule))
        assert result.feasible, (rule, result.violations)
    schedule = CpSatScheduler(**FAST).solve(problem)  # type: ignore[arg-type]
    assert schedule.status in ("optimal", "feasible"), schedule
    assert schedule.feasible, schedule.violations
    best_rule = min(makespan_of(dispatch(problem, rule)) for rule in RULES)
    assert schedule.makespan is not None and schedule.makespan <= best_rule


def test_problem_refuses_negative_setups_and_lags() -> None:
    from shopfloor.errors import InputError

    with pytest.raises(InputError, match="negative duration or setup"):
        Problem((Job((Operation((Alternative(0, 1, -1),)),)),), 1)
    with pytest.raises(InputError, match="negative lag"):
        Problem((Job((Operation((Alternative(0, 1),), lag_after=-2),)),), 1)
    with pytest.raises(InputError, match="unknown machine"):
        Problem((Job((Operation((Alternative(0, 1),)),)),), 1, setups=(Setup(3, "A", "B", 1),))
