"""`shopfloor supply suppliers`: supply planning on the lake (issue 5).

Reads ``demand``, ``inventory``, ``items`` and ``deliveries`` through
:mod:`shopfloor.workflows.supply`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shopfloor.cli.output import JsonOption, LakeOption, console, frame_table, print_json, records

app = typer.Typer(
    help="Supply planning: demand, stock and suppliers (see issue 5).",
    no_args_is_help=True,
)


@app.callback()
def supply() -> None:
    """Supply planning on the lake's demand, inventory and deliveries."""


# Short headers: the table fits 100 columns (JSON keeps the full field names).
_HEADERS = {
    "open_lines": "open",
    "lead_time_mean_d": "lead",
    "lead_time_sd_d": "lead sd",
    "lead_time_p90_d": "lead p90",
    "quantity_accuracy": "qty acc",
}
_SHARES = ("on_time", "in_full", "otif", "qty acc")


@app.command("suppliers")
def suppliers_command(
    lake: LakeOption = None,
    tolerance: Annotated[
        float | None,
        typer.Option(
            "--tolerance",
            help="A delivery within this share of the ordered quantity counts as in full "
            "(default: supply.in_full_tolerance).",
            show_default=False,
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Supplier scorecards: OTIF, on time, in full, lead times and quantity accuracy."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import supply as workflow

    cards = workflow.supplier_scorecards(open_lake(lake), tolerance=tolerance)
    frame = cards.table.reset_index()
    if json:
        print_json(
            {
                "tolerance": cards.tolerance,
                "deliveries_version": cards.version,
                "suppliers": records(frame),
            }
        )
        return
    in_full = (
        f"in full within ±{cards.tolerance:.0%}" if cards.tolerance else "in full: exact quantity"
    )
    title = (
        f"supplier scorecards: {int(frame['lines'].sum())} received lines, {in_full}, "
        "lead times in days"
    )
    console.print(frame_table(frame.rename(columns=_HEADERS), title, _SHARES))
