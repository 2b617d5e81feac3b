"""Rescheduling after a breakdown or a rush order: started work kept, little else moved."""

from __future__ import annotations

import random

import pytest

from shopfloor.errors import InputError
from shopfloor.planning.checker import check_schedule
from shopfloor.planning.cpsat import CpSatScheduler
from shopfloor.planning.problem import Alternative, Assignment, Job, Operation, Problem
from shopfloor.planning.reschedule import MachineDown, RushOrder, compare, reschedule

FAST = {"time_limit_s": 10.0, "workers": 1}


def _job_shop(seed: int, jobs: int = 10, machines: int = 5) -> Problem:
    rng = random.Random(seed)
    routes = [
        [(m, rng.randint(2, 12)) for m in rng.sample(range(machines), machines)]
        for _ in range(jobs)
    ]
    return Problem.job_shop(routes, name=f"shop{seed}")


def _planned(problem: Problem) -> tuple[Assignment, ...]:
    schedule = CpSatScheduler(**FAST).solve(problem)  # type: ignore[arg-type]
    assert schedule.feasible
    return schedule.assignments


@pytest.mark.parametrize("seed", range(4))
def test_breakdown_keeps_started_work_and_most_of_the_plan(seed: int) -> None:
    problem = _job_shop(seed)
    previous = _planned(problem)
    makespan = max(a.end for a in previous)
    now = makespan // 4
    down = MachineDown(machine=seed % 5, start=now, duration=makespan // 6)
    result = reschedule(problem, previous, now=now, disruptions=[down], **FAST)  # type: ignore[arg-type]
    schedule = result.schedule
    check = check_schedule(result.problem, schedule.assignments)
    assert schedule.feasible and check.feasible, check.violations
    new = {(a.job, a.op): a for a in schedule.assignments}
    started = [a for a in previous if a.start < now]
    interrupted = [a for a in started if a.machine == down.machine and a.end > now]
    kept = [a for a in started if a not in interrupted]
    assert result.frozen >= len(kept) - len(interrupted) * 5
    for a in previous:
        b = new[(a.job, a.op)]
        if a.start < now and a.machine != down.machine:
            assert b == a  # what has started stays exactly as it ran
        if a.start >= now:
            assert b.start >= now  # nothing is placed in the past
    for a in interrupted:
        assert new[(a.job, a.op)].start >= down.start + down.duration  # redone after repair
    # The acceptance figure: >= 90 % of unaffected operations keep machine and order.
    assert result.kept_share >= 0.9, result.moves
    assert all(m.change != "new" for m in result.moves)


def test_rush_order_is_fitted_in_and_reported_as_new() -> None:
    problem = _job_shop(7, jobs=6, machines=4)
    previous = _planned(problem)
    rush = Job(
        tuple(Operation((Alternative(m, 3),)) for m in range(4)), due=20, weight=10, name="rush"
    )
    result = reschedule(
        problem,
        previous,
        now=5,
        disruptions=[RushOrder(rush)],
        objective="mix",
        **FAST,  # type: ignore[arg-type]
    )
    assert result.schedule.feasible
    new_ops = [m for m in result.moves if m.change == "new"]
    assert len(new_ops) == 4 and all(m.job == 6 for m in new_ops)
    assert min(m.new_start for m in new_ops) >= 5
    assert len(result.problem.jobs) == 7


def test_stability_weight_trades_objective_for_fewer_moves() -> None:
    problem = _job_shop(3, jobs=8, machines=4)
    previous = _planned(problem)
    down = [MachineDown(machine=2, start=10, duration=25)]
    loose = reschedule(problem, previous, now=10, disruptions=down, stability_weight=0, **FAST)  # type: ignore[arg-type]
    tight = reschedule(problem, previous, now=10, disruptions=down, stability_weight=5, **FAST)  # type: ignore[arg-type]
    assert loose.schedule.feasible and tight.schedule.feasible
    assert loose.schedule.makespan is not None and tight.schedule.makespan is not None
    assert loose.schedule.makespan <= tight.schedule.makespan
    structural = {
        name: sum(m.change in ("machine", "sequence") for m in r.moves)
        for name, r in (("loose", loose), ("tight", tight))
    }
    assert structural["tight"] <= structural["loose"]
    assert tight.kept_share >= loose.kept_share


def test_compare_names_machine_sequence_and_time_changes() -> None:
    before = [Assignment(0, 0, 0, 0, 2), Assignment(1, 0, 0, 2, 4), Assignment(2, 0, 1, 0, 3)]
    after = [Assignment(1, 0, 0, 0, 2), Assignment(0, 0, 0, 2, 4), Assignment(2, 0, 0, 4, 7)]
    changes = {(m.job, m.change) for m in compare(before, after)}
    # One of jobs 0 / 1 left the common order; job 2 changed machine.
    assert (2, "machine") in changes
    assert len({j for j, c in changes if c == "sequence"}) == 1
    shifted = [Assignment(0, 0, 0, 1, 3)]
    assert [m.change for m in compare(before[:1], shifted)] == ["time"]
    assert compare(before, before) == ()


def test_bad_input_is_refused() -> None:
    problem = _job_shop(1, jobs=3, machines=2)
    previous = _planned(problem)
    with pytest.raises(InputError, match="machine 9"):
        reschedule(problem, previous, now=0, disruptions=[MachineDown(9, 0, 5)], **FAST)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="positive duration"):
        reschedule(problem, previous, now=0, disruptions=[MachineDown(0, 0, 0)], **FAST)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="lacks"):
        reschedule(problem, [*previous, Assignment(5, 0, 0, 0, 1)], now=0, disruptions=[])


@pytest.mark.parametrize("seed", range(6))
def test_repair_with_setups_lags_calendars_and_flexible_machines(seed: int) -> None:
    from tests.planning.problems import random_problem, with_setups_and_lags

    problem = with_setups_and_lags(random_problem(seed, n_jobs=6, n_machines=3), seed)
    previous = _planned(problem)
    now = max(a.end for a in previous) // 3
    down = MachineDown(machine=seed % 3, start=now, duration=7)
    result = reschedule(problem, previous, now=now, disruptions=[down], **FAST)  # type: ignore[arg-type]
    check = check_schedule(result.problem, result.schedule.assignments)
    assert result.schedule.feasible and check.feasible, check.violations
    assert all(
        a.start >= now or b.start < now
        for a in result.schedule.assignments
        for b in previous
        if (a.job, a.op) == (b.job, b.op)
    )
