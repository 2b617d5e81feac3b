"""`shopfloor dq check | repair`: data-quality reports and repairs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from shopfloor.cli.output import (
    BackendOption,
    JsonOption,
    LakeOption,
    console,
    print_json,
    steps,
)

if TYPE_CHECKING:
    from shopfloor.workflows.data_quality import QualityReport

# Workflows import the analytics stack (pandas, scipy, duckdb): load them only when a
# command runs, so `shopfloor --help` stays instant.

app = typer.Typer(help="Data quality: check readings, report, repair.", no_args_is_help=True)


def summary_table(report: QualityReport) -> Table:
    from shopfloor.workflows.data_quality import ALL_CHECKS

    table = Table(title=f"data quality of '{report.table}' ({report.assets} assets)")
    table.add_column("check")
    table.add_column("issues", justify="right")
    table.add_column("rows", justify="right")
    table.add_column("worst", justify="left")
    for check in ALL_CHECKS:
        found = [i for i in report.issues if i.check == check]
        worst = max(found, key=lambda i: i.rows).detail if found else ""
        table.add_row(check, str(len(found)), f"{sum(i.rows for i in found):,}", worst[:70])
    return table


@app.command("check")
def check_command(
    table: Annotated[str, typer.Option(help="Readings table to check.")] = "readings",
    check: Annotated[
        list[str] | None, typer.Option("--check", help="Run only these checks (repeatable).")
    ] = None,
    asset: Annotated[
        list[str] | None, typer.Option("--asset", help="Only these assets (repeatable).")
    ] = None,
    html: Annotated[Path | None, typer.Option(help="Also write an HTML report here.")] = None,
    lake: LakeOption = None,
    json: JsonOption = False,
    backend: BackendOption = None,
) -> None:
    """Run the data-quality checks and report every issue found.

    Checks: missing, gap, out_of_range, stuck, spike, duplicate, out_of_order,
    future_timestamp, unit_shift, stale.
    """
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.data_quality import ALL_CHECKS, check_quality, issues_html

    store = open_lake(lake)
    with steps(enabled=not json) as progress:
        task = progress.add_task("checking assets", total=None)

        def advance(_: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = check_quality(store, table, check or ALL_CHECKS, asset, advance, backend)
    if html is not None:
        html.write_text(issues_html(list(report.issues), report.scores), encoding="utf-8")
    if json:
        print_json([i.to_dict() for i in report.issues])
        return
    console.print(summary_table(report))
    if not report.scores.empty:
        worst = report.scores.sort_values("score").head(5)
        console.print(
            "lowest quality scores: "
            + ", ".join(f"{r.asset}/{r.signal} {r.score:.0f}" for r in worst.itertuples())
        )
    if html is not None:
        console.print(f"HTML report: {html}")


@app.command("repair")
def repair_command(
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy", help="dedupe, interpolate, clip, unit_shift (repeatable; default all)."
        ),
    ] = None,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Write repaired readings as a new version of 'readings_clean'; raw readings stay."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.data_quality import repair_quality

    store = open_lake(lake)
    policies = tuple(policy) if policy else ("dedupe", "interpolate", "clip", "unit_shift")
    with steps(enabled=not json) as progress:
        task = progress.add_task("repairing assets", total=None)
        summary = repair_quality(
            store, policies, lambda _, d, t: progress.update(task, completed=d, total=t)
        )
    totals = (
        summary.actions.groupby("policy")["rows"].sum().to_dict()
        if not summary.actions.empty
        else {}
    )
    if json:
        print_json(
            {
                "table_version": summary.table_version,
                "rows": summary.rows,
                "actions": {str(k): int(v) for k, v in totals.items()},
            }
        )
        return
    console.print(f"readings_clean version {summary.table_version}: {summary.rows:,} rows")
    for action, rows in totals.items():
        console.print(f"  {action}: {int(rows):,} rows")
