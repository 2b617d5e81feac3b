"""Finite-capacity scheduling on OR-Tools CP-SAT.

Model (one per :class:`Problem`):

- each operation has a start and an end variable; each eligible alternative an
  interval on those variables, optional (with a presence literal) when there are
  several, exactly one present;
- route order ``end[j, k] <= start[j, k + 1]``; starts not before the job's release;
- one ``AddNoOverlap`` per machine over its operations' intervals and its downtimes as
  fixed intervals.  An operation that may span a break holds the machine through it
  (elapsed time = duration + the downtime spanned, three-way literal per downtime:
  before / after / spanning), so it is kept out of the no-overlap with the downtimes
  but still in one with the other operations;
- zero-length operations stay out of the no-overlaps (they take no machine time;
  CP-SAT would otherwise forbid them strictly inside another interval);
- objective: makespan, total weighted tardiness, or ``mix_weight * makespan +
  (1 - mix_weight) * weighted tardiness`` (scaled to integers).

Quality levers over the textbook model: the best dispatch rule's schedule as the warm
start (its makespan is the horizon, a valid upper bound when minimising the makespan,
and it is the answer if CP-SAT finds nothing better in time), the trivial lower bound on
the makespan variable, and CP-SAT's stronger no-overlap reasoning
(``use_strong_propagation_in_disjunctive``, ``use_dynamic_precedence_in_disjunctive``) on
shops with at most ``STRONG_DISJUNCTIVE_MAX_OPS`` operations per machine.
The ``plain`` mode switches all of them off: the comparison baseline of the benchmark.

The warm start is *not* passed to CP-SAT as a solution hint by default (``hint=True``
does): measured at 60 s on 2 workers, the hint was neutral on 15 x 15 and 20 x 20
Taillard instances (ta01, ta03, ta21) and harmful from 30 x 15 up (ta31: 1782 with the
hint, 1766 without; a random 100 x 20 instance: 5737 with, 5596 without, the plain model
5582): CP-SAT's neighbourhood search then stays near the dispatch schedule's structure.
Rescheduling hints the previous schedule on purpose (stability is the point there).

Operations that fit in no availability window of any eligible machine before the
horizon are refused up front with an :class:`InputError` naming the operation, rather
than reported as a bare "infeasible" after the time limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from shopfloor.errors import InputError, ModelError
from shopfloor.estimators import Estimator
from shopfloor.planning.changeovers import ChangeoverModel
from shopfloor.planning.checker import check_schedule
from shopfloor.planning.dispatch import RULES, Rule, best_dispatch, dispatch
from shopfloor.planning.problem import (
    Assignment,
    Problem,
    makespan_of,
    weighted_tardiness_of,
)
from shopfloor.planning.schedule import Schedule, Status, relative_gap

OBJECTIVES = ("makespan", "weighted_tardiness", "mix")
WARM_STARTS = ("best", *RULES, "none")
# Stronger disjunctive reasoning only up to this many operations on the busiest machine.
# Measured at 60 s on 2 workers: it helps up to 30 per machine (ta01-ta40: 1.23 % mean gap
# against 2.20 % for the plain model; a random 30 x 20 shop 1964 with it, 1998 without) and
# ruins 50 per machine (a random 50 x 20 shop: 3400 with it, 2974 without, 3097 plain).
STRONG_DISJUNCTIVE_MAX_OPS = 40
# Deterministic mode: CP-SAT's deterministic time per second of the requested limit.
# Measured with interleaved search on 2 workers (ta21, ta31): 0.29-0.38 units per wall
# second, so a 60 s request ends after about 60 s; the wall clock only stops a run that
# takes more than three times as long (the machine is loaded).
DTIME_PER_SECOND = 0.33
DETERMINISTIC_WALL_FACTOR = 3.0
# Integer scale of the mix objective's weights (CP-SAT objectives are integral).
MIX_SCALE = 1000


@dataclass
class _AltVars:
    machine: int
    present: Any  # presence literal, None when it is the only alternative
    held: Any  # when the machine is taken: the changeover's start
    setup: Any  # changeover variable, or the int 0 on machines without setups


@dataclass
class _OpVars:
    start: Any  # processing start
    end: Any
    alternatives: list[_AltVars]


def _load_cp_model() -> Any:
    try:
        from ortools.sat.python import cp_model
    except ImportError as exc:  # pragma: no cover - ortools is a core dependency here
        from shopfloor.errors import MissingExtraError

        raise MissingExtraError("ortools", "planning") from exc
    return cp_model


def _gaps(breaks: tuple[tuple[int, int], ...], lo: int, hi: int) -> list[tuple[int, int]]:
    """Available windows of a machine within ``[lo, hi]``."""
    out: list[tuple[int, int]] = []
    t = lo
    for start, end in breaks:
        if end <= t:
            continue
        if start > t:
            out.append((t, min(start, hi)))
        t = max(t, end)
        if t >= hi:
            break
    if t < hi:
        out.append((t, hi))
    return [(a, b) for a, b in out if b > a]


def _fits(problem: Problem, machine: int, duration: int, span: bool, lo: int, hi: int) -> bool:
    if duration == 0:
        return lo <= hi
    windows = _gaps(problem.breaks(machine), lo, hi)
    if span:
        return sum(b - a for a, b in windows) >= duration
    return any(b - a >= duration for a, b in windows)


def busiest_machine(problem: Problem) -> int:
    """Most operations (of positive length) that may run on one machine."""
    counts = [0] * problem.n_machines
    for _, _, op in problem.operations():
        for a in op.alternatives:
            if a.duration > 0:
                counts[a.machine] += 1
    return max(counts)


class CpSatScheduler(Estimator):
    """CP-SAT job-shop / flexible job-shop scheduler.

    Hyperparameters: ``objective`` ("makespan", "weighted_tardiness", "mix"),
    ``mix_weight`` (weight of the makespan in "mix"), ``time_limit_s``, ``workers``,
    ``seed``, ``warm_start`` (the dispatch rule of the warm start: "best", "spt",
    "mwkr", "atc" or "none"), ``hint`` (also pass it to CP-SAT as a solution hint) and
    ``deterministic`` (the same schedule for the same problem, seed and workers, on any
    machine: interleaved search under a deterministic-time budget; slower per second
    than the default parallel portfolio, whose result depends on thread timing) and
    ``plain`` (the textbook model with default parameters: no warm start, no tightened
    horizon or bound).
    ``solve(problem)`` returns a :class:`Schedule` and keeps it in ``schedule_``.
    """

    def __init__(
        self,
        *,
        objective: str = "makespan",
        mix_weight: float = 0.5,
        time_limit_s: float = 60.0,
        workers: int = 2,
        seed: int = 0,
        warm_start: str = "best",
        hint: bool = False,
        deterministic: bool = False,
        plain: bool = False,
    ) -> None:
        self.objective = objective
        self.mix_weight = mix_weight
        self.time_limit_s = time_limit_s
        self.workers = workers
        self.seed = seed
        self.warm_start = warm_start
        self.hint = hint
        self.deterministic = deterministic
        self.plain = plain

    # --- public ----------------------------------------------------------------------

    def solve(self, problem: Problem) -> Schedule:
        self._validate_params()
        began = time.perf_counter()
        cp_model = _load_cp_model()

        warm_rule, warm = self._warm_start(problem)
        horizon = self._horizon(problem, warm)
        self._check_calendar_fit(problem, horizon)

        model = cp_model.CpModel()
        ops = self._build(model, problem, horizon)
        objective, scale, makespan_var = self._objective(model, problem, ops, horizon)
        model.minimize(self._extend(model, problem, ops, objective, scale))
        # A warm start that breaks the problem (a repair's previous schedule across a new
        # breakdown) may still guide the search as a hint, but is never the answer.
        usable = (
            warm is not None
            and makespan_of(warm) <= horizon
            and check_schedule(problem, warm).feasible
        )
        if warm is not None and self.hint:
            self._hint(model, problem, ops, warm, makespan_var)

        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = float(self.time_limit_s)
        if self.deterministic:
            # Reproducible: workers take turns in fixed batches (interleaved search) and
            # the budget is CP-SAT's deterministic time, not the wall clock.  The wall
            # limit stays as a safety net only (hitting it loses reproducibility).
            solver.parameters.interleave_search = True
            solver.parameters.max_deterministic_time = DTIME_PER_SECOND * self.time_limit_s
            solver.parameters.max_time_in_seconds = DETERMINISTIC_WALL_FACTOR * self.time_limit_s
        solver.parameters.num_workers = int(self.workers)
        solver.parameters.random_seed = int(self.seed)
        if not self.plain and busiest_machine(problem) <= STRONG_DISJUNCTIVE_MAX_OPS:
            # Stronger no-overlap reasoning: with 2 workers the proof of optimality comes
            # from the single full-problem worker, and these cut ft10's proof from 30-60 s
            # (seed-dependent) to about 2 s.  Its cost grows with the operations per
            # machine: see STRONG_DISJUNCTIVE_MAX_OPS.
            solver.parameters.use_strong_propagation_in_disjunctive = True
            solver.parameters.use_dynamic_precedence_in_disjunctive = True
        code = solver.solve(model)
        name = solver.status_name(code)
        if name == "MODEL_INVALID":  # a bug in this module, never the user's input
            raise ModelError(f"CP-SAT rejected the model: {model.validate()}")

        status: Status
        bound: float | None = None
        assignments: tuple[Assignment, ...] = ()
        source = "cpsat"
        if name in ("OPTIMAL", "FEASIBLE"):
            status = "optimal" if name == "OPTIMAL" else "feasible"
            assignments = self._extract(solver, ops)
            bound = solver.best_objective_bound / scale
        elif name == "INFEASIBLE":
            status = "infeasible"
        else:
            status = "unknown"
            bound = solver.best_objective_bound / scale
            if warm is not None and usable:
                # The time ran out before CP-SAT found a schedule: keep the warm start.
                status, assignments, source = "feasible", warm, f"dispatch:{warm_rule}"
        self.warm_rule_ = warm_rule if usable else None
        self.schedule_ = self._result(
            problem, assignments, status, bound, time.perf_counter() - began, source
        )
        return self.schedule_

    # --- steps -----------------------------------------------------------------------

    def _validate_params(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ModelError(
                f"unknown objective {self.objective!r}: use one of {', '.join(OBJECTIVES)}"
            )
        if self.warm_start not in WARM_STARTS:
            raise ModelError(
                f"unknown warm_start {self.warm_start!r}: use one of {', '.join(WARM_STARTS)}"
            )
        if not 0.0 <= self.mix_weight <= 1.0:
            raise ModelError("mix_weight must lie in [0, 1]")
        if self.time_limit_s <= 0 or self.workers < 1:
            raise ModelError("time_limit_s must be > 0 and workers >= 1")

    def _cost(self, problem: Problem, assignments: tuple[Assignment, ...]) -> float:
        makespan = makespan_of(assignments)
        if self.objective == "makespan":
            return float(makespan)
        tardiness = weighted_tardiness_of(problem, assignments)
        if self.objective == "weighted_tardiness":
            return float(tardiness)
        return self.mix_weight * makespan + (1.0 - self.mix_weight) * tardiness

    def _warm_start(self, problem: Problem) -> tuple[Rule | None, tuple[Assignment, ...] | None]:
        if self.plain or self.warm_start == "none":
            return None, None
        if self.warm_start == "best":
            rule, warm = best_dispatch(problem, lambda a: self._cost(problem, a))
            return rule, warm
        rule = next(r for r in RULES if r == self.warm_start)
        return rule, dispatch(problem, rule)

    def _horizon(self, problem: Problem, warm: tuple[Assignment, ...] | None) -> int:
        if problem.horizon is not None:
            return problem.horizon
        loose = problem.upper_horizon()
        if warm is not None and self.objective == "makespan":
            # Any optimal schedule is no longer than a feasible one.
            return min(loose, makespan_of(warm))
        if warm is not None:
            return max(loose, makespan_of(warm))
        return loose

    def _check_calendar_fit(self, problem: Problem, horizon: int) -> None:
        for j, k, op in problem.operations():
            release = problem.jobs[j].release
            if not any(
                _fits(problem, a.machine, a.duration, op.may_span_break, release, horizon)
                for a in op.alternatives
            ):
                machines = ", ".join(str(a.machine) for a in op.alternatives)
                raise InputError(
                    f"job {j} operation {k} (duration {op.min_duration}) fits in no "
                    f"availability window of machine(s) {machines} between its release "
                    f"{release} and the horizon {horizon}",
                    source=problem.name or "problem",
                )

    def _build(self, model: Any, problem: Problem, horizon: int) -> dict[tuple[int, int], _OpVars]:
        ops: dict[tuple[int, int], _OpVars] = {}
        # Per machine: intervals that must avoid downtime, and those that may span it.
        strict: dict[int, list[Any]] = {m: [] for m in range(problem.n_machines)}
        spanning: dict[int, list[Any]] = {m: [] for m in range(problem.n_machines)}
        changeover = ChangeoverModel(model, problem, horizon)
        for j, job in enumerate(problem.jobs):
            previous: tuple[Any, int] | None = None  # end and lag of the previous operation
            for k, op in enumerate(job.operations):
                start = model.new_int_var(job.release, horizon, f"s{j}_{k}")
                end = model.new_int_var(job.release, horizon, f"e{j}_{k}")
                feasible_alts = [
                    a
                    for a in op.alternatives
                    if _fits(
                        problem, a.machine, a.duration, op.may_span_break, job.release, horizon
                    )
                ]
                single = len(feasible_alts) == 1
                alts: list[_AltVars] = []
                for a in feasible_alts:
                    present = None if single else model.new_bool_var(f"p{j}_{k}_{a.machine}")
                    # The machine is held from `held` (the changeover's start) to `end`.
                    held, setup = changeover.add(j, k, a, start, end, present)
                    base = a.duration if isinstance(setup, int) else setup + a.duration
                    longest = a.duration + (
                        0 if isinstance(setup, int) else changeover.longest(a.machine, j, a)
                    )
                    breaks = problem.breaks(a.machine)
                    if op.may_span_break and breaks and a.duration > 0:
                        size = self._spanning_size(
                            model, held, end, (base, a.duration, longest), breaks, present, horizon
                        )
                        interval = self._interval(model, held, size, end, present)
                        spanning[a.machine].append(interval)
                    elif a.duration > 0:
                        interval = self._interval(model, held, base, end, present)
                        strict[a.machine].append(interval)
                    else:
                        self._interval(model, start, 0, end, present)
                    alts.append(_AltVars(a.machine, present, held, setup))
                if not single:
                    model.add_exactly_one([alt.present for alt in alts])
                if previous is not None:
                    model.add(start >= previous[0] + previous[1])
                previous = (end, op.lag_after)
                ops[(j, k)] = _OpVars(start, end, alts)
        changeover.add_sequences()
        for m in range(problem.n_machines):
            downtime = [
                model.new_fixed_size_interval_var(s, e - s, f"down{m}_{s}")
                for s, e in problem.breaks(m)
                if s < horizon
            ]
            if spanning[m]:
                model.add_no_overlap(strict[m] + spanning[m])
                if downtime and strict[m]:
                    model.add_no_overlap(strict[m] + downtime)
            elif len(strict[m]) + (1 if downtime else 0) > 1:
                model.add_no_overlap(strict[m] + downtime)
        return ops

    @staticmethod
    def _interval(model: Any, start: Any, size: Any, end: Any, present: Any) -> Any:
        if present is None:
            return model.new_interval_var(start, size, end, "")
        return model.new_optional_interval_var(start, size, end, present, "")

    @staticmethod
    def _spanning_size(
        model: Any,
        start: Any,
        end: Any,
        base: tuple[Any, int, int],  # changeover + duration, and its least and largest value
        breaks: tuple[tuple[int, int], ...],
        present: Any,
        horizon: int,
    ) -> Any:
        """Elapsed time of an operation suspended across the downtimes it spans."""
        covered = []
        for bs, be in breaks:
            if bs >= horizon:
                break
            before = model.new_bool_var("")
            after = model.new_bool_var("")
            cover = model.new_bool_var("")
            if present is None:
                model.add_exactly_one([before, after, cover])
            else:
                model.add(before + after + cover == 1).only_enforce_if(present)
            model.add(end <= bs).only_enforce_if(before)
            model.add(start >= be).only_enforce_if(after)
            # Spanning: processing starts before and resumes after the downtime.
            model.add(start <= bs - 1).only_enforce_if(cover)
            model.add(end >= be + 1).only_enforce_if(cover)
            covered.append((cover, be - bs))
        work, least, largest = base
        size = model.new_int_var(least, largest + sum(n for _, n in covered), "")
        model.add(size == work + sum(c * n for c, n in covered))
        return size

    def _objective(
        self, model: Any, problem: Problem, ops: dict[tuple[int, int], _OpVars], horizon: int
    ) -> tuple[Any, float, Any]:
        """The objective expression, its integer scale and the makespan variable."""
        horizon_ub = horizon
        job_ends = []
        for j, job in enumerate(problem.jobs):
            if job.operations:
                job_ends.append((j, ops[(j, len(job.operations) - 1)].end))
        makespan = model.new_int_var(0, max(horizon_ub, 0), "makespan")
        model.add_max_equality(makespan, [e for _, e in job_ends] or [0])
        if not self.plain:
            model.add(makespan >= min(problem.trivial_lower_bound(), max(horizon_ub, 0)))
        if self.objective == "makespan":
            return makespan, 1.0, makespan
        tardiness = []
        for j, end in job_ends:
            job = problem.jobs[j]
            if job.due is None or job.weight == 0:
                continue
            late = model.new_int_var(0, max(0, horizon_ub - job.due), f"t{j}")
            model.add(late >= end - job.due)
            tardiness.append(job.weight * late)
        # With no due date at all the tardiness is the constant 0 (any schedule is optimal).
        total = sum(tardiness) if tardiness else 0 * makespan
        if self.objective == "weighted_tardiness":
            return total, 1.0, makespan
        a = round(self.mix_weight * MIX_SCALE)
        return a * makespan + (MIX_SCALE - a) * total, float(MIX_SCALE), makespan

    def _extend(
        self,
        model: Any,
        problem: Problem,
        ops: dict[tuple[int, int], _OpVars],
        objective: Any,
        scale: float,
    ) -> Any:
        """Hook for subclasses: extra constraints and objective terms (rescheduling)."""
        return objective

    @staticmethod
    def _hint(
        model: Any,
        problem: Problem,
        ops: dict[tuple[int, int], _OpVars],
        warm: tuple[Assignment, ...],
        makespan: Any,
    ) -> None:
        for a in warm:
            v = ops[(a.job, a.op)]
            model.add_hint(v.start, a.process_start)
            model.add_hint(v.end, a.end)
            for alt in v.alternatives:
                if alt.present is not None:
                    model.add_hint(alt.present, alt.machine == a.machine)
                if alt.machine == a.machine and not isinstance(alt.setup, int):
                    model.add_hint(alt.setup, a.setup)
                    model.add_hint(alt.held, a.start)
        model.add_hint(makespan, makespan_of(warm))

    @staticmethod
    def _extract(solver: Any, ops: dict[tuple[int, int], _OpVars]) -> tuple[Assignment, ...]:
        out = []
        for (j, k), v in sorted(ops.items()):
            alt = next(
                a for a in v.alternatives if a.present is None or solver.boolean_value(a.present)
            )
            setup = alt.setup if isinstance(alt.setup, int) else solver.value(alt.setup)
            start = solver.value(v.start) - setup
            out.append(Assignment(j, k, alt.machine, start, solver.value(v.end), setup))
        return tuple(out)

    def _result(
        self,
        problem: Problem,
        assignments: tuple[Assignment, ...],
        status: Status,
        bound: float | None,
        seconds: float,
        source: str,
    ) -> Schedule:
        if assignments:
            check = check_schedule(problem, assignments)
            objective: float | None = self._cost(problem, assignments)
            makespan: int | None = makespan_of(assignments)
        else:
            check, objective, makespan = None, None, None
        return Schedule(
            instance=problem.name,
            objective_name=self.objective,
            assignments=assignments,
            makespan=makespan,
            objective=objective,
            lower_bound=bound,
            gap=relative_gap(objective, bound),
            status=status,
            seconds=seconds,
            feasible=check.feasible if check is not None else False,
            violations=check.violations if check is not None else (),
            source=source,
        )


class PlainCpSatScheduler(CpSatScheduler):
    """The textbook interval + no-overlap model with default parameters (the baseline)."""

    def __init__(
        self,
        *,
        objective: str = "makespan",
        mix_weight: float = 0.5,
        time_limit_s: float = 60.0,
        workers: int = 2,
        seed: int = 0,
    ) -> None:
        super().__init__(
            objective=objective,
            mix_weight=mix_weight,
            time_limit_s=time_limit_s,
            workers=workers,
            seed=seed,
            warm_start="none",
            plain=True,
        )
