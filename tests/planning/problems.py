"""Small generated scheduling problems (no committed data)."""

from __future__ import annotations

import random

from shopfloor.planning.problem import Alternative, Downtime, Job, Operation, Problem, Setup


def random_problem(
    seed: int,
    *,
    n_jobs: int = 5,
    n_machines: int = 3,
    max_ops: int = 4,
    flexible: bool = True,
    downtimes: bool = True,
    zero_share: float = 0.1,
) -> Problem:
    """A small flexible job shop with releases, due dates, downtimes and zero-length ops."""
    rng = random.Random(seed)
    jobs = []
    for j in range(n_jobs):
        ops = []
        for _ in range(rng.randint(1, max_ops)):
            machines = rng.sample(range(n_machines), rng.randint(1, n_machines if flexible else 1))
            alts = tuple(
                Alternative(m, 0 if rng.random() < zero_share else rng.randint(1, 9))
                for m in machines
            )
            ops.append(Operation(alts, may_span_break=rng.random() < 0.3))
        release = rng.randint(0, 10)
        jobs.append(
            Job(
                tuple(ops),
                release=release,
                due=release + rng.randint(5, 30),
                weight=rng.randint(1, 3),
                name=f"J{j}",
            )
        )
    down = []
    if downtimes:
        for m in range(n_machines):
            t = rng.randint(0, 10)
            for _ in range(rng.randint(0, 3)):
                length = rng.randint(1, 6)
                down.append(Downtime(m, t, t + length, "break"))
                t += length + rng.randint(3, 15)
    return Problem(tuple(jobs), n_machines, tuple(down), name=f"random{seed}")


def with_setups_and_lags(problem: Problem, seed: int, families: int = 2) -> Problem:
    """``problem`` with setup families, per-alternative setups, a setup matrix and lags."""
    rng = random.Random(seed)
    names = [chr(ord("A") + i) for i in range(families)]
    jobs = tuple(
        Job(
            tuple(
                Operation(
                    tuple(
                        Alternative(a.machine, a.duration, rng.randint(0, 4))
                        for a in op.alternatives
                    ),
                    may_span_break=op.may_span_break,
                    lag_after=rng.choice([0, 0, 1, 3]),
                )
                for op in job.operations
            ),
            release=job.release,
            due=job.due,
            weight=job.weight,
            name=job.name,
            family=rng.choice(names),
        )
        for job in problem.jobs
    )
    matrix = tuple(
        Setup(m, before, after, rng.randint(1, 6))
        for m in range(problem.n_machines)
        for before in names
        for after in names
        if before != after and rng.random() < 0.5
    )
    initial = tuple((m, rng.choice(names)) for m in range(problem.n_machines) if rng.random() < 0.5)
    return Problem(
        jobs,
        problem.n_machines,
        problem.downtimes,
        problem.horizon,
        f"{problem.name}+setups",
        setups=matrix,
        initial_family=initial,
    )
