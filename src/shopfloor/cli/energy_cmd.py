"""`shopfloor energy report | power`: energy per good part and machine power from the lake."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shopfloor.cli.output import JsonOption, LakeOption, console, frame_table, print_json, records

app = typer.Typer(
    help="Energy: kWh and energy cost per good part, machine power (see docs/energy.md).",
    no_args_is_help=True,
)

TimeOption = Annotated[
    str | None,
    typer.Option(help="Only data from this time on (ISO 8601, UTC when no offset is given)."),
]
UntilOption = Annotated[
    str | None,
    typer.Option(help="Only data before this time (ISO 8601, UTC when no offset is given)."),
]


@app.command("report")
def report_command(
    by: Annotated[str, typer.Option(help="Group by asset, line or product.")] = "asset",
    start: TimeOption = None,
    end: UntilOption = None,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """kWh and energy cost (time-of-use tariff) per good part by asset, line or product.

    Power is the signal of kind 'power' of each machine, else energy.power_signal (A)
    converted with energy.voltage_v and energy.power_factor; good parts of a line or a
    product are counted where they leave the line.
    """
    from shopfloor.errors import InputError
    from shopfloor.workflows import energy as workflow
    from shopfloor.workflows import open_lake

    if by not in ("asset", "line", "product"):
        raise InputError(f"--by must be asset, line or product, not '{by}'", field="by")
    opened = open_lake(lake)
    result = workflow.energy_report(opened, start=start, end=end)
    frame = result.frame(by)
    summary: dict[str, Any] = {
        "total_kwh": result.total_kwh,
        "good": result.good,
        "kwh_per_good": result.kwh_per_good,
        "unallocated_kwh": result.unallocated_kwh,
        "cost": result.cost,
        "currency": result.currency,
    }
    if json:
        print_json({"by": by, **summary, "rows": records(frame)})
        return
    currency = result.currency or ""
    shown = frame.copy()
    for column, digits in (("kwh_per_good", 3), ("cost_per_good", 4)):
        if column in shown:  # a part takes a fraction of a kWh: one decimal hides it
            shown[column] = [f"{v:.{digits}f}" for v in shown[column]]
    console.print(frame_table(shown, f"energy per good part by {by} (cost in {currency})"))
    cost = "" if result.cost is None else f", energy cost {result.cost:,.2f} {currency}"
    console.print(
        f"total {result.total_kwh:,.1f} kWh for {result.good:,.0f} good parts leaving the lines"
        f" = {result.kwh_per_good:.3f} kWh per good part{cost}",
        highlight=False,
    )


@app.command("power")
def power_command(
    start: TimeOption = None,
    end: UntilOption = None,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Mean kW of each machine while running and while idle (starved, blocked, changeover)."""
    from shopfloor.workflows import energy as workflow
    from shopfloor.workflows import open_lake

    result = workflow.machine_power_from_lake(open_lake(lake), start=start, end=end)
    if json:
        print_json(records(result.frame))
        return
    console.print(frame_table(result.frame, "machine power (kW) by state"))
