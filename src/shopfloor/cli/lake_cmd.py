"""`shopfloor lake info | compact | vacuum | lineage`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from shopfloor.cli.output import JsonOption, LakeOption, console, print_json

app = typer.Typer(help="Inspect and maintain the lake.", no_args_is_help=True)


@app.command("info")
def info_command(lake: LakeOption = None, json: JsonOption = False) -> None:
    """Tables, versions, rows, files and size on disk."""
    from shopfloor.workflows import lake_admin, open_lake

    result = lake_admin.info(open_lake(lake))
    if json:
        print_json(
            {
                "path": str(result.path),
                "ingests": result.ingests,
                "tables": [t.__dict__ for t in result.tables],
            }
        )
        return
    table = Table(title=f"lake {result.path} ({result.ingests} ingests)")
    for column in ("table", "storage", "version", "rows", "files", "MB"):
        table.add_column(column, justify="left" if column in ("table", "storage") else "right")
    for t in result.tables:
        table.add_row(
            t.name,
            t.storage,
            "" if t.version is None else str(t.version),
            f"{t.rows:,}",
            str(t.files),
            f"{t.bytes / 1e6:.1f}",
        )
    console.print(table)


@app.command("compact")
def compact_command(
    table: Annotated[str | None, typer.Option(help="Only this table.")] = None,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Merge small files into larger ones (a new table version; readers keep working)."""
    from shopfloor.workflows import lake_admin, open_lake

    result = lake_admin.compact(open_lake(lake), table)
    if json:
        print_json(result)
        return
    for name, figures in result.items():
        console.print(
            f"{name}: version {figures['version']}, {figures['files_removed']} files "
            f"merged into {figures['files_added']}"
        )


@app.command("vacuum")
def vacuum_command(
    table: Annotated[str | None, typer.Option(help="Only this table.")] = None,
    retention_hours: Annotated[
        float,
        typer.Option(
            help="Keep files needed by versions younger than this (time travel ends there)."
        ),
    ] = 168.0,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Delete data files that no retained table version needs."""
    from shopfloor.workflows import lake_admin, open_lake

    result = lake_admin.vacuum(open_lake(lake), table, retention_hours)
    if json:
        print_json(result)
        return
    for name, removed in result.items():
        console.print(f"{name}: {removed} files removed")


@app.command("lineage")
def lineage_command(
    limit: Annotated[int, typer.Option(help="Most recent ingests to show.")] = 20,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Recent ingests: source, checksum, rows accepted / quarantined, resulting versions."""
    from shopfloor.workflows import lake_admin, open_lake

    rows = lake_admin.lineage(open_lake(lake), limit)
    if json:
        print_json(rows)
        return
    table = Table(title="ingest lineage")
    for column in ("id", "source", "table", "status", "accepted", "quarantined", "version"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["source"],
            r["table_name"],
            r["status"],
            str(r["accepted"] or 0),
            str(r["quarantined"] or 0),
            "" if r["table_version"] is None else str(r["table_version"]),
        )
    console.print(table)
