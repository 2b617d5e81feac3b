"""`shopfloor value`: what the analytics are worth a year, and the payback period."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shopfloor.cli.output import JsonOption, LakeOption, console, print_json

if TYPE_CHECKING:
    from rich.table import Table

    from shopfloor.workflows.value import ValueReport


def _money(value: float | None, currency: str) -> str:
    return "–" if value is None else f"{value:,.0f} {currency}"


def _levers(report: ValueReport) -> Table:
    from rich.table import Table

    table = Table(title=f"Value a year, per lever ({report.currency})", show_lines=True)
    table.add_column("lever")
    table.add_column("quantity", justify="right")
    table.add_column("money a year", justify="right")
    table.add_column("measured performance it rests on", ratio=1)
    for lever in report.levers:
        if lever.measured:
            quantity = f"{lever.quantity:,.1f} {lever.unit}"
            money = _money(lever.money, report.currency)
        else:
            quantity, money = "[yellow]not measured[/]", "–"
        table.add_row(lever.title, quantity, money, lever.metric)
    return table


def _totals(report: ValueReport) -> Table:
    from rich.table import Table

    table = Table(title="Payback", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    counted = len(report.measured)
    table.add_row(
        f"benefit a year ({counted} of {len(report.levers)} levers measured)",
        _money(report.annual_benefit, report.currency),
    )
    table.add_row("running cost a year", _money(-report.running_cost, report.currency))
    table.add_row("[bold]net a year[/]", f"[bold]{_money(report.net_annual, report.currency)}[/]")
    table.add_row("investment (once)", _money(report.investment, report.currency))
    months = report.payback_months
    table.add_row(
        "[bold]payback[/]",
        "[bold]never (the net is not positive)[/]"
        if months is None
        else f"[bold]{months:,.1f} months[/]",
    )
    return table


def value_command(lake: LakeOption = None, json: JsonOption = False) -> None:
    """Downtime, maintenance cost, scrap and inventory a year in money, and the payback.

    Each lever rests on the plant's own history and one model's measured performance:
    the stored alerts backtested against the failures, the SPC charts against the
    out-of-spec measurements, the inventory policies replayed on the demand. A lever
    without a measurement is shown as not measured and adds nothing. Costs are the
    ``value`` settings (docs/value.md, docs/configuration.md).
    """
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.value import value_report

    report = value_report(open_lake(lake))
    if json:
        print_json(report.to_dict())
        return
    console.print(_levers(report))
    for lever in report.levers:
        if lever.measured:
            console.print(
                f"[bold]{lever.title}[/]: {lever.evidence} [dim]({lever.source})[/]",
                highlight=False,
            )
    console.print(_totals(report))
    console.print("[dim]Assumptions:[/]")
    for line in report.assumptions:
        console.print(f"[dim]- {line}[/]", highlight=False)
