"""Dispatch rules: always feasible (checked independently), deterministic, calendar-aware."""

from __future__ import annotations

import pytest

from shopfloor.planning.checker import check_schedule
from shopfloor.planning.dispatch import RULES, best_dispatch, dispatch, earliest_fit
from shopfloor.planning.problem import Alternative, Downtime, Job, Operation, Problem, makespan_of
from tests.planning.problems import random_problem


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("seed", range(25))
def test_rules_are_always_feasible(rule: str, seed: int) -> None:
    problem = random_problem(seed, n_jobs=6, n_machines=1 + seed % 4)
    assignments = dispatch(problem, rule)  # type: ignore[arg-type]
    result = check_schedule(problem, assignments)
    assert result.feasible, result.violations
    assert dispatch(problem, rule) == assignments  # type: ignore[arg-type]


def test_earliest_fit_respects_breaks() -> None:
    breaks = ((5, 8), (10, 12))
    assert earliest_fit(0, 5, breaks, False) == (0, 5)
    assert earliest_fit(1, 5, breaks, False) == (12, 17)  # neither [1, 5) nor [8, 10) fit
    assert earliest_fit(1, 5, breaks, True) == (1, 9)  # 4 before, pause 3, 1 after
    assert earliest_fit(6, 2, breaks, True) == (8, 10)
    assert earliest_fit(6, 0, breaks, False) == (6, 6)


def test_rules_differ_and_best_picks_the_lowest_cost() -> None:
    routes = [[(0, 1), (1, 9)], [(0, 9), (1, 1)], [(0, 2), (1, 2)]]
    problem = Problem.job_shop(routes, dues=[5, 30, 4], weights=[3, 1, 2])
    spans = {rule: makespan_of(dispatch(problem, rule)) for rule in RULES}
    rule, best = best_dispatch(problem, lambda a: float(makespan_of(a)))
    assert makespan_of(best) == min(spans.values()) and spans[rule] == min(spans.values())


def test_flexible_operation_takes_the_machine_that_completes_first() -> None:
    op = Operation((Alternative(0, 10), Alternative(1, 3)))
    problem = Problem((Job((op,)),), 2)
    assert dispatch(problem, "spt")[0].machine == 1


def test_unknown_rule() -> None:
    with pytest.raises(ValueError, match="unknown dispatch rule"):
        dispatch(Problem.job_shop([[(0, 1)]]), "fifo")  # type: ignore[arg-type]


def test_dispatch_waits_for_the_release_and_the_break() -> None:
    problem = Problem(
        (Job((Operation((Alternative(0, 4),)),), release=3),), 1, (Downtime(0, 5, 9),)
    )
    assert dispatch(problem, "atc")[0].start == 9
