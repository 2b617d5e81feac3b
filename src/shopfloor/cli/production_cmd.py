"""`shopfloor oee` and `shopfloor production pareto | reliability | bottleneck`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from shopfloor.cli.output import JsonOption, LakeOption, console, print_json

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(
    help="Production analytics: losses, reliability, bottlenecks.", no_args_is_help=True
)


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(lambda t: t.isoformat() if pd.notna(t) else None)
    return out.to_dict(orient="records")  # type: ignore[return-value]


def _table(frame: pd.DataFrame, title: str, percent: tuple[str, ...] = ()) -> Table:
    import pandas as pd

    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="left" if frame[column].dtype == object else "right")
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            if column in percent and isinstance(value, float):
                cells.append(f"{value:.1%}")
            elif isinstance(value, float):
                cells.append(f"{value:,.1f}")
            elif isinstance(value, pd.Timestamp):
                cells.append(value.strftime("%Y-%m-%d %H:%M"))
            else:
                cells.append(str(value))
        table.add_row(*cells)
    return table


def oee_command(
    by: Annotated[str, typer.Option(help="Group by asset, line or site.")] = "asset",
    period: Annotated[str, typer.Option(help="Bucket by shift, day or week.")] = "day",
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """OEE = availability x performance x quality per group and period.

    Planned downtime (planned stops, planned maintenance) is excluded from the planned
    production time; see docs/production.md for the exact definitions.
    """
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import production as workflow

    result = workflow.oee(open_lake(lake), by=by, period=period)  # type: ignore[arg-type]
    frame = result.frame
    if json:
        print_json(_records(frame))
        return
    shown = frame[
        ["group", "period_start", "availability", "performance", "quality", "oee", "good", "scrap"]
    ]
    console.print(
        _table(
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
        print_json(_records(frame))
        return
    console.print(_table(frame, "downtime by reason", ("share", "cumulative_share")))


@app.command("reliability")
def reliability_command(lake: LakeOption = None, json: JsonOption = False) -> None:
    """Failures, MTBF and MTTR per asset."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import production as workflow

    frame = workflow.reliability(open_lake(lake))
    if json:
        print_json(_records(frame))
        return
    console.print(_table(frame, "reliability"))


@app.command("bottleneck")
def bottleneck_command(lake: LakeOption = None, json: JsonOption = False) -> None:
    """Bottleneck of each line by the active-period method."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import production as workflow

    result = workflow.bottlenecks(open_lake(lake))
    frame = result.frame
    if json:
        print_json(_records(frame))
        return
    console.print(_table(frame, "bottlenecks (active-period method)"))
