"""The CP-SAT scheduler on small adversarial problems; every schedule independently checked."""

from __future__ import annotations

import pytest

from shopfloor.errors import InputError, ModelError
from shopfloor.planning.checker import check_schedule
from shopfloor.planning.cpsat import CpSatScheduler, PlainCpSatScheduler
from shopfloor.planning.problem import (
    Alternative,
    Downtime,
    Job,
    Operation,
    Problem,
    weighted_tardiness_of,
)
from tests.planning.problems import random_problem

FAST = {"time_limit_s": 10.0, "workers": 1}
# Three jobs, three machines, optimum 11 (checked by hand and by the solver's proof).
ROUTES = [[(0, 3), (1, 2), (2, 2)], [(0, 2), (2, 1), (1, 4)], [(1, 4), (2, 3)]]


def _solve(problem: Problem, **params: object) -> CpSatScheduler:
    scheduler = CpSatScheduler(**{**FAST, **params})  # type: ignore[arg-type]
    schedule = scheduler.solve(problem)
    assert check_schedule(problem, schedule.assignments).feasible == schedule.feasible
    return scheduler


def test_textbook_instance_is_solved_to_optimality() -> None:
    schedule = _solve(Problem.job_shop(ROUTES, name="tiny")).schedule_
    assert schedule.status == "optimal" and schedule.feasible
    assert schedule.makespan == schedule.lower_bound == 11 and schedule.gap == 0.0
    assert schedule.instance == "tiny" and len(schedule.assignments) == 8
    frame = schedule.frame()
    assert list(frame.columns) == ["job", "op", "machine", "start", "end", "setup"]
    assert len(frame) == 8


def test_plain_model_agrees() -> None:
    problem = Problem.job_shop(ROUTES)
    plain = PlainCpSatScheduler(**FAST)  # type: ignore[arg-type]
    schedule = plain.solve(problem)
    assert schedule.status == "optimal" and schedule.makespan == 11 and schedule.feasible
    assert plain.get_params() == {"objective": "makespan", "mix_weight": 0.5, **FAST, "seed": 0}
    assert plain.warm_rule_ is None


def test_estimator_contract() -> None:
    scheduler = CpSatScheduler(time_limit_s=5.0, seed=3)
    assert not scheduler.is_fitted
    twin = scheduler.clone()
    assert twin.get_params() == scheduler.get_params()
    assert twin.get_params()["seed"] == 3
    _solve(Problem.job_shop(ROUTES), seed=3)
    solved = CpSatScheduler(**FAST)  # type: ignore[arg-type]
    solved.solve(Problem.job_shop(ROUTES))
    assert solved.is_fitted and solved.warm_rule_ in ("spt", "mwkr", "atc")


@pytest.mark.parametrize(
    "params",
    [{"objective": "profit"}, {"warm_start": "fifo"}, {"mix_weight": 2.0}, {"workers": 0}],
)
def test_bad_hyperparameters(params: dict[str, object]) -> None:
    with pytest.raises(ModelError):
        CpSatScheduler(**params).solve(Problem.job_shop(ROUTES))  # type: ignore[arg-type]


def test_zero_length_operations_and_one_machine() -> None:
    routes = [[(0, 0), (0, 3), (0, 0)], [(0, 2), (0, 0)], [(0, 0)]]
    schedule = _solve(Problem.job_shop(routes)).schedule_
    assert schedule.status == "optimal" and schedule.makespan == 5 and schedule.feasible


def test_all_zero_durations() -> None:
    schedule = _solve(Problem.job_shop([[(0, 0)], [(0, 0), (0, 0)]])).schedule_
    assert schedule.makespan == 0 and schedule.feasible and schedule.status == "optimal"


def test_downtime_is_never_used_and_spanning_needs_the_flag() -> None:
    down = (Downtime(0, 4, 6, "maintenance"),)
    strict = Problem((Job((Operation((Alternative(0, 5),)),)),), 1, down)
    schedule = _solve(strict).schedule_
    assert schedule.makespan == 11 and schedule.assignments[0].start == 6  # waits for the end
    span = Problem((Job((Operation((Alternative(0, 5),), may_span_break=True),)),), 1, down)
    schedule = _solve(span).schedule_
    assert schedule.feasible and schedule.makespan == 7  # 4 before, 2 paused, 1 after


def test_operation_longer_than_every_gap_is_a_clear_input_error() -> None:
    down = (Downtime(0, 5, 10), Downtime(0, 14, 20))
    jobs = (Job((Operation((Alternative(0, 6),)),)),)
    problem = Problem(jobs, 1, down, horizon=19, name="shifts")  # windows of 5, 4 and 5
    with pytest.raises(InputError, match=r"shifts: job 0 operation 0 \(duration 6\) fits in no"):
        CpSatScheduler(**FAST).solve(problem)  # type: ignore[arg-type]
    # With the flag it may span the breaks and the problem becomes solvable.
    span = Problem((Job((Operation((Alternative(0, 6),), may_span_break=True),)),), 1, down, 19)
    assert _solve(span).schedule_.feasible


def test_jointly_infeasible_horizon_reports_infeasible() -> None:
    # Each operation fits alone; both do not fit on the machine by the horizon.
    problem = Problem.job_shop([[(0, 4)], [(0, 4)]], horizon=7)
    schedule = _solve(problem).schedule_
    assert schedule.status == "infeasible" and not schedule.feasible
    assert schedule.assignments == () and schedule.makespan is None


def test_flexible_shop_uses_the_faster_machine() -> None:
    ops = (Operation((Alternative(0, 10), Alternative(1, 2))), Operation((Alternative(0, 1),)))
    problem = Problem((Job(ops), Job((Operation((Alternative(1, 2), Alternative(0, 3))),))), 2)
    schedule = _solve(problem).schedule_
    # Job 0 takes the fast machine 1; job 1 then waits either way: makespan 4, not 11.
    assert schedule.status == "optimal" and schedule.makespan == 4
    assert schedule.assignments[0].machine == 1


def test_weighted_tardiness_and_mix_objectives() -> None:
    routes = [[(0, 5)], [(0, 5)], [(0, 1)]]
    problem = Problem.job_shop(routes, dues=[10, 5, 1], weights=[1, 5, 1])
    schedule = _solve(problem, objective="weighted_tardiness").schedule_
    # Best orders: 2, 1, 0 or 1, 2, 0, both 6 (the heavy job 1 late by 1, or job 2 by 5).
    assert schedule.objective == schedule.lower_bound == 6.0
    assert weighted_tardiness_of(problem, schedule.assignments) == 6
    mixed = _solve(problem, objective="mix", mix_weight=0.5).schedule_
    assert mixed.status == "optimal" and mixed.objective == pytest.approx(0.5 * 11 + 0.5 * 6)
    no_dues = _solve(Problem.job_shop(routes), objective="weighted_tardiness").schedule_
    assert no_dues.objective == 0.0 and no_dues.feasible


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize(("warm_start", "hint"), [("best", True), ("best", False), ("none", False)])
def test_random_problems_solve_to_checked_schedules(seed: int, warm_start: str, hint: bool) -> None:
    problem = random_problem(seed, n_jobs=5, n_machines=2 + seed % 2)
    schedule = _solve(problem, warm_start=warm_start, hint=hint).schedule_
    assert schedule.status == "optimal", schedule
    assert schedule.feasible, schedule.violations


def test_same_seed_same_schedule() -> None:
    problem = random_problem(3, n_jobs=6, n_machines=3)
    first = _solve(problem, seed=7).schedule_
    second = _solve(problem, seed=7).schedule_
    assert first.assignments == second.assignments


def test_problem_validation() -> None:
    with pytest.raises(InputError, match="negative duration"):
        Problem.job_shop([[(0, -1)]])
    with pytest.raises(InputError, match="machine 3 is outside"):
        Problem.job_shop([[(3, 1)]], n_machines=2)
    with pytest.raises(InputError, match="empty or negative"):
        Problem.job_shop([[(0, 1)]], downtimes=[Downtime(0, 5, 5)])
    with pytest.raises(InputError, match="has no jobs"):
        Problem((), 1)


def test_deterministic_mode_repeats_the_same_schedule() -> None:
    # Big enough that 2 workers do not prove optimality at once (the portfolio's thread
    # timing would otherwise not matter).
    problem = random_problem(21, n_jobs=12, n_machines=5, max_ops=5)
    params = {"time_limit_s": 0.6, "workers": 2, "seed": 4, "deterministic": True}
    first = CpSatScheduler(**params).solve(problem)  # type: ignore[arg-type]
    second = CpSatScheduler(**params).solve(problem)  # type: ignore[arg-type]
    assert first.feasible and first.assignments == second.assignments


def test_busiest_machine_counts_positive_operations_per_machine() -> None:
    from shopfloor.planning.cpsat import busiest_machine

    problem = Problem.job_shop([[(0, 3), (1, 0)], [(0, 2), (1, 4)], [(0, 1)]])
    assert busiest_machine(problem) == 3  # machine 0; the zero-length op on 1 is no load
