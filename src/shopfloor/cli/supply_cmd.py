"""`shopfloor supply ...`: supply planning on the lake (issue 5).

``suppliers`` reads ``deliveries`` through :mod:`shopfloor.workflows.supply`;
``forecast``, ``policy`` and ``reorder`` run :mod:`shopfloor.workflows.supply_planning`
(which stores ``forecasts`` and ``policies``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shopfloor.cli.output import (
    BackendOption,
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
    from rich.table import Table

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


def _done(message: str) -> None:
    """A "what I did" line on stderr (a terminal only): stdout stays the result."""
    if err_console.is_terminal:
        err_console.print(f"[dim]{message}[/dim]")


HorizonOption = Annotated[
    int | None,
    typer.Option(
        "--horizon",
        help="Periods to forecast (default: supply.horizon_periods).",
        show_default=False,
    ),
]


@app.command("forecast")
def forecast_command(
    lake: LakeOption = None,
    horizon: HorizonOption = None,
    json: JsonOption = False,
    backend: BackendOption = None,
) -> None:
    """Forecast demand per item and location; store it in the `forecasts` table."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import supply_planning as workflow

    result = workflow.forecast_lake(open_lake(lake), horizon=horizon, backend=backend)
    _done(
        f"forecast {result.forecast_id}: {len(result.series)} series, {result.horizon} "
        f"{result.period}s from {result.history_end} (demand version {result.demand_version}), "
        "stored in 'forecasts'"
    )
    if json:
        print_json(
            {
                "forecast_id": result.forecast_id,
                "period": result.period,
                "horizon": result.horizon,
                "starts": list(result.starts),
                "demand_version": result.demand_version,
                "series": records(result.series),
                "rows": records(result.rows.drop(columns=["forecast_id", "created_at"])),
            }
        )
        return
    frame = result.series.rename(
        columns={"demand_class": "class", "silence": "P(none)", "mean": "mean/period"}
    )
    title = (
        f"demand forecast: {result.horizon} {result.period}s from {result.history_end}, "
        f"per {result.period} (mean and 90 % quantile)"
    )
    console.print(frame_table(frame, title, ("P(none)",)))


@app.command("policy")
def policy_command(
    lake: LakeOption = None,
    fill_rate: Annotated[
        float | None,
        typer.Option(
            "--fill-rate",
            help="Target share of demand served from stock (default: supply.fill_rate).",
            show_default=False,
        ),
    ] = None,
    service_level: Annotated[
        float | None,
        typer.Option(
            "--service-level",
            help="Target cycle service level instead: probability of no stock-out per cycle.",
            show_default=False,
        ),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="sQ (reorder point, lot), sS (min-max) or RS (periodic order-up-to) "
            "(default: supply.policy_kind).",
            show_default=False,
        ),
    ] = None,
    horizon: HorizonOption = None,
    json: JsonOption = False,
) -> None:
    """Forecast, then design an inventory policy per item and location; store both."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import supply_planning as workflow

    store = open_lake(lake)
    # Checked before the forecast runs: a bad option fails at once.
    workflow.check_policy_options(store, kind, fill_rate, service_level)
    forecast = workflow.forecast_lake(store, horizon=horizon)
    _done(f"forecast {forecast.forecast_id}: {len(forecast.series)} series, stored in 'forecasts'")
    result = workflow.design_lake_policies(
        store, forecast=forecast, kind=kind, fill_rate=fill_rate, service_level=service_level
    )
    target = f"{result.target.kind.replace('_', ' ')} {result.target.level:.1%}"
    _done(
        f"policies {result.policy_id}: {len(result.policies)} {result.kind} policies for "
        f"{target}, stored in 'policies'"
        + (f"; {result.no_policy} series without one (see note)" if result.no_policy else "")
    )
    if result.fallback_suppliers:
        _done(
            "no received delivery from "
            + ", ".join(result.fallback_suppliers)
            + f": lead time {store.settings.supply.default_lead_time_days:g} days assumed "
            "(supply.default_lead_time_days)"
        )
    if json:
        print_json(
            {
                "policy_id": result.policy_id,
                "forecast_id": result.forecast_id,
                "kind": result.kind,
                "target": {"kind": result.target.kind, "level": result.target.level},
                "fallback_suppliers": list(result.fallback_suppliers),
                "policies": records(
                    result.rows.drop(columns=["policy_id", "created_at", "forecast_id"])
                ),
            }
        )
        return
    columns = {
        "item": "item",
        "location": "location",
        "supplier": "supplier",
        "reorder_point": "s",
        "order_quantity": "Q",
        "order_up_to": "S",
        "demand_mean": "demand",
        "lead_time_mean": "lead",
        "expected_fill_rate": "fill",
        "expected_csl": "csl",
        "expected_on_hand": "on hand",
        "expected_cost": "cost",
    }
    frame = result.rows[list(columns)].rename(columns=columns)
    frame = frame.astype({"s": "Int64", "Q": "Int64", "S": "Int64"}).dropna(axis=1, how="all")
    title = (
        f"{result.kind} policies for {target}, per {result.period} "
        f"(demand and lead time in {result.period}s)"
    )
    console.print(frame_table(frame, title, ("fill", "csl")))


@app.command("reorder")
def reorder_command(lake: LakeOption = None, json: JsonOption = False) -> None:
    """What to order now: the latest stock positions against the policies in force."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows import reorder as workflow

    result = workflow.reorder_list(open_lake(lake))
    _done(
        f"{result.series_checked} series checked against policies {result.policy_id}: "
        f"{len(result.table)} to order"
    )
    if result.unstocked:
        _done(f"{len(result.unstocked)} series with a policy have no inventory snapshot")
    if result.unplanned:
        _done(f"{len(result.unplanned)} stocked series have no policy")
    if json:
        print_json(
            {
                "policy_id": result.policy_id,
                "period": result.period,
                "versions": result.versions,
                "orders": records(result.table),
            }
        )
        return
    title = (
        f"reorder now: {len(result.table)} of {result.series_checked} series "
        f"(cover in {result.period}s of expected demand)"
    )
    console.print(reorder_table(result.table, title))


def reorder_table(table: pd.DataFrame, title: str) -> Table:
    """The reorder list with short headers (also the demo's)."""
    frame = table.rename(columns={"reorder_point": "reorder at", "cover_periods": "cover"})
    return frame_table(frame, title)
