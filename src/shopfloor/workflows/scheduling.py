"""Scheduling workflows: benchmark files in, solved and checked schedules out.

``solve_files`` is what ``shopfloor schedule solve`` runs: it reads every file first
(a malformed one fails the run before minutes of solving are spent), then solves them
one by one and yields one :class:`InstanceResult` per file as soon as it is known.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from shopfloor.errors import InputError
from shopfloor.planning.cpsat import OBJECTIVES, CpSatScheduler, PlainCpSatScheduler
from shopfloor.planning.instances import FORMATS, read_instance
from shopfloor.planning.schedule import Schedule


@dataclass(frozen=True)
class InstanceResult:
    """One line of ``schedule solve``; bound and gap refer to the chosen objective.

    ``gap_to_bound`` is in percent, as in ``benchmark jobshop``.
    """

    instance: str
    makespan: int | None
    lower_bound: float | None
    gap_to_bound: float | None
    status: str
    seconds: float
    feasible: bool

    @classmethod
    def from_schedule(cls, schedule: Schedule) -> InstanceResult:
        return cls(
            instance=schedule.instance,
            makespan=schedule.makespan,
            lower_bound=schedule.lower_bound,
            gap_to_bound=None if schedule.gap is None else round(100.0 * schedule.gap, 4),
            status=schedule.status,
            seconds=round(schedule.seconds, 3),
            feasible=schedule.feasible,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def solve_files(
    paths: Sequence[Path],
    *,
    format: str | None = None,
    objective: str = "makespan",
    time_limit_s: float = 60.0,
    workers: int = 2,
    seed: int = 0,
    plain: bool = False,
    deterministic: bool = False,
) -> Iterator[InstanceResult]:
    """Solve each instance file with CP-SAT (or the plain baseline model)."""
    if format is not None and format not in FORMATS:
        raise InputError(
            f"unknown format '{format}': use one of {', '.join(FORMATS)}", field="--format"
        )
    if objective not in OBJECTIVES:
        raise InputError(
            f"unknown objective '{objective}': use one of {', '.join(OBJECTIVES)}",
            field="--objective",
        )
    if time_limit_s <= 0:
        raise InputError("must be positive", field="--time-limit")
    if workers < 1:
        raise InputError("must be at least 1", field="--workers")
    if not paths:
        raise InputError("no instance file given", field="FILE")
    problems = [read_instance(path, format) for path in paths]
    params: dict[str, Any] = {
        "objective": objective,
        "time_limit_s": time_limit_s,
        "workers": workers,
        "seed": seed,
    }
    scheduler = (
        PlainCpSatScheduler(**params)
        if plain
        else CpSatScheduler(**params, deterministic=deterministic)
    )
    for problem in problems:
        yield InstanceResult.from_schedule(scheduler.solve(problem))
