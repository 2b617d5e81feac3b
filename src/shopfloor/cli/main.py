"""The `shopfloor` command line: a thin adapter over the workflows."""

from __future__ import annotations

import sys

import typer

from shopfloor import __version__
from shopfloor.cli import (
    access_cmd,
    batch_cmd,
    benchmark_cmd,
    demo_cmd,
    dq_cmd,
    edge_cmd,
    energy_cmd,
    lake_cmd,
    maintenance_cmd,
    model_loop_cmd,
    production_cmd,
    quality_cmd,
    schedule_cmd,
    serve_cmd,
    simulate_cmd,
    stream_cmd,
    supply_cmd,
    twin_cmd,
)
from shopfloor.cli.ingest_cmd import ingest_command
from shopfloor.cli.output import err_console
from shopfloor.cli.value_cmd import value_command
from shopfloor.errors import ShopfloorError

app = typer.Typer(
    name="shopfloor",
    help="A factory's data, checked, versioned and turned into decisions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("demo")(demo_cmd.demo_command)
app.command("batch")(batch_cmd.batch_command)
app.command("ingest")(ingest_command)
app.add_typer(dq_cmd.app, name="dq")
app.add_typer(quality_cmd.app, name="quality")
app.command("oee")(production_cmd.oee_command)
app.add_typer(production_cmd.app, name="production")
app.add_typer(lake_cmd.app, name="lake")
model_loop_cmd.register(maintenance_cmd.app)
app.add_typer(maintenance_cmd.app, name="maintenance")
app.add_typer(maintenance_cmd.models_app, name="models")
app.add_typer(schedule_cmd.app, name="schedule")
app.add_typer(supply_cmd.app, name="supply")
app.add_typer(benchmark_cmd.app, name="benchmark")
app.add_typer(energy_cmd.app, name="energy")
app.command("serve")(serve_cmd.serve_command)
app.command("stream")(stream_cmd.stream_command)
app.command("simulate")(simulate_cmd.simulate_command)
app.add_typer(edge_cmd.app, name="edge")
app.add_typer(access_cmd.users_app, name="users")
app.add_typer(access_cmd.audit_app, name="audit")
app.command("value")(value_command)
app.add_typer(twin_cmd.app, name="twin")
app.command("plan")(twin_cmd.plan_command)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"shopfloor {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """shopfloor: plant data lake, data quality, OEE and the analytics built on them."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and their exit code (2 for input)."""
    # Standalone mode: usage errors are reported by typer with exit code 2.
    try:
        app(args=argv, prog_name="shopfloor")
    except ShopfloorError as exc:
        err_console.print(f"error: {exc}", highlight=False, soft_wrap=True, markup=False)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
