"""The scheduling problem and its solutions as typed, immutable values.

Time is an integer count of the plant's scheduling unit (minutes in the lake, abstract
units in the benchmark files): CP-SAT works on integers, and a float horizon would only
hide a rounding decision.  Machines are numbered ``0 .. n_machines - 1``.

Model (flexible job shop):

- a :class:`Job` is a route of :class:`Operation` s processed in order, not before the
  job's ``release``; ``due`` and ``weight`` feed the tardiness objective;
- an operation runs on exactly one of its eligible :class:`Alternative` s, each with
  its own duration, without preemption;
- a :class:`Downtime` makes a machine unavailable (shift breaks, holidays, planned
  maintenance).  An operation never runs inside one.  If the operation's
  ``may_span_break`` is set it may be *suspended* across one: it starts before, pauses,
  and resumes after, so its elapsed time is its duration plus the downtime it spans
  (the machine stays held for it: the work piece stays clamped).  Otherwise it must fit
  in one gap.
- a zero-length operation (a release, an inspection sign-off) takes no machine time, so
  it conflicts with no other operation and with no downtime and needs no setup; it still
  keeps its place in the route.
- sequence-dependent setups: every job belongs to a setup ``family`` (the item; by
  default each job is its own family).  Before an operation, its machine needs a
  changeover when the machine's previous operation (or, for the first one, the machine's
  ``initial_family``) is of another family: the :class:`Setup` entry for that machine and
  pair of families when the problem lists one, else the alternative's ``setup``; none
  between operations of the same family.  The changeover occupies the machine right
  before processing (it counts as machine time: it never runs in a downtime; an
  operation that may span breaks pauses over one, changeover included) and may happen
  before the part arrives; processing starts after it.
- minimum lags: an operation's ``lag_after`` (transport, cooling, curing) is the least
  time between its end and the start of the job's next operation.
- ``horizon``, when given, is the end of the planning window: everything must finish
  by then.  Without it the last downtime ends and the machine is free forever.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shopfloor.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Alternative:
    """One eligible machine for an operation and the duration it needs there."""

    machine: int
    duration: int
    setup: int = 0  # changeover on this machine after another family (unless a Setup says)


@dataclass(frozen=True)
class Operation:
    alternatives: tuple[Alternative, ...]
    may_span_break: bool = False
    lag_after: int = 0  # least time from this operation's end to the next one's start

    @property
    def min_duration(self) -> int:
        return min(a.duration for a in self.alternatives)


@dataclass(frozen=True)
class Job:
    operations: tuple[Operation, ...]
    release: int = 0
    due: int | None = None
    weight: int = 1
    name: str = ""
    family: str = ""  # setup family (the item); "" = the job is a family of its own


@dataclass(frozen=True)
class Setup:
    """Changeover ``duration`` on ``machine`` from family ``before`` to family ``after``."""

    machine: int
    before: str
    after: str
    duration: int


@dataclass(frozen=True)
class Downtime:
    """Machine ``machine`` is unavailable on ``[start, end)``."""

    machine: int
    start: int
    end: int
    reason: str = ""


@dataclass(frozen=True)
class Problem:
    jobs: tuple[Job, ...]
    n_machines: int
    downtimes: tuple[Downtime, ...] = ()
    horizon: int | None = None
    name: str = ""
    setups: tuple[Setup, ...] = ()
    # The family each machine is set up for at time 0; a machine not listed needs the
    # first operation's full setup (a conservative default).
    initial_family: tuple[tuple[int, str], ...] = ()
    _breaks: dict[int, tuple[tuple[int, int], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    _setup_table: dict[tuple[int, str, str], int] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._validate()
        self._setup_table.update({(s.machine, s.before, s.after): s.duration for s in self.setups})
        merged: dict[int, tuple[tuple[int, int], ...]] = {}
        for machine in range(self.n_machines):
            spans = sorted((d.start, d.end) for d in self.downtimes if d.machine == machine)
            out: list[tuple[int, int]] = []
            for start, end in spans:
                if out and start <= out[-1][1]:
                    out[-1] = (out[-1][0], max(out[-1][1], end))
                else:
                    out.append((start, end))
            merged[machine] = tuple(out)
        self._breaks.update(merged)

    def _validate(self) -> None:
        where = self.name or "problem"
        if self.n_machines < 1:
            raise InputError("needs at least one machine", source=where, field="n_machines")
        if not self.jobs:
            raise InputError("has no jobs", source=where, field="jobs")
        for j, job in enumerate(self.jobs):
            if job.release < 0:
                raise InputError(f"job {j} has a negative release date", source=where)
            if job.weight < 0:
                raise InputError(f"job {j} has a negative weight", source=where)
            for k, op in enumerate(job.operations):
                if not op.alternatives:
                    raise InputError(f"job {j} operation {k} has no eligible machine", source=where)
                for alt in op.alternatives:
                    if not 0 <= alt.machine < self.n_machines:
                        raise InputError(
                            f"job {j} operation {k}: machine {alt.machine} is outside "
                            f"0..{self.n_machines - 1}",
                            source=where,
                        )
                    if alt.duration < 0 or alt.setup < 0:
                        raise InputError(
                            f"job {j} operation {k} has a negative duration or setup",
                            source=where,
                        )
                if op.lag_after < 0:
                    raise InputError(f"job {j} operation {k} has a negative lag", source=where)
        for d in self.downtimes:
            if not 0 <= d.machine < self.n_machines:
                raise InputError(f"downtime on unknown machine {d.machine}", source=where)
            if d.start < 0 or d.end <= d.start:
                raise InputError(
                    f"downtime [{d.start}, {d.end}) on machine {d.machine} is empty or negative",
                    source=where,
                )
        if self.horizon is not None and self.horizon < 0:
            raise InputError("horizon is negative", source=where, field="horizon")
        for setup in self.setups:
            if not 0 <= setup.machine < self.n_machines or setup.duration < 0:
                raise InputError(
                    f"setup {setup.before!r} -> {setup.after!r} on machine {setup.machine} "
                    "has an unknown machine or a negative duration",
                    source=where,
                )
        for machine, _ in self.initial_family:
            if not 0 <= machine < self.n_machines:
                raise InputError(f"initial family on unknown machine {machine}", source=where)

    # --- derived views ---------------------------------------------------------------

    def breaks(self, machine: int) -> tuple[tuple[int, int], ...]:
        """The machine's downtimes as sorted, merged ``(start, end)`` spans."""
        return self._breaks.get(machine, ())

    def family(self, job: int) -> str:
        """The job's setup family (its own, unique, when it names none)."""
        return self.jobs[job].family or f"#job{job}"

    def initial(self, machine: int) -> str | None:
        return next((f for m, f in self.initial_family if m == machine), None)

    def setup_time(self, machine: int, before: str | None, after: str, alternative: int) -> int:
        """Changeover on ``machine`` from family ``before`` (None: unknown) to ``after``.

        ``alternative`` is the alternative's own ``setup`` (used when no Setup entry
        covers the pair).
        """
        if before is not None:
            listed = self._setup_table.get((machine, before, after))
            if listed is not None:
                return listed
            if before == after:
                return 0
        return alternative

    @property
    def has_setups(self) -> bool:
        return bool(self.setups) or any(
            a.setup > 0 for _, _, op in self.operations() for a in op.alternatives
        )

    def machines_with_setups(self) -> set[int]:
        out = {s.machine for s in self.setups if s.duration > 0}
        out.update(
            a.machine
            for _, _, op in self.operations()
            for a in op.alternatives
            if a.setup > 0 and a.duration > 0
        )
        return out

    def operations(self) -> Iterator[tuple[int, int, Operation]]:
        for j, job in enumerate(self.jobs):
            for k, op in enumerate(job.operations):
                yield j, k, op

    @property
    def n_operations(self) -> int:
        return sum(len(job.operations) for job in self.jobs)

    def trivial_lower_bound(self) -> int:
        """max(longest job from its release, smallest machine load if all ran on one)."""
        job_bound = max(
            (
                job.release
                + sum(op.min_duration for op in job.operations)
                + sum(op.lag_after for op in job.operations[:-1])
                for job in self.jobs
            ),
            default=0,
        )
        load = [0] * self.n_machines
        for _, _, op in self.operations():
            if len(op.alternatives) == 1:
                load[op.alternatives[0].machine] += op.alternatives[0].duration
        return max(job_bound, *load)

    def upper_horizon(self) -> int:
        """A horizon every sensible schedule fits in (serial schedule after all downtime)."""
        if self.horizon is not None:
            return self.horizon
        longest_setup = max((s.duration for s in self.setups), default=0)
        work = sum(
            max(a.duration + max(a.setup, longest_setup) for a in op.alternatives) + op.lag_after
            for _, _, op in self.operations()
        )
        releases = max(job.release for job in self.jobs)
        last_break = max((d.end for d in self.downtimes), default=0)
        # Spanning operations stretch by the downtime they cover: add it all once more.
        downtime = sum(d.end - d.start for d in self.downtimes)
        return max(releases, last_break) + work + downtime

    @classmethod
    def job_shop(
        cls,
        routes: Sequence[Sequence[tuple[int, int]]],
        n_machines: int | None = None,
        *,
        name: str = "",
        releases: Sequence[int] | None = None,
        dues: Sequence[int | None] | None = None,
        weights: Sequence[int] | None = None,
        downtimes: Sequence[Downtime] = (),
        horizon: int | None = None,
    ) -> Problem:
        """A classical job shop from ``[(machine, duration), ...]`` routes, one per job."""
        if n_machines is None:
            n_machines = 1 + max((m for route in routes for m, _ in route), default=0)
        jobs = tuple(
            Job(
                operations=tuple(Operation((Alternative(m, d),)) for m, d in route),
                release=releases[j] if releases is not None else 0,
                due=dues[j] if dues is not None else None,
                weight=weights[j] if weights is not None else 1,
            )
            for j, route in enumerate(routes)
        )
        return cls(jobs, n_machines, tuple(downtimes), horizon, name)


@dataclass(frozen=True)
class Assignment:
    """Operation ``op`` of job ``job`` holds ``machine`` from ``start`` to ``end``.

    The first ``setup`` time units of work are the changeover; processing runs from
    ``start + setup`` (:attr:`process_start`; later when a break the operation may span
    interrupts the changeover) to ``end``.
    """

    job: int
    op: int
    machine: int
    start: int
    end: int
    setup: int = 0

    @property
    def process_start(self) -> int:
        return self.start + self.setup


def assignments_frame(assignments: Sequence[Assignment]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        [(a.job, a.op, a.machine, a.start, a.end, a.setup) for a in assignments],
        columns=["job", "op", "machine", "start", "end", "setup"],
    )


def makespan_of(assignments: Sequence[Assignment]) -> int:
    return max((a.end for a in assignments), default=0)


def weighted_tardiness_of(problem: Problem, assignments: Sequence[Assignment]) -> int:
    completion: dict[int, int] = {}
    for a in assignments:
        completion[a.job] = max(completion.get(a.job, 0), a.end)
    total = 0
    for j, job in enumerate(problem.jobs):
        if job.due is not None and j in completion:
            total += job.weight * max(0, completion[j] - job.due)
    return total
