"""An independent feasibility checker for schedules.

It shares no code with the solver or the dispatch rules on purpose: a bug in the
model (a missing constraint, a wrong calendar) must not be mirrored by a bug in the
check.  It reads only the problem's raw fields (it merges downtimes itself) and the
assignments, and lists every violation rather than stopping at the first one, so a
test can assert on exactly the fault it planted.

Rules (see :mod:`shopfloor.planning.problem` for the model):

- every operation is scheduled exactly once (``missing`` / ``duplicate`` /
  ``unknown``) on one of its eligible machines (``ineligible``);
- its elapsed time is its changeover plus its duration, plus, for an operation allowed
  to span breaks, the downtime it spans (``duration``);
- route order within a job (``precedence``), with at least the previous operation's
  ``lag_after`` between them (``lag``); processing not before the job's release
  (``release``), never at a negative time;
- on each machine, the changeover before an operation is at least what the previous
  operation's family (or the machine's initial family) requires (``setup``);
- at most one operation of positive length at a time per machine (``overlap``);
- no processing inside a downtime (``downtime``), and no spanning a downtime unless the
  operation allows it (``spans_break``);
- everything ends by the horizon when there is one (``horizon``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shopfloor.planning.problem import Assignment, Problem

ViolationKind = Literal[
    "missing",
    "duplicate",
    "unknown",
    "ineligible",
    "duration",
    "precedence",
    "lag",
    "release",
    "setup",
    "overlap",
    "downtime",
    "spans_break",
    "horizon",
]


@dataclass(frozen=True)
class Violation:
    kind: ViolationKind
    job: int
    op: int
    machine: int | None
    message: str


@dataclass(frozen=True)
class CheckResult:
    violations: tuple[Violation, ...]

    @property
    def feasible(self) -> bool:
        return not self.violations

    def kinds(self) -> set[str]:
        return {v.kind for v in self.violations}


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def check_schedule(problem: Problem, assignments: Sequence[Assignment]) -> CheckResult:
    """Every violation of ``assignments`` against ``problem`` (empty: feasible)."""
    found: list[Violation] = []

    def add(kind: ViolationKind, a: Assignment | tuple[int, int], message: str) -> None:
        if isinstance(a, Assignment):
            found.append(Violation(kind, a.job, a.op, a.machine, message))
        else:
            found.append(Violation(kind, a[0], a[1], None, message))

    down: dict[int, list[tuple[int, int]]] = {}
    for d in problem.downtimes:
        down.setdefault(d.machine, []).append((d.start, d.end))
    down = {m: _union(spans) for m, spans in down.items()}

    counts = Counter((a.job, a.op) for a in assignments)
    by_key: dict[tuple[int, int], Assignment] = {}
    for a in assignments:
        key = (a.job, a.op)
        if not (0 <= a.job < len(problem.jobs) and 0 <= a.op < len(problem.jobs[a.job].operations)):
            add("unknown", a, f"job {a.job} has no operation {a.op}")
            continue
        if counts[key] > 1 and key in by_key:
            add("duplicate", a, f"job {a.job} operation {a.op} is scheduled {counts[key]} times")
            continue
        by_key[key] = a

    for j, job in enumerate(problem.jobs):
        previous_end: int | None = None
        previous_lag = 0
        for k, op in enumerate(job.operations):
            found_a = by_key.get((j, k))
            if found_a is None:
                add("missing", (j, k), f"job {j} operation {k} is not scheduled")
                previous_end = None
                continue
            a = found_a
            durations = [alt.duration for alt in op.alternatives if alt.machine == a.machine]
            if not durations:
                add("ineligible", a, f"job {j} op {k} cannot run on machine {a.machine}")
            begins = a.start + a.setup  # processing starts after the changeover
            if begins < job.release or a.start < 0 or a.setup < 0:
                add("release", a, f"job {j} op {k} starts at {begins} before {job.release}")
            if previous_end is not None and begins < previous_end:
                add("precedence", a, f"job {j} op {k} starts at {begins} before op {k - 1} ends")
            elif previous_end is not None and begins < previous_end + previous_lag:
                add(
                    "lag",
                    a,
                    f"job {j} op {k} starts {begins - previous_end} after op {k - 1} ends, "
                    f"less than its lag {previous_lag}",
                )
            previous_end, previous_lag = a.end, op.lag_after
            if problem.horizon is not None and a.end > problem.horizon:
                add("horizon", a, f"job {j} op {k} ends at {a.end} after {problem.horizon}")
            spanned = 0
            for ds, de in down.get(a.machine, []):
                if a.end <= a.start:
                    break  # zero-length operations take no machine time
                if a.start < de and ds < a.end:  # the operation's window meets the downtime
                    inside = a.start >= ds or a.end <= de
                    if inside:
                        add("downtime", a, f"job {j} op {k} runs inside downtime [{ds}, {de})")
                    elif not op.may_span_break:
                        add("spans_break", a, f"job {j} op {k} spans downtime [{ds}, {de})")
                    spanned += min(a.end, de) - max(a.start, ds)
            if durations:
                expected = [a.setup + d + (spanned if op.may_span_break else 0) for d in durations]
                if a.end - a.start not in expected:
                    add(
                        "duration",
                        a,
                        f"job {j} op {k} lasts {a.end - a.start}, expected {expected[0]}",
                    )

    per_machine: dict[int, list[Assignment]] = {}
    for a in by_key.values():
        if a.end > a.start:
            per_machine.setdefault(a.machine, []).append(a)
    listed = {(s.machine, s.before, s.after): s.duration for s in problem.setups}
    initial = dict(problem.initial_family)

    def family(job: int) -> str:
        return problem.jobs[job].family or f"#job{job}"

    def required_setup(machine: int, before: str | None, a: Assignment) -> int:
        own = next(
            (
                alt.setup
                for alt in problem.jobs[a.job].operations[a.op].alternatives
                if alt.machine == machine
            ),
            0,
        )
        after = family(a.job)
        if before is None:
            return own
        if (machine, before, after) in listed:
            return listed[(machine, before, after)]
        return 0 if before == after else own

    for machine, items in per_machine.items():
        items.sort(key=lambda a: (a.start, a.end))
        before = initial.get(machine)
        for a in items:
            need = required_setup(machine, before, a)
            if a.setup < need:
                add(
                    "setup",
                    a,
                    f"machine {machine}: job {a.job} op {a.op} has a changeover of {a.setup}, "
                    f"needs {need} after family {before!r}",
                )
            before = family(a.job)
        latest = items[0]
        for a in items[1:]:
            if a.start < latest.end:
                add(
                    "overlap",
                    a,
                    f"machine {machine}: job {a.job} op {a.op} overlaps job {latest.job} "
                    f"op {latest.op}",
                )
            if a.end > latest.end:
                latest = a
    return CheckResult(tuple(found))
