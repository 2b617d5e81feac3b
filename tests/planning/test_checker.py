"""The independent checker catches every kind of violation, one planted at a time."""

from __future__ import annotations

import dataclasses

import pytest

from shopfloor.planning.checker import check_schedule
from shopfloor.planning.problem import (
    Alternative,
    Assignment,
    Downtime,
    Job,
    Operation,
    Problem,
)


def _problem(**kwargs: object) -> Problem:
    # Job 0: op0 on machine 0 or 1 (3 / 5), op1 on machine 1 (2); job 1: op0 on machine 0 (4).
    jobs = (
        Job(
            (
                Operation((Alternative(0, 3), Alternative(1, 5))),
                Operation((Alternative(1, 2),)),
            ),
            release=1,
        ),
        Job((Operation((Alternative(0, 4),)),)),
    )
    return Problem(jobs, 2, **kwargs)  # type: ignore[arg-type]


GOOD = (
    Assignment(0, 0, 0, 4, 7),
    Assignment(0, 1, 1, 7, 9),
    Assignment(1, 0, 0, 0, 4),
)


def _replace(index: int, **changes: int) -> list[Assignment]:
    out = list(GOOD)
    out[index] = dataclasses.replace(out[index], **changes)
    return out


def test_good_schedule_is_feasible() -> None:
    result = check_schedule(_problem(), GOOD)
    assert result.feasible and result.violations == ()


@pytest.mark.parametrize(
    ("assignments", "kind"),
    [
        (list(GOOD[1:]), "missing"),
        ([*GOOD, GOOD[0]], "duplicate"),
        ([*GOOD, Assignment(1, 5, 0, 20, 21)], "unknown"),
        (_replace(1, machine=0), "ineligible"),
        (_replace(0, end=6), "duration"),
        (_replace(1, start=6, end=8), "precedence"),
        (
            [Assignment(0, 0, 0, 0, 3), Assignment(0, 1, 1, 3, 5), Assignment(1, 0, 0, 3, 7)],
            "release",
        ),
        (_replace(2, start=1, end=5), "overlap"),
    ],
)
def test_each_violation_is_caught(assignments: list[Assignment], kind: str) -> None:
    result = check_schedule(_problem(), assignments)
    assert not result.feasible
    assert kind in result.kinds()


def test_release_violation_alone() -> None:
    early = [Assignment(0, 0, 1, 0, 5), Assignment(0, 1, 1, 5, 7), Assignment(1, 0, 0, 0, 4)]
    assert check_schedule(_problem(), early).kinds() == {"release"}


def test_downtime_spanning_and_horizon() -> None:
    problem = _problem(downtimes=(Downtime(0, 5, 6),), horizon=8)
    result = check_schedule(problem, GOOD)  # job 0 op 0 on [4, 7) spans [5, 6)
    assert result.kinds() == {"spans_break", "horizon"}
    inside = _problem(downtimes=(Downtime(0, 0, 2),))
    assert "downtime" in check_schedule(inside, GOOD).kinds()  # job 1 runs on [0, 4)


def test_spanning_allowed_only_with_the_flag_and_the_elapsed_time() -> None:
    jobs = (Job((Operation((Alternative(0, 4),), may_span_break=True),)),)
    problem = Problem(jobs, 1, (Downtime(0, 2, 5),))
    # Starts at 0, pauses on [2, 5), resumes: ends at 4 + 3 = 7.
    assert check_schedule(problem, [Assignment(0, 0, 0, 0, 7)]).feasible
    assert "duration" in check_schedule(problem, [Assignment(0, 0, 0, 0, 4)]).kinds()
    # Starting inside the downtime is processing inside it, flag or not.
    assert "downtime" in check_schedule(problem, [Assignment(0, 0, 0, 3, 10)]).kinds()


def test_zero_length_operations_take_no_machine_time() -> None:
    jobs = (
        Job((Operation((Alternative(0, 5),)),)),
        Job((Operation((Alternative(0, 0),)),)),
    )
    problem = Problem(jobs, 1, (Downtime(0, 6, 9),))
    # A zero-length operation inside another operation and inside a downtime is fine.
    assert check_schedule(problem, [Assignment(0, 0, 0, 0, 5), Assignment(1, 0, 0, 2, 2)]).feasible
    assert check_schedule(problem, [Assignment(0, 0, 0, 0, 5), Assignment(1, 0, 0, 7, 7)]).feasible


def test_overlapping_downtimes_are_merged_by_the_checker() -> None:
    jobs = (Job((Operation((Alternative(0, 2),), may_span_break=True),)),)
    problem = Problem(jobs, 1, (Downtime(0, 1, 3), Downtime(0, 2, 4)))
    assert check_schedule(problem, [Assignment(0, 0, 0, 0, 5)]).feasible
