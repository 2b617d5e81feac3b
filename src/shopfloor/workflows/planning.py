"""Planning on the lake: a finite-capacity schedule of the open orders, stored and repaired.

:func:`plan` builds the problem (:mod:`shopfloor.workflows.planning_problem`: orders,
routings, progress, calendar, maintenance), solves it with CP-SAT, refuses a schedule the
independent checker does not pass, and appends it to the ``schedules`` table under a new
``schedule_id``.  :func:`reschedule_lake` loads the latest stored schedule, rebuilds its
problem at the stored origin, and repairs it for a machine breakdown or rush orders
(:func:`shopfloor.planning.reschedule.reschedule`); the repair is stored as a new
schedule naming its parent.  Times in the lake are UTC timestamps; inside, minutes from
the schedule's origin.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from shopfloor.errors import InputError, ModelError
from shopfloor.lake import Lake
from shopfloor.planning.calendar import interval_downtimes, minutes_from
from shopfloor.planning.cpsat import OBJECTIVES, CpSatScheduler
from shopfloor.planning.instances import problem_to_json
from shopfloor.planning.problem import Assignment, Problem
from shopfloor.planning.schedule import Schedule
from shopfloor.planning.utilisation import machine_loads
from shopfloor.schema import TABLES
from shopfloor.workflows.gantt import GanttFiles, write_gantt
from shopfloor.workflows.planning_problem import (
    OperationRef,
    PlanningProblem,
    build_problem,
    default_origin,
    order_status,
    utc,
)

__all__ = [
    "OperationRef",
    "PlanResult",
    "PlanningProblem",
    "RescheduleResult",
    "StoredSchedule",
    "build_problem",
    "export_problem",
    "latest_schedule",
    "load_schedule",
    "parse_duration",
    "plan",
    "reschedule_lake",
    "scheduler_for",
    "utc",
    "write_problem",
    "write_schedule_gantt",
]


@dataclass(frozen=True)
class _SolverOptions:
    objective: str
    time_limit_s: float
    workers: int
    seed: int


def _options(
    lake: Lake,
    objective: str | None,
    time_limit_s: float | None,
    workers: int | None,
    seed: int | None,
) -> _SolverOptions:
    settings = lake.settings.planning
    options = _SolverOptions(
        objective if objective is not None else settings.objective,
        time_limit_s if time_limit_s is not None else settings.time_limit_s,
        workers if workers is not None else settings.workers,
        seed if seed is not None else settings.seed,
    )
    if options.objective not in OBJECTIVES:
        raise InputError(
            f"unknown objective '{options.objective}': use one of {', '.join(OBJECTIVES)}",
            field="objective",
        )
    if options.time_limit_s <= 0:
        raise InputError("must be positive", field="time_limit")
    if options.workers < 1:
        raise InputError("must be at least 1", field="workers")
    return options


def parse_duration(value: str | timedelta, field: str) -> pd.Timedelta:
    """A positive duration such as ``4h``, ``90min`` or ``1 day``; bad text names ``field``."""
    try:
        duration = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise InputError(
            f"cannot read '{value}' as a duration (e.g. 4h, 90min)", field=field
        ) from None
    if pd.isna(duration) or duration <= pd.Timedelta(0):
        raise InputError(f"'{value}' is not a positive duration", field=field)
    return duration


def _require_feasible(schedule: Schedule, horizon_days: float) -> None:
    """Only a schedule the independent checker passed may reach the lake."""
    if not schedule.assignments:
        why = (
            f"the open orders cannot fit in the {horizon_days:g}-day horizon with this "
            "calendar and maintenance (raise planning.horizon_days)"
            if schedule.status == "infeasible"
            else f"none found within {schedule.seconds:.0f} s (raise --time-limit or "
            "planning.time_limit_s, or planning.horizon_days)"
        )
        raise InputError(f"no schedule: {why}; nothing stored", field="orders")
    if not schedule.feasible:
        first = schedule.violations[0].message if schedule.violations else "unchecked"
        raise ModelError(
            f"the solver's schedule fails the independent check ({len(schedule.violations)} "
            f"violation(s), first: {first}); nothing stored"
        )


def utilisation_frame(
    planning: PlanningProblem, assignments: tuple[Assignment, ...]
) -> pd.DataFrame:
    """Per machine: available, busy and setup minutes in the horizon, their shares."""
    loads = machine_loads(planning.problem, assignments)
    return pd.DataFrame(
        {
            "machine": [planning.machines[x.machine] for x in loads],
            "available_min": [x.available for x in loads],
            "busy_min": [x.busy for x in loads],
            "setup_min": [x.setup for x in loads],
            "utilisation": [x.utilisation for x in loads],
            "setup_share": [x.setup_share for x in loads],
        }
    )


def order_frame(planning: PlanningProblem, assignments: tuple[Assignment, ...]) -> pd.DataFrame:
    """Per order: first start, finish, due and minutes late."""
    by_job: dict[int, list[Assignment]] = {}
    for a in assignments:
        by_job.setdefault(a.job, []).append(a)
    rows = []
    for j, mine in sorted(by_job.items()):
        job = planning.problem.jobs[j]
        finish = max(a.end for a in mine)
        rows.append(
            {
                "order": planning.orders[j],
                "item": planning.items[j],
                "start": planning.time(min(a.start for a in mine)),
                "finish": planning.time(finish),
                "due": None if job.due is None else planning.time(job.due),
                "late_min": 0 if job.due is None else max(0, finish - job.due),
            }
        )
    return pd.DataFrame(rows, columns=["order", "item", "start", "finish", "due", "late_min"])


Breakdown = tuple[str, pd.Timestamp, pd.Timestamp]  # machine, start, end


def _store(
    lake: Lake,
    planning: PlanningProblem,
    schedule: Schedule,
    reason: str,
    parent_id: str | None = None,
    breakdowns: tuple[Breakdown, ...] = (),
) -> tuple[str, pd.DataFrame]:
    """Append the schedule's operations under a new id; returns the id and the rows.

    A repair's breakdowns are stored with it: they are not in any lake table, and a
    later repair must rebuild the same downtimes to read this schedule back.
    """
    created = pd.Timestamp.now(tz="UTC")
    schedule_id = f"{created:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    rows = planning.assignments_frame(schedule.assignments)
    rows.insert(0, "schedule_id", schedule_id)
    rows.insert(1, "parent_id", parent_id)
    rows.insert(2, "created_at", created)
    rows.insert(3, "origin", planning.origin)
    rows["objective"] = schedule.objective_name
    rows["objective_value"] = schedule.objective
    rows["status"] = schedule.status
    rows["lower_bound"] = schedule.lower_bound
    rows["reason"] = reason
    rows["breakdowns"] = (
        json.dumps(
            [{"machine": m, "start": a.isoformat(), "end": b.isoformat()} for m, a, b in breakdowns]
        )
        if breakdowns
        else None
    )
    schema = TABLES["schedules"].schema
    table = pa.Table.from_pandas(rows[schema.names], schema=schema, preserve_index=False)
    lake.write("schedules", table, operation="plan" if parent_id is None else "reschedule")
    return schedule_id, rows[schema.names]


@dataclass(frozen=True)
class PlanResult:
    schedule_id: str
    planning: PlanningProblem
    schedule: Schedule
    rows: pd.DataFrame  # the stored rows
    orders: pd.DataFrame  # order_frame
    utilisation: pd.DataFrame  # utilisation_frame


def scheduler_for(
    lake: Lake,
    *,
    objective: str | None = None,
    time_limit_s: float | None = None,
    workers: int | None = None,
    seed: int | None = None,
) -> CpSatScheduler:
    """The CP-SAT scheduler with the planning settings, each overridable."""
    options = _options(lake, objective, time_limit_s, workers, seed)
    return CpSatScheduler(
        objective=options.objective,
        time_limit_s=options.time_limit_s,
        workers=options.workers,
        seed=options.seed,
    )


def plan(
    lake: Lake,
    *,
    objective: str | None = None,
    time_limit_s: float | None = None,
    workers: int | None = None,
    seed: int | None = None,
    origin: datetime | str | None = None,
    horizon_days: int | None = None,
    include_maintenance: bool = True,
    planning: PlanningProblem | None = None,
) -> PlanResult:
    """Schedule the lake's open orders from ``origin`` (default now) and store the plan.

    ``planning`` is a problem already built by :func:`build_problem` (the CLI builds it
    first to export it even when it cannot be solved); the build arguments are then unused.
    """
    scheduler = scheduler_for(
        lake, objective=objective, time_limit_s=time_limit_s, workers=workers, seed=seed
    )
    if planning is None:
        planning = build_problem(
            lake, origin=origin, horizon_days=horizon_days, include_maintenance=include_maintenance
        )
    schedule = scheduler.solve(planning.problem)
    _require_feasible(schedule, _days(planning.problem))
    schedule_id, rows = _store(lake, planning, schedule, "plan")
    return PlanResult(
        schedule_id,
        planning,
        schedule,
        rows,
        order_frame(planning, schedule.assignments),
        utilisation_frame(planning, schedule.assignments),
    )


def write_schedule_gantt(
    planning: PlanningProblem, schedule: Schedule, schedule_id: str, directory: Path | str
) -> GanttFiles:
    """``<directory>/<schedule_id>.html`` and ``.png`` of a schedule with its downtimes."""
    title = (
        f"schedule {schedule_id} from {planning.origin:%Y-%m-%d %H:%M} UTC "
        f"({schedule.objective_name} {schedule.objective:g}, {schedule.status})"
    )
    return write_gantt(
        directory,
        schedule_id,
        planning.assignments_frame(schedule.assignments),
        planning.downtime_frame(),
        planning.machines,
        title,
    )


def _days(problem: Problem) -> float:
    return (problem.horizon or 0) / (24 * 60)


def export_problem(planning: PlanningProblem) -> str:
    """The problem as a shopfloor JSON document (``schedule solve --format shopfloor``)."""
    return problem_to_json(
        planning.problem,
        machines=planning.machines,
        operation_names=[
            [f"{r.op_seq} {r.name}".strip() for r in ops] for ops in planning.operations
        ],
        unit="minute",
        origin=planning.origin.isoformat(),
    )


def write_problem(planning: PlanningProblem, path: Path | str) -> Path:
    """:func:`export_problem` into ``path`` (parent folders created)."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(export_problem(planning), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", source=str(target)) from None
    return target


# --- stored schedules -------------------------------------------------------------------


@dataclass(frozen=True)
class StoredSchedule:
    schedule_id: str
    parent_id: str | None
    created_at: pd.Timestamp
    origin: pd.Timestamp
    objective: str
    objective_value: float | None
    status: str
    lower_bound: float | None
    reason: str
    rows: pd.DataFrame  # one row per operation, the table's columns
    breakdowns: tuple[Breakdown, ...] = ()  # what a repair worked around

    @property
    def orders(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.rows["order"].astype(str))))


def _optional(value: Any) -> Any:
    return None if value is None or pd.isna(value) else value


def load_schedule(lake: Lake, schedule_id: str | None = None) -> StoredSchedule:
    """A stored schedule (default: the latest); InputError when there is none."""
    if lake.version("schedules") is None:
        raise InputError("no schedule in the lake yet: run `shopfloor schedule plan`")
    if schedule_id is None:
        pick = (
            "(SELECT schedule_id FROM schedules ORDER BY created_at DESC, schedule_id DESC LIMIT 1)"
        )
        params: list[Any] = []
    else:
        pick, params = "?", [schedule_id]
    rows = lake.sql(
        f"SELECT * FROM schedules WHERE schedule_id = {pick} ORDER BY machine, start", params
    )
    if rows.empty:
        raise InputError(f"no schedule '{schedule_id}' in the lake", field="schedule_id")
    for column in ("created_at", "origin", "start", "end", "setup_end"):
        rows[column] = pd.to_datetime(rows[column], utc=True)
    first = rows.iloc[0]
    return StoredSchedule(
        schedule_id=str(first["schedule_id"]),
        parent_id=_optional(first["parent_id"]),
        created_at=pd.Timestamp(first["created_at"]),
        origin=pd.Timestamp(first["origin"]),
        objective=str(first["objective"]),
        objective_value=_optional(first["objective_value"]),
        status=str(first["status"]),
        lower_bound=_optional(first["lower_bound"]),
        reason=str(first["reason"]),
        rows=rows,
        breakdowns=tuple(
            (str(b["machine"]), utc(b["start"], "breakdowns"), utc(b["end"], "breakdowns"))
            for b in json.loads(_optional(first["breakdowns"]) or "[]")
        ),
    )


def latest_schedule(lake: Lake) -> StoredSchedule | None:
    """The most recently stored schedule, or None when the lake has none."""
    if lake.version("schedules") is None:
        return None
    return load_schedule(lake)


# --- repair -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RescheduleResult:
    schedule_id: str
    parent_id: str
    reason: str
    planning: PlanningProblem  # the repaired problem (breakdown and rush orders in it)
    schedule: Schedule
    moves: pd.DataFrame  # order, op_seq, operation, change, old/new machine and start
    frozen: int  # operations already started at `now`, kept as they were
    kept_share: float
    rows: pd.DataFrame
    orders: pd.DataFrame
    utilisation: pd.DataFrame


def reschedule_lake(
    lake: Lake,
    *,
    machine_down: tuple[str, datetime | str, timedelta | str] | None = None,
    rush_orders: list[str] | tuple[str, ...] = (),
    now: datetime | str | None = None,
    objective: str | None = None,
    time_limit_s: float | None = None,
    workers: int | None = None,
    seed: int | None = None,
    stability_weight: float | None = None,
    schedule_id: str | None = None,
) -> RescheduleResult:
    """Repair the latest stored schedule (or ``schedule_id``) and store the repair.

    ``machine_down`` is ``(machine, at, duration)``; ``rush_orders`` are open orders of
    the lake not in the schedule, added as new jobs.  ``now`` (default: the current
    time) separates what has started, and stays, from what may move.
    """
    # Imported here: the repair module is newer than this one (and loads OR-Tools).
    from shopfloor.planning.reschedule import (  # type: ignore[import-not-found,unused-ignore]
        MachineDown,
        RushOrder,
        reschedule,
    )

    if machine_down is None and not rush_orders:
        raise InputError("nothing to repair: give a machine breakdown or rush orders")
    options = _options(lake, objective, time_limit_s, workers, seed)
    stored = load_schedule(lake, schedule_id)
    planned = set(stored.orders)
    again = sorted(set(rush_orders) & planned)
    if again:
        raise InputError(
            f"order {', '.join(again)} is already in schedule {stored.schedule_id}",
            field="rush",
        )
    # One build for the planned and the rush orders, so their machines share one index.
    wanted = _still_open(lake, sorted(planned | set(rush_orders)), rush_orders)
    if not set(wanted) & planned:
        raise InputError(
            f"every order of schedule {stored.schedule_id} is done since: nothing to repair "
            "(plan new orders with `shopfloor schedule plan`)",
            field="orders",
        )
    full = build_problem(lake, origin=stored.origin, orders=wanted)
    base_jobs = [j for j, order in enumerate(full.orders) if order in planned]
    rush_jobs = [j for j, order in enumerate(full.orders) if order not in planned]
    base = _subset(full, base_jobs, stored.breakdowns)
    previous = base.assignments_from(stored.rows)
    at = base.minutes(utc(now, "now")) if now is not None else base.minutes(default_origin())
    if not 0 <= at < (base.problem.horizon or 0):
        raise InputError(
            f"{base.time(at):%Y-%m-%d %H:%M} is outside schedule {stored.schedule_id}'s horizon "
            f"({base.origin:%Y-%m-%d %H:%M} + {_days(base.problem):g} days)",
            field="now",
        )
    disruptions: list[Any] = []
    words = []
    breakdowns = stored.breakdowns
    if machine_down is not None:
        name, when, length = machine_down
        if name not in base.machines:
            raise InputError(
                f"machine '{name}' is not in schedule {stored.schedule_id} "
                f"(machines: {', '.join(base.machines)})",
                field="down",
            )
        begin = utc(when, "at")
        span = parse_duration(length, "for")
        first = max(0, minutes_from(base.origin, begin))
        last = minutes_from(base.origin, begin + span, up=True)
        if last <= first:
            raise InputError(f"the breakdown ends before {base.origin}", field="at")
        disruptions.append(MachineDown(base.machines.index(name), first, last - first))
        breakdowns = (*breakdowns, (name, base.time(first), base.time(last)))
        words.append(f"{name} down {begin:%Y-%m-%d %H:%M} for {_hours(span)}")
    for j in rush_jobs:  # reschedule() releases them at `now` at the earliest
        disruptions.append(RushOrder(full.problem.jobs[j]))
        words.append(f"rush {full.orders[j]}")
    result = reschedule(
        base.problem,
        previous,
        now=at,
        disruptions=disruptions,
        objective=options.objective,
        time_limit_s=options.time_limit_s,
        workers=options.workers,
        seed=options.seed,
        stability_weight=stability_weight,
    )
    # Job k of the repaired problem is job k of [*base_jobs, *rush_jobs] in `full`.
    repaired = full.with_jobs([*base_jobs, *rush_jobs], result.problem)
    _require_feasible(result.schedule, _days(result.problem))
    reason = "reschedule: " + "; ".join(words)
    new_id, rows = _store(lake, repaired, result.schedule, reason, stored.schedule_id, breakdowns)
    return RescheduleResult(
        new_id,
        stored.schedule_id,
        reason,
        repaired,
        result.schedule,
        _moves_frame(repaired, result.moves),
        result.frozen,
        result.kept_share,
        rows,
        order_frame(repaired, result.schedule.assignments),
        utilisation_frame(repaired, result.schedule.assignments),
    )


def _hours(span: pd.Timedelta) -> str:
    return f"{span / pd.Timedelta(hours=1):g} h"


def _still_open(lake: Lake, wanted: list[str], rush: list[str] | tuple[str, ...]) -> list[str]:
    """The wanted orders not done since; a rush order that is done or unknown is an error."""
    status = order_status(lake)
    bad = [o for o in rush if status.get(o, "done") == "done"]
    if bad:
        raise InputError(f"no open order {', '.join(sorted(bad))} in the lake", field="rush")
    return [o for o in wanted if status.get(o, "done") != "done"]


def _subset(
    planning: PlanningProblem, jobs: list[int], breakdowns: tuple[Breakdown, ...]
) -> PlanningProblem:
    """The problem of ``jobs`` only, with the breakdowns an earlier repair worked around."""
    problem = planning.problem
    horizon = problem.horizon or 0
    extra = interval_downtimes(
        [
            (planning.machines.index(m), a, b, "breakdown")
            for m, a, b in breakdowns
            if m in planning.machines  # a machine no routing uses any more runs nothing
        ],
        planning.origin,
        horizon,
    )
    subset = dataclasses.replace(
        problem,
        jobs=tuple(problem.jobs[j] for j in jobs),
        downtimes=(*problem.downtimes, *extra),
    )
    return planning.with_jobs(jobs, subset)


def _moves_frame(planning: PlanningProblem, moves: Any) -> pd.DataFrame:
    rows = []
    for move in moves:
        ref: OperationRef = planning.operations[move.job][move.op]
        rows.append(
            {
                "order": planning.orders[move.job],
                "op_seq": ref.op_seq,
                "operation": ref.name,
                "change": move.change,
                "old_machine": None
                if move.old_machine is None
                else planning.machines[move.old_machine],
                "new_machine": planning.machines[move.new_machine],
                "old_start": None if move.old_start is None else planning.time(move.old_start),
                "new_start": planning.time(move.new_start),
            }
        )
    columns = [
        "order", "op_seq", "operation", "change", "old_machine", "new_machine", "old_start",
        "new_start",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
