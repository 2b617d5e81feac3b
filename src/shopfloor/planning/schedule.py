"""The typed result of every scheduler: a :class:`Schedule`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from shopfloor.planning.checker import Violation
from shopfloor.planning.problem import Assignment, assignments_frame

if TYPE_CHECKING:
    import pandas as pd

# "optimal": proven; "feasible": a schedule, not proven optimal; "infeasible": proven
# that none exists; "unknown": the time ran out before any schedule was found.
Status = Literal["optimal", "feasible", "infeasible", "unknown"]


@dataclass(frozen=True)
class Schedule:
    """A solved instance.

    ``objective`` and ``lower_bound`` are in the units of the chosen objective (the
    makespan, the total weighted tardiness, or the weighted mix); ``gap`` is
    ``(objective - lower_bound) / max(1, objective)`` as CP-SAT reports it.
    ``feasible`` comes from the independent checker, never from the solver's word;
    ``violations`` lists what it found (empty when feasible).  ``source`` says which
    method produced the assignments (``"cpsat"``, or ``"dispatch:<rule>"`` when the
    solver found nothing better than its warm start in time).
    """

    instance: str
    objective_name: str
    assignments: tuple[Assignment, ...]
    makespan: int | None
    objective: float | None
    lower_bound: float | None
    gap: float | None
    status: Status
    seconds: float
    feasible: bool
    violations: tuple[Violation, ...] = ()
    source: str = "cpsat"

    def frame(self) -> pd.DataFrame:
        """Assignments as a frame: job, op, machine, start, end."""
        return assignments_frame(self.assignments)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None:
        return None
    return max(0.0, objective - bound) / max(1.0, abs(objective))
