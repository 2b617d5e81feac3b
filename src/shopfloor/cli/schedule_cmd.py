"""`shopfloor schedule solve`: job-shop instances solved with CP-SAT, checked independently."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopfloor.cli.output import JsonOption, console, print_json

app = typer.Typer(
    help="Production scheduling with OR-Tools CP-SAT (see issue 4).",
    no_args_is_help=True,
)


@app.callback()
def schedule() -> None:
    """Finite-capacity scheduling: solve benchmark instances (more to come: plan, reschedule)."""


@app.command("solve")
def solve_command(
    files: Annotated[list[Path], typer.Argument(help="Instance files.", show_default=False)],
    format: Annotated[
        str | None,
        typer.Option("--format", help="taillard | jsplib (default: detected per file)."),
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
