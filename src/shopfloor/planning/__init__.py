"""Production planning and scheduling (DESIGN section 3: pure analytics).

The problem model, benchmark readers, an independent feasibility checker, dispatch
rules, the CP-SAT scheduler (with sequence-dependent changeovers) and rescheduling.
OR-Tools is imported inside the solver only, so ``import shopfloor.planning`` stays
light.
"""

from __future__ import annotations

from shopfloor.planning.checker import CheckResult, Violation, check_schedule
from shopfloor.planning.cpsat import CpSatScheduler, PlainCpSatScheduler
from shopfloor.planning.dispatch import RULES, best_dispatch, dispatch
from shopfloor.planning.instances import detect_format, read_instance
from shopfloor.planning.problem import (
    Alternative,
    Assignment,
    Downtime,
    Job,
    Operation,
    Problem,
    Setup,
)
from shopfloor.planning.reschedule import MachineDown, Move, Reschedule, RushOrder, reschedule
from shopfloor.planning.schedule import Schedule

__all__ = [
    "RULES",
    "Alternative",
    "Assignment",
    "CheckResult",
    "CpSatScheduler",
    "Downtime",
    "Job",
    "MachineDown",
    "Move",
    "Operation",
    "PlainCpSatScheduler",
    "Problem",
    "Reschedule",
    "RushOrder",
    "Schedule",
    "Setup",
    "Violation",
    "best_dispatch",
    "check_schedule",
    "detect_format",
    "dispatch",
    "read_instance",
    "reschedule",
]
