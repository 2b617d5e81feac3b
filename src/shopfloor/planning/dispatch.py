"""Dispatch rules: a feasible schedule in milliseconds (the solver's warm start).

Active-schedule generation (Giffler and Thompson), extended to alternative machines and
calendars: among the next operation of every job on each eligible machine, take the
one that can complete first; every candidate on that machine that could start before
that completion is in conflict, and the rule picks among them.  Operations go after
the last one already on their machine (no insertion into earlier gaps), at the first
start where they fit the machine's calendar.

Rules (higher priority first, ties by job index so a run is deterministic):

- ``spt``: shortest processing time on the machine;
- ``mwkr``: most work remaining in the job (this operation included);
- ``atc``: apparent tardiness cost, ``w/p * exp(-slack+ / (k * p_mean))`` with
  ``k = 2``; jobs without a due date rank after those with one, by most work remaining.

Setups and lags: a candidate's changeover follows from the family last run on the
machine (so the completion-time choice above already prefers staying in a family),
it occupies the machine right before processing and may start before the part
arrives; a job's next operation is ready ``lag_after`` after the previous one ends.

A dispatched schedule respects routes, lags, releases, setups, machine capacity and
calendars by construction; it may overrun the problem's horizon, which the checker
then reports.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Literal

from shopfloor.planning.problem import Assignment, Problem

Rule = Literal["spt", "mwkr", "atc"]
RULES: tuple[Rule, ...] = ("spt", "mwkr", "atc")
ATC_K = 2.0


def earliest_fit(
    ready: int, duration: int, breaks: Sequence[tuple[int, int]], may_span: bool
) -> tuple[int, int]:
    """First ``(start, end)`` at or after ``ready`` that respects the machine's breaks."""
    if duration == 0:
        return ready, ready
    t = ready
    if not may_span:
        for start, end in breaks:
            if t >= end:
                continue
            if t + duration <= start:
                break
            t = max(t, end)
        return t, t + duration
    for start, end in breaks:
        if start <= t < end:
            t = end
    current, remaining = t, duration
    for start, end in breaks:
        if end <= current:
            continue
        if current + remaining <= start:
            break
        remaining -= start - current
        current = end
    return t, current + remaining


def dispatch(problem: Problem, rule: Rule) -> tuple[Assignment, ...]:
    """A feasible (calendar-respecting) schedule built by ``rule``."""
    if rule not in RULES:
        raise ValueError(f"unknown dispatch rule {rule!r}: use one of {', '.join(RULES)}")
    jobs = problem.jobs
    next_op = [0] * len(jobs)
    job_ready = [job.release for job in jobs]
    machine_free = [0] * problem.n_machines
    machine_family = [problem.initial(m) for m in range(problem.n_machines)]
    # Remaining work per job with each operation at its shortest alternative.
    remaining = [sum(op.min_duration for op in job.operations) for job in jobs]
    mean_p = max(
        1.0,
        sum(remaining) / max(1, problem.n_operations),
    )
    out: list[Assignment] = []
    left = problem.n_operations

    def priority(c: tuple[int, int, int, int, int, int], now: int) -> tuple[float, float, int]:
        j, _, dur, _, _, _ = c
        if rule == "spt":
            return (-dur, remaining[j], -j)
        if rule == "mwkr":
            return (remaining[j], -dur, -j)
        job = jobs[j]
        if job.due is None:
            return (-1.0, remaining[j], -j)
        after = remaining[j] - job.operations[next_op[j]].min_duration
        slack = max(0.0, job.due - dur - now - after)
        return (job.weight / max(dur, 1) * math.exp(-slack / (ATC_K * mean_p)), 0.0, -j)

    while left:
        # Zero-length operations take no machine time: place them as soon as they are ready.
        flushed = True
        while flushed:
            flushed = False
            for j, job in enumerate(jobs):
                k = next_op[j]
                if k < len(job.operations):
                    op = job.operations[k]
                    zero = [a for a in op.alternatives if a.duration == 0]
                    if zero:
                        t = job_ready[j]
                        out.append(Assignment(j, k, zero[0].machine, t, t))
                        job_ready[j] = t + op.lag_after
                        next_op[j] += 1
                        left -= 1
                        flushed = True
        if not left:
            break

        # (job, machine, duration, start, end, setup); start..end includes the setup.
        candidates: list[tuple[int, int, int, int, int, int]] = []
        for j, job in enumerate(jobs):
            k = next_op[j]
            if k >= len(job.operations):
                continue
            op = job.operations[k]
            for alt in op.alternatives:
                m = alt.machine
                setup = problem.setup_time(m, machine_family[m], problem.family(j), alt.setup)
                ready = max(job_ready[j] - setup, machine_free[m])
                s, e = earliest_fit(
                    ready, setup + alt.duration, problem.breaks(m), op.may_span_break
                )
                candidates.append((j, m, alt.duration, s, e, setup))
        best = min(candidates, key=lambda c: (c[4], c[3], c[0], c[1]))
        machine, completion = best[1], best[4]
        conflict = [c for c in candidates if c[1] == machine and c[3] < completion]
        now = min(c[3] for c in conflict)

        j, machine, _, s, e, setup = max(conflict, key=functools.partial(priority, now=now))
        k = next_op[j]
        out.append(Assignment(j, k, machine, s, e, setup))
        remaining[j] -= jobs[j].operations[k].min_duration
        next_op[j] += 1
        job_ready[j] = e + jobs[j].operations[k].lag_after
        machine_free[machine] = e
        machine_family[machine] = problem.family(j)
        left -= 1
    return tuple(out)


def best_dispatch(
    problem: Problem,
    cost: Callable[[tuple[Assignment, ...]], float],
    rules: Sequence[Rule] = RULES,
) -> tuple[Rule, tuple[Assignment, ...]]:
    """The rule whose schedule has the lowest ``cost`` (first rule on ties)."""
    results = [(rule, dispatch(problem, rule)) for rule in rules]
    return min(results, key=lambda item: cost(item[1]))
