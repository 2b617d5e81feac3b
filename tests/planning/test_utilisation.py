"""Machine load: busy = changeover + processing, over the time a machine is available."""

from __future__ import annotations

import pytest

from shopfloor.planning.problem import Alternative, Assignment, Downtime, Job, Operation, Problem
from shopfloor.planning.utilisation import machine_loads


def problem(horizon: int | None = 100) -> Problem:
    op = Operation((Alternative(0, 10, 5), Alternative(1, 12)), may_span_break=True)
    return Problem(
        (Job((op,)), Job((op,))),
        n_machines=3,
        downtimes=(Downtime(0, 20, 40), Downtime(0, 30, 50), Downtime(2, 90, 120)),
        horizon=horizon,
    )


def test_busy_setup_and_available_time() -> None:
    # Job 0 on machine 0: setup 5-10, processing 10-20; job 1 on machine 1 from 0 to 12.
    # Machine 0's downtimes 20-40 and 30-50 overlap: 30 minutes down, 70 available.
    loads = machine_loads(problem(), [Assignment(0, 0, 0, 5, 20, 5), Assignment(1, 0, 1, 0, 12)])
    m0, m1, m2 = loads
    assert (m0.window, m0.available, m0.busy, m0.setup) == (100, 70, 15, 5)  # 20-50 merged
    assert m0.utilisation == pytest.approx(15 / 70) and m0.setup_share == pytest.approx(5 / 15)
    assert (m1.available, m1.busy, m1.setup, m1.setup_share) == (100, 12, 0, 0.0)
    assert (m2.available, m2.busy, m2.utilisation) == (90, 0, 0.0)  # downtime clipped at 100


def test_time_spanned_across_a_break_is_not_busy() -> None:
    # Setup 10-15, processing 15-20, held over the downtime 20-50, processing 50-55.
    spanning = Assignment(0, 0, 0, 10, 55, 5)
    (m0, *_) = machine_loads(problem(), [spanning])
    assert (m0.busy, m0.setup) == (15, 5)


def test_window_defaults_to_the_makespan_and_clips_work() -> None:
    loads = machine_loads(problem(horizon=None), [Assignment(1, 0, 1, 0, 12)])
    assert loads[1].window == 12 and loads[1].utilisation == 1.0
    clipped = machine_loads(problem(), [Assignment(1, 0, 1, 0, 12)], window=6)
    assert clipped[1].busy == 6 and clipped[1].utilisation == 1.0


def test_a_machine_never_available_has_zero_utilisation() -> None:
    closed = Problem(problem().jobs, 2, (Downtime(1, 0, 100),), horizon=100)
    loads = machine_loads(closed, [Assignment(0, 0, 0, 0, 15, 5)])
    assert loads[1].available == 0 and loads[1].utilisation == 0.0
