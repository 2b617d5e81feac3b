"""Rescheduling: repair a schedule in progress after a disruption, moving as little as possible.

Given the problem, the schedule the plant is running, the current time ``now`` and the
disruptions (a machine down from ``start`` for ``duration``; rush orders), the repair:

1. builds the disrupted problem: the breakdown becomes a downtime, a rush order a new
   job released no earlier than ``now``;
2. keeps what has happened: every operation that started before ``now`` stays as it
   is (machine, times, changeover) unless the breakdown interrupted it (running on the
   broken machine when it stopped): that one, and the rest of its job, is redone;
3. solves the rest with CP-SAT, nothing starting before ``now``, minimising
   ``objective + stability_weight * moves + mean |start - previous start|`` (scaled to
   integers), where a move is an operation changing machine or no longer following its
   predecessor in its machine's old sequence.  ``stability_weight`` is what one move is
   worth in units of the objective (default: the mean operation length, so the plan
   accepts one operation's worth of extra makespan to avoid a move); the mean start
   deviation breaks ties towards the old timing.  The solution hint (and the answer
   when the solver finds nothing better in time) is the *right-shift* repair: the
   previous schedule pushed later just enough, every sequence and machine kept;
4. reports what moved against the previous schedule: a changed machine, a changed
   sequence (the operation is not in the longest common subsequence of its machine's
   old and new orders), a changed time only, or a new operation; and ``kept_share``,
   the share of unaffected operations (previously planned, not started, not on a
   disrupted machine) that kept their machine and relative order.

The result's ``lower_bound`` and ``gap`` are ``None``: the solver's bound is on the
combined objective, which is not the one a planner reads.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from shopfloor.errors import InputError
from shopfloor.planning.cpsat import CpSatScheduler, _fits, _OpVars
from shopfloor.planning.dispatch import earliest_fit
from shopfloor.planning.problem import Assignment, Downtime, Job, Problem
from shopfloor.planning.schedule import Schedule

Change = Literal["machine", "sequence", "time", "new"]


@dataclass(frozen=True)
class MachineDown:
    """Machine ``machine`` stops at ``start`` for ``duration``."""

    machine: int
    start: int
    duration: int


@dataclass(frozen=True)
class RushOrder:
    """A new job to fit in (released at ``now`` at the earliest)."""

    job: Job


Disruption = MachineDown | RushOrder


@dataclass(frozen=True)
class Move:
    job: int
    op: int
    old_machine: int | None
    new_machine: int
    old_start: int | None
    new_start: int
    change: Change


@dataclass(frozen=True)
class Reschedule:
    schedule: Schedule
    problem: Problem  # the disrupted problem the schedule solves
    moves: tuple[Move, ...]  # every operation whose machine, order or time changed
    frozen: int  # operations kept as they started
    kept_share: float  # unaffected operations keeping their machine and relative order


def disrupted_problem(problem: Problem, disruptions: Sequence[Disruption], now: int) -> Problem:
    """``problem`` with the breakdowns as downtimes and the rush orders as new jobs."""
    downtimes = list(problem.downtimes)
    jobs = list(problem.jobs)
    for item in disruptions:
        if isinstance(item, MachineDown):
            if not 0 <= item.machine < problem.n_machines:
                raise InputError(f"machine {item.machine} is not in the plan", field="machine")
            if item.duration <= 0:
                raise InputError("a breakdown needs a positive duration", field="duration")
            downtimes.append(
                Downtime(item.machine, item.start, item.start + item.duration, "breakdown")
            )
        else:
            jobs.append(dataclasses.replace(item.job, release=max(item.job.release, now)))
    return dataclasses.replace(
        problem, jobs=tuple(jobs), downtimes=tuple(downtimes), name=problem.name or "repair"
    )


def frozen_operations(
    previous: Sequence[Assignment], disruptions: Sequence[Disruption], now: int
) -> dict[tuple[int, int], Assignment]:
    """Operations that started before ``now`` and were not interrupted (nor follow one)."""
    downs = [d for d in disruptions if isinstance(d, MachineDown)]

    def interrupted(a: Assignment) -> bool:
        return any(
            a.machine == d.machine and a.start < d.start + d.duration and a.end > d.start
            for d in downs
        )

    stopped: dict[int, int] = {}  # job -> first interrupted operation
    for a in previous:
        if a.start < now and interrupted(a):
            stopped[a.job] = min(stopped.get(a.job, a.op), a.op)
    return {
        (a.job, a.op): a for a in previous if a.start < now and a.op < stopped.get(a.job, a.op + 1)
    }


class _Repair(CpSatScheduler):
    """CP-SAT with frozen operations, a not-before time and the stability term."""

    def __init__(
        self,
        previous: dict[tuple[int, int], Assignment],
        frozen: dict[tuple[int, int], Assignment],
        now: int,
        stability_weight: float | None,
        **params: Any,
    ) -> None:
        super().__init__(**params, hint=True)
        self._previous = previous
        self._frozen = frozen
        self._now = now
        self._stability_weight = stability_weight

    def _warm_start(self, problem: Problem) -> tuple[Any, tuple[Assignment, ...] | None]:
        return "right-shift", right_shift(problem, self._previous.values(), self._frozen, self._now)

    def _horizon(self, problem: Problem, warm: tuple[Assignment, ...] | None) -> int:
        if problem.horizon is not None:
            return problem.horizon
        return max(self._now, max((a.end for a in self._frozen.values()), default=0)) + (
            problem.upper_horizon()
        )

    def _check_calendar_fit(self, problem: Problem, horizon: int) -> None:
        # Frozen operations already ran; the others must fit between `now` and the horizon.
        for j, k, op in problem.operations():
            ready = max(problem.jobs[j].release, self._now)
            if (j, k) not in self._frozen and not any(
                _fits(problem, a.machine, a.duration, op.may_span_break, ready, horizon)
                for a in op.alternatives
            ):
                raise InputError(
                    f"job {j} operation {k} fits in no availability window after {ready}",
                    source=problem.name or "problem",
                )

    def _extend(
        self,
        model: Any,
        problem: Problem,
        ops: dict[tuple[int, int], _OpVars],
        objective: Any,
        scale: float,
    ) -> Any:
        deviations = []
        changes = []
        for key, v in ops.items():
            fixed = self._frozen.get(key)
            if fixed is not None:
                model.add(v.start == fixed.process_start)
                model.add(v.end == fixed.end)
                for alt in v.alternatives:
                    if alt.present is not None:
                        model.add(alt.present == (alt.machine == fixed.machine))
                continue
            for alt in v.alternatives:
                held = model.add(alt.held >= self._now)
                if alt.present is not None:
                    held.only_enforce_if(alt.present)
            old = self._previous.get(key)
            if old is None:
                continue
            shift = model.new_int_var(0, max(self._now, old.start) + 10**9, "")
            model.add_abs_equality(shift, v.start - old.process_start)
            deviations.append(shift)
            for alt in v.alternatives:
                if alt.present is not None and alt.machine == old.machine:
                    changes.append(alt.present.Not())
        flips = self._order_flips(model, ops)
        placed = max(1, len(ops) - len(self._frozen))
        weight = self._stability_weight
        if weight is None:  # default: a move is worth one mean operation of the objective
            durations = [a.end - a.start for a in self._previous.values()]
            weight = sum(durations) / max(1, len(durations))
        # Everything times `placed` so that the mean start deviation is an integer term;
        # `scale` keeps the weights' meaning for objectives scaled to integers (mix).
        move_cost = round(placed * weight * scale)
        moves = sum(changes) + sum(flips) if changes or flips else 0
        drift = round(scale) * sum(deviations) if deviations else 0
        return placed * objective + move_cost * moves + drift

    def _order_flips(self, model: Any, ops: dict[tuple[int, int], _OpVars]) -> list[Any]:
        """One literal per pair of consecutive unstarted operations of a machine's old
        sequence, true when the second no longer follows the first there."""
        by_machine: dict[int, list[Assignment]] = {}
        for key, a in self._previous.items():
            if key not in self._frozen and key in ops:
                by_machine.setdefault(a.machine, []).append(a)
        flips = []
        for machine, items in by_machine.items():
            items.sort(key=lambda a: (a.start, a.end, a.job))
            for first, second in itertools.pairwise(items):
                u, w = ops[(first.job, first.op)], ops[(second.job, second.op)]
                if not all(any(alt.machine == machine for alt in v.alternatives) for v in (u, w)):
                    continue  # one of them can no longer run there (a calendar change)
                flip = model.new_bool_var("")
                kept = model.add(_held(w, machine) >= u.end)
                stays = [
                    alt.present
                    for v in (u, w)
                    for alt in v.alternatives
                    if alt.machine == machine and alt.present is not None
                ]
                kept.only_enforce_if([flip.Not(), *stays])
                flips.append(flip)
        return flips


def right_shift(
    problem: Problem,
    previous: Iterable[Assignment],
    frozen: dict[tuple[int, int], Assignment],
    now: int,
) -> tuple[Assignment, ...]:
    """The previous schedule pushed later just enough to be feasible again.

    Every machine keeps its sequence and every operation its machine, so it is the most
    stable repair there is (kept share 1), and it is always feasible after a breakdown:
    the solver's hint and fallback.  Operations are visited in previous start order,
    which respects both the routes and the machine sequences.  A rush order's operations
    are not in it (the hint is partial then).
    """
    job_ready: dict[int, int] = {}
    machine_free: dict[int, int] = {}
    machine_family: dict[int, str | None] = {}
    out = []
    for a in sorted(previous, key=lambda a: (a.start, a.end, a.job, a.op)):
        job = problem.jobs[a.job]
        op = job.operations[a.op]
        if (a.job, a.op) in frozen:
            placed = a
        else:
            alt = next((x for x in op.alternatives if x.machine == a.machine), None)
            if alt is None:
                return ()  # the previous schedule does not fit the problem: no warm start
            if alt.duration == 0:
                ready = max(now, job.release, job_ready.get(a.job, 0))
                placed = Assignment(a.job, a.op, a.machine, ready, ready)
            else:
                before = machine_family.get(a.machine, problem.initial(a.machine))
                setup = problem.setup_time(a.machine, before, problem.family(a.job), alt.setup)
                ready = max(
                    now,
                    machine_free.get(a.machine, 0),
                    max(job.release, job_ready.get(a.job, 0)) - setup,
                )
                start, end = earliest_fit(
                    ready, setup + alt.duration, problem.breaks(a.machine), op.may_span_break
                )
                placed = Assignment(a.job, a.op, a.machine, start, end, setup)
        out.append(placed)
        job_ready[a.job] = placed.end + op.lag_after
        if placed.end > placed.start:
            machine_free[a.machine] = placed.end
            machine_family[a.machine] = problem.family(a.job)
    return tuple(out)


def _held(v: _OpVars, machine: int) -> Any:
    return next(alt.held for alt in v.alternatives if alt.machine == machine)


def _lcs(old: Sequence[tuple[int, int]], new: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """Members of a longest common subsequence of two orders (distinct items)."""
    rows, cols = len(old), len(new)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            table[i][j] = (
                table[i + 1][j + 1] + 1
                if old[i] == new[j]
                else max(table[i + 1][j], table[i][j + 1])
            )
    out: set[tuple[int, int]] = set()
    i = j = 0
    while i < rows and j < cols:
        if old[i] == new[j]:
            out.add(old[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def compare(previous: Sequence[Assignment], current: Sequence[Assignment]) -> tuple[Move, ...]:
    """What moved from ``previous`` to ``current`` (unchanged operations are left out)."""
    old = {(a.job, a.op): a for a in previous}
    kept_order: set[tuple[int, int]] = set()
    for machine in {a.machine for a in current}:
        same = [a for a in current if a.machine == machine]
        before = sorted(
            (a for a in previous if a.machine == machine),
            key=lambda a: (a.start, a.end, a.job),
        )
        after = sorted(same, key=lambda a: (a.start, a.end, a.job))
        kept_order |= _lcs([(a.job, a.op) for a in before], [(a.job, a.op) for a in after])
    moves = []
    for a in current:
        key = (a.job, a.op)
        was = old.get(key)
        change: Change | None
        if was is None:
            change = "new"
        elif was.machine != a.machine:
            change = "machine"
        elif key not in kept_order:
            change = "sequence"
        elif was.start != a.start:
            change = "time"
        else:
            change = None
        if change is not None:
            moves.append(
                Move(
                    a.job,
                    a.op,
                    None if was is None else was.machine,
                    a.machine,
                    None if was is None else was.start,
                    a.start,
                    change,
                )
            )
    return tuple(moves)


def kept_share(
    previous: Sequence[Assignment],
    moves: Sequence[Move],
    frozen: set[tuple[int, int]],
    down: set[int],
) -> float:
    """Share of unaffected operations (previously planned, not frozen, not on a machine in
    ``down``) that kept their machine and relative order (1 when there are none)."""
    unaffected = [
        (a.job, a.op) for a in previous if (a.job, a.op) not in frozen and a.machine not in down
    ]
    moved = {(m.job, m.op) for m in moves if m.change in ("machine", "sequence")}
    kept = sum(1 for key in unaffected if key not in moved)
    return kept / len(unaffected) if unaffected else 1.0


def reschedule(
    problem: Problem,
    previous: Sequence[Assignment],
    *,
    now: int,
    disruptions: Sequence[Disruption],
    objective: str = "makespan",
    mix_weight: float = 0.5,
    stability_weight: float | None = None,
    time_limit_s: float = 30.0,
    workers: int = 2,
    seed: int = 0,
) -> Reschedule:
    """Repair ``previous`` after ``disruptions`` at time ``now``; see the module doc."""
    if now < 0:
        raise InputError("must not be negative", field="now")
    if stability_weight is not None and stability_weight < 0:
        raise InputError("must not be negative", field="stability_weight")
    known = {(j, k) for j, k, _ in problem.operations()}
    unknown = [(a.job, a.op) for a in previous if (a.job, a.op) not in known]
    if unknown:
        raise InputError(
            f"the previous schedule has operations the problem lacks: {unknown[:5]}",
            field="previous",
        )
    repaired = disrupted_problem(problem, disruptions, now)
    frozen = frozen_operations(previous, disruptions, now)
    scheduler = _Repair(
        {(a.job, a.op): a for a in previous},
        frozen,
        now,
        stability_weight,
        objective=objective,
        mix_weight=mix_weight,
        time_limit_s=time_limit_s,
        workers=workers,
        seed=seed,
    )
    schedule = dataclasses.replace(scheduler.solve(repaired), lower_bound=None, gap=None)
    moves = compare(previous, schedule.assignments)
    down = {d.machine for d in disruptions if isinstance(d, MachineDown)}
    return Reschedule(
        schedule=schedule,
        problem=repaired,
        moves=moves,
        frozen=len(frozen),
        kept_share=kept_share(previous, moves, set(frozen), down),
    )
