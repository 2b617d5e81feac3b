"""`shopfloor oee` and `shopfloor production pareto | reliability | bottleneck`."""

from __future__ import annotations

from typing import Annotated

import typer

from shopfloor.cli.output import (
    BackendOption,
    JsonOption,
    LakeOption,
    console,
    frame_table,
    print_json,
    records,
)

app = typer.Typer(
    help="Production analytics: losses, reliability, bottlenecks.", no_args_is_help=True
)


def oee_command(
    by: Annotated[str, typer.Option(help="Group by asset, line or site.")] = "asset",
    period: Annotated[str, typer.Option(help="Bucket by shift, day or week.")] = "day",
    lake: LakeOption = None,
    json: JsonOption = False,
    backend: BackendOption = None,
) -> None:
    """OEE = availability x performance x quality per group and period.

    Planned downtime (planned stops, planned maintenance) is excluded from the planned
    production time; see docs/production.md for the exact definitions.
    """
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import production as workflow

    result = workflow.oee(
        open_lake(lake),
        by=by,  # type: ignore[arg-type]
        period=period,  # type: ignore[arg-type]
        backend=backend,
    )
    frame = result.frame
    if json:
        print_json(records(frame))
        return
    shown = frame[
        ["group", "period_start", "availability", "performance", "quality", "oee", "good", "scrap"]
    ]
    console.print(
        frame_table(
            shown, f"OEE by {by} and {period}", ("availability", "performance", "quality", "oee")
        )
    )


@app.command("pareto")
def pareto_command(lake: LakeOption = None, json: JsonOption = False) -> None:
    """Downtime Pareto: unplanned stop time by reason, largest first."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import production as workflow

    frame = workflow.downtime_pareto(open_lake(lake))
    if json:
        print_json(records(frame))
        return
    console.print(frame_table(frame, "downtime by reason", ("share", "cumulative_share")))


@app.command("reliability")
def reliability_command(lake: LakeOption = None, json: JsonOption = False) -> None:
    """Failures, MTBF and MTTR per asset."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import production as workflow

    frame = workflow.reliability(open_lake(lake))
    if json:
        print_json(records(frame))
        return
    console.print(frame_table(frame, "reliability"))


@app.command("bottleneck")
def bottleneck_command(lake: LakeOption = None, json: JsonOption = False) -> None:
    """Bottleneck of each line by the active-period method."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import production as workflow

    result = workflow.bottlenecks(open_lake(lake))
    frame = result.frame
    if json:
        print_json(records(frame))
        return
    console.print(frame_table(frame, "bottlenecks (active-period method)"))
