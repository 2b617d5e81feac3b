"""How loaded each machine is under a schedule, against the time it is available.

Busy time is the changeover plus the processing (the alternative's duration): time an
operation spends suspended across a break holds the machine but does not work it, so it
is not counted.  Available time is the window minus the machine's downtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shopfloor.planning.problem import Assignment, Problem, makespan_of


@dataclass(frozen=True)
class MachineLoad:
    """One machine's load over ``[0, window)``, in the problem's time unit."""

    machine: int
    window: int
    available: int  # window minus downtime
    busy: int  # changeover + processing
    setup: int  # changeover alone

    @property
    def utilisation(self) -> float:
        """Busy share of the available time (0 when the machine is never available)."""
        return self.busy / self.available if self.available > 0 else 0.0

    @property
    def setup_share(self) -> float:
        """Share of the busy time spent on changeovers."""
        return self.setup / self.busy if self.busy > 0 else 0.0


def _clipped_downtime(problem: Problem, machine: int, window: int) -> int:
    return sum(max(0, min(end, window) - start) for start, end in problem.breaks(machine))


def machine_loads(
    problem: Problem, assignments: Sequence[Assignment], window: int | None = None
) -> tuple[MachineLoad, ...]:
    """Load of every machine over ``[0, window)`` (default: the horizon, else the makespan).

    Work outside the window is left out, so a machine's utilisation never exceeds 1 on a
    feasible schedule.
    """
    span = window if window is not None else problem.horizon
    if span is None:
        span = makespan_of(assignments)
    busy = [0] * problem.n_machines
    setup = [0] * problem.n_machines
    for a in assignments:
        op = problem.jobs[a.job].operations[a.op]
        durations = [alt.duration for alt in op.alternatives if alt.machine == a.machine]
        processing = durations[0] if durations else a.end - a.process_start
        # Only the part inside the window counts (a long operation may end after a report
        # window).  Processing is taken as contiguous from its start, so one cut by the
        # window's end that also spans a break is counted approximately.
        changeover = max(0, min(a.process_start, span) - max(a.start, 0))
        worked = max(0, min(a.process_start + processing, span) - max(a.process_start, 0))
        busy[a.machine] += changeover + worked
        setup[a.machine] += changeover
    return tuple(
        MachineLoad(m, span, span - _clipped_downtime(problem, m, span), busy[m], setup[m])
        for m in range(problem.n_machines)
    )
