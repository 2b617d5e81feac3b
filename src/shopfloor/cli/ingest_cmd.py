"""`shopfloor ingest`: bring files into the lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopfloor.cli.output import (
    JsonOption,
    LakeOption,
    console,
    err_console,
    file_progress,
    print_json,
)
from shopfloor.errors import InputError


def ingest_command(
    paths: Annotated[list[str], typer.Argument(help="Files, directories or globs to ingest.")],
    table: Annotated[str, typer.Option("--table", "-t", help="Canonical table to load into.")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="TOML mapping of the file layout.")
    ] = None,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Ingest CSV, Parquet or JSON Lines files into a lake table.

    Bad rows go to the quarantine table with their reason; a file that cannot be read
    at all is refused with exit code 2 and nothing of it is stored.  Ingesting the same
    file again adds nothing.
    """
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.ingest import expand_paths, ingest

    store = open_lake(lake)
    files = expand_paths(paths)
    with file_progress(len(files), enabled=not json) as tracker:
        summary = ingest(store, files, table, mapping, tracker.on_rows, tracker.on_file)
    if json:
        payload = summary.to_dict()
        print_json(
            {k: payload[k] for k in ("accepted", "rejected", "quarantined", "table_version")}
            | {"files": payload["files"], "skipped_files": payload["skipped_files"]}
        )
    else:
        for result in summary.results:
            if result.status == "committed":
                console.print(
                    f"[green]{result.source}[/]: {result.accepted:,} rows accepted, "
                    f"{result.quarantined:,} quarantined (table '{result.table}' "
                    f"version {result.table_version})"
                )
            elif result.status == "skipped":
                console.print(f"[yellow]{result.source}[/]: already ingested, nothing written")
            for warning in result.warnings:
                err_console.print(f"[yellow]warning[/]: {result.source}: {warning}")
    if summary.errors:
        # One line per refused file; the others were ingested and stay.
        for error in summary.errors:
            err_console.print(f"error: {error}", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(InputError.exit_code)
