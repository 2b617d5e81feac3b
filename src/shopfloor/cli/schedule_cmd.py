"""`shopfloor schedule solve | plan | reschedule`: CP-SAT schedules, checked independently.

``solve`` reads instance files; ``plan`` schedules the lake's open orders and stores the
schedule; ``reschedule`` repairs the latest stored schedule after a breakdown or for rush
orders.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shopfloor.cli.output import (
    JsonOption,
    LakeOption,
    console,
    err_console,
    frame_table,
    print_json,
    records,
)

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(
    help="Production scheduling with OR-Tools CP-SAT (see issue 4).",
    no_args_is_help=True,
)


@app.callback()
def schedule() -> None:
    """Finite-capacity scheduling: benchmark files, the lake's orders, repairs."""


@app.command("solve")
def solve_command(
    files: Annotated[list[Path], typer.Argument(help="Instance files.", show_default=False)],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="taillard | jsplib | shopfloor (default: detected per file; .json: shopfloor).",
        ),
    ] = None,
    objective: Annotated[
        str, typer.Option(help="makespan | weighted_tardiness | mix.")
    ] = "makespan",
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds per instance.")] = 60.0,
    workers: Annotated[int, typer.Option(help="CP-SAT worker threads.")] = 2,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed.")] = 0,
    plain: Annotated[
        bool, typer.Option("--plain", help="Textbook model, default parameters (baseline).")
    ] = False,
    deterministic: Annotated[
        bool,
        typer.Option(
            "--deterministic",
            help="Same schedule for the same seed and workers on any machine (interleaved "
            "search on a deterministic-time budget; somewhat weaker per second).",
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Solve each instance; one line (or JSON object) per instance as it finishes."""
    from shopfloor.workflows.scheduling import solve_files

    results = solve_files(
        files,
        format=format,
        objective=objective,
        time_limit_s=time_limit,
        workers=workers,
        seed=seed,
        plain=plain,
        deterministic=deterministic,
    )
    for result in results:
        if json:
            print_json(result.as_dict())
            continue
        bound = "-" if result.lower_bound is None else f"{result.lower_bound:g}"
        gap = "-" if result.gap_to_bound is None else f"{result.gap_to_bound:.2f}%"
        console.print(
            f"{result.instance}: makespan {result.makespan} bound {bound} gap {gap} "
            f"{result.status} in {result.seconds:.1f}s, "
            f"{'feasible' if result.feasible else 'NOT FEASIBLE'}",
            highlight=False,
        )


ObjectiveOption = Annotated[
    str | None,
    typer.Option(help="makespan | weighted_tardiness | mix (default: planning.objective)."),
]
TimeLimitOption = Annotated[
    float | None,
    typer.Option("--time-limit", help="Solver seconds (default: planning.time_limit_s)."),
]
WorkersOption = Annotated[
    int | None, typer.Option(help="CP-SAT worker threads (default: planning.workers).")
]
SeedOption = Annotated[int | None, typer.Option(help="CP-SAT seed (default: planning.seed).")]
GanttOption = Annotated[
    Path | None,
    typer.Option(
        "--gantt", help="Write <schedule_id>.html and .png Gantt charts here.", show_default=False
    ),
]


def _say(message: str) -> None:
    if err_console.is_terminal:
        err_console.print(f"[dim]{message}[/dim]")


def _hours(frame: pd.DataFrame) -> pd.DataFrame:
    """Utilisation for people: hours, not minutes."""
    out = frame.copy()
    for column in ("available", "busy", "setup"):
        out[f"{column}_h"] = out.pop(f"{column}_min") / 60.0
    return out[["machine", "available_h", "busy_h", "setup_h", "utilisation", "setup_share"]]


def _late_hours(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["late_h"] = out.pop("late_min") / 60.0
    return out


def _summary(result: Any, schedule_id: str) -> dict[str, Any]:
    schedule = result.schedule
    return {
        "schedule_id": schedule_id,
        "origin": result.planning.origin,
        "objective": schedule.objective_name,
        "objective_value": schedule.objective,
        "lower_bound": schedule.lower_bound,
        "gap": schedule.gap,
        "status": schedule.status,
        "feasible": schedule.feasible,
        "seconds": round(schedule.seconds, 3),
        "finish": (None if schedule.makespan is None else result.planning.time(schedule.makespan)),
        "orders": records(result.orders),
        "utilisation": records(result.utilisation),
        "operations": records(result.rows[_OPERATION_COLUMNS]),
    }


_OPERATION_COLUMNS = [
    "order",
    "item",
    "op_seq",
    "operation",
    "machine",
    "start",
    "setup_end",
    "end",
]


def _gantt(result: Any, schedule_id: str, directory: Path | None) -> dict[str, str] | None:
    if directory is None:
        return None
    from shopfloor.workflows.planning import write_schedule_gantt

    _say("drawing the Gantt chart")
    files = write_schedule_gantt(result.planning, result.schedule, schedule_id, directory)
    return {"html": str(files.html), "png": str(files.png)}


def _print_tables(result: Any) -> None:
    console.print(frame_table(_late_hours(result.orders), "orders"))
    console.print(
        frame_table(_hours(result.utilisation), "machines", ("utilisation", "setup_share"))
    )


@app.command("plan")
def plan_command(
    lake: LakeOption = None,
    objective: ObjectiveOption = None,
    time_limit: TimeLimitOption = None,
    workers: WorkersOption = None,
    seed: SeedOption = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Plan origin, UTC (default: now).", show_default=False),
    ] = None,
    gantt: GanttOption = None,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            help="Also write the problem as shopfloor JSON (re-solve with `schedule solve`).",
            show_default=False,
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Schedule the lake's open orders on their machines and store the schedule."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import planning as workflow

    origin = workflow.utc(start, "--from") if start is not None else None
    store = open_lake(lake)
    _say("building the problem from orders, routings, calendar and maintenance")
    problem = workflow.build_problem(store, origin=origin)
    if export is not None:
        # Written before solving: a problem that cannot be solved is the one to look at.
        workflow.write_problem(problem, export)
    _say(f"solving {problem.problem.n_operations} operations on {len(problem.machines)} machines")
    result = workflow.plan(
        store,
        objective=objective,
        time_limit_s=time_limit,
        workers=workers,
        seed=seed,
        planning=problem,
    )
    files = _gantt(result, result.schedule_id, gantt)
    if json:
        payload = _summary(result, result.schedule_id)
        payload |= {"complete": list(problem.complete), "gantt": files, "export": export}
        print_json(payload)
        return
    s = result.schedule
    bound = "-" if s.lower_bound is None else f"{s.lower_bound:g}"
    console.print(
        f"schedule [bold]{result.schedule_id}[/bold]: {len(problem.orders)} orders, "
        f"{problem.problem.n_operations} operations on {len(problem.machines)} machines "
        f"from {problem.origin:%Y-%m-%d %H:%M} UTC; {s.objective_name} {s.objective:g} "
        f"(bound {bound}); solver: {s.status} in {s.seconds:.1f} s; independent check: passed",
        highlight=False,
    )
    if problem.complete:
        console.print(f"already made, not planned: {', '.join(problem.complete)}")
    _print_tables(result)
    if files:
        console.print(f"gantt: {files['html']}, {files['png']}")
    if export is not None:
        console.print(f"problem exported to {export}")


@app.command("reschedule")
def reschedule_command(
    lake: LakeOption = None,
    down: Annotated[
        str | None,
        typer.Option(
            "--down", help="Machine that broke down (with --at, --for).", show_default=False
        ),
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When it stopped, UTC.", show_default=False)
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option("--for", help="How long it is down, e.g. 4h, 90min.", show_default=False),
    ] = None,
    rush: Annotated[
        list[str] | None,
        typer.Option("--rush", help="Open order to add (repeat for several).", show_default=False),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now", help="What started before this stays (UTC; default: now).", show_default=False
        ),
    ] = None,
    objective: ObjectiveOption = None,
    stability_weight: Annotated[
        float | None,
        typer.Option(
            "--stability-weight",
            help="What one moved operation is worth in objective minutes (default: the mean "
            "operation length; 0 re-optimises freely).",
            show_default=False,
        ),
    ] = None,
    time_limit: TimeLimitOption = None,
    workers: WorkersOption = None,
    seed: SeedOption = None,
    gantt: GanttOption = None,
    json: JsonOption = False,
) -> None:
    """Repair the latest stored schedule for a breakdown or rush orders; store the repair."""
    from shopfloor.errors import InputError
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import planning as workflow

    given = {"--at": at, "--for": duration}
    if down is None and any(v is not None for v in given.values()):
        raise InputError("--at and --for describe a breakdown: give --down too", field="--down")
    if down is not None:
        missing = [name for name, value in given.items() if value is None]
        if missing:
            raise InputError(f"a breakdown needs {' and '.join(missing)}", field=missing[0])
    if down is None and not rush:
        raise InputError("give a breakdown (--down, --at, --for) or --rush orders", field="--down")
    machine_down = None
    if down is not None:  # checked above: --at and --for are given with --down
        machine_down = (
            down,
            workflow.utc(str(at), "--at"),
            workflow.parse_duration(str(duration), "--for"),
        )
    moment = workflow.utc(now, "--now") if now is not None else None
    _say("repairing the latest schedule")
    result = workflow.reschedule_lake(
        open_lake(lake),
        machine_down=machine_down,
        rush_orders=list(rush or []),
        now=moment,
        objective=objective,
        stability_weight=stability_weight,
        time_limit_s=time_limit,
        workers=workers,
        seed=seed,
    )
    files = _gantt(result, result.schedule_id, gantt)
    changes = result.moves["change"].value_counts().to_dict()
    if json:
        payload = _summary(result, result.schedule_id)
        payload |= {
            "parent_id": result.parent_id,
            "reason": result.reason,
            "frozen": result.frozen,
            "kept_share": result.kept_share,
            "changes": changes,
            "moves": records(result.moves),
            "gantt": files,
        }
        print_json(payload)
        return
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(changes.items())) or "none"
    console.print(
        f"schedule [bold]{result.schedule_id}[/bold] repairs {result.parent_id} "
        f"({result.reason}): {len(result.moves)} operations changed ({counts}), "
        f"{result.frozen} already started and kept, {result.kept_share:.0%} of the "
        f"unaffected operations kept their machine and order; "
        f"{result.schedule.objective_name} {result.schedule.objective:g}; "
        "independent check: passed",
        highlight=False,
    )
    moves = result.moves.astype(object).where(result.moves.notna(), "-")  # "-": new operation
    console.print(frame_table(moves, "changes"))
    _print_tables(result)
    if files:
        console.print(f"gantt: {files['html']}, {files['png']}")
