"""Shared CLI plumbing: the --lake option, JSON printing, progress bars on stderr."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

console = Console()
err_console = Console(stderr=True)

LakeOption = Annotated[
    Path | None,
    typer.Option(
        "--lake",
        envvar="SHOPFLOOR_LAKE",
        help="Lake directory (default ./shopfloor-lake, or SHOPFLOOR_LAKE).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
BackendOption = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="Where the computation runs: local or spark (default: compute.backend).",
        show_default=False,
    ),
]


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def print_json(payload: Any) -> None:
    """JSON on stdout, one document, NaN/inf as null (valid JSON for every consumer)."""
    typer.echo(json.dumps(_finite(payload), default=_default, indent=None))


@dataclass
class FileProgress:
    """A rich progress bar for one or many files: rows per file and files overall."""

    progress: Progress
    overall: Any
    current: Any = None

    def on_file(self, path: Path, total_rows: int) -> None:
        if self.current is not None:
            self.progress.update(self.current, completed=self.progress.tasks[self.current].total)
            self.progress.advance(self.overall)
        self.current = self.progress.add_task(path.name, total=max(total_rows, 1))

    def on_rows(self, rows: int) -> None:
        if self.current is not None:
            self.progress.advance(self.current, rows)


@contextmanager
def file_progress(files: int, enabled: bool = True) -> Iterator[FileProgress]:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not (enabled and err_console.is_terminal),  # in a pipe or CI log a bar is noise
        transient=False,
    )
    with progress:
        overall = progress.add_task("files", total=files)
        tracker = FileProgress(progress, overall)
        yield tracker
        if tracker.current is not None:
            progress.update(tracker.current, completed=progress.tasks[tracker.current].total)
        progress.update(overall, completed=files)


@contextmanager
def steps(enabled: bool = True) -> Iterator[Progress]:
    """A progress display for multi-step jobs (the demo): one task per step."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not (enabled and err_console.is_terminal),  # in a pipe or CI log a bar is noise
    )
    with progress:
        yield progress


@contextmanager
def step_bars(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """A ``step(what, done, total)`` callback for the workflows: one bar per ``what``."""
    with steps(enabled) as progress:
        tasks: dict[str, TaskID] = {}

        def step(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = progress.add_task(what, total=total)
            progress.update(tasks[what], completed=done, total=total)

        yield step


def records(frame: pd.DataFrame) -> list[dict[str, object]]:
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(lambda t: t.isoformat() if pd.notna(t) else None)
    return out.to_dict(orient="records")  # type: ignore[return-value]


def frame_table(frame: pd.DataFrame, title: str, percent: tuple[str, ...] = ()) -> Table:
    import pandas as pd

    table = Table(title=title)
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column].dtype)  # str dtypes go left too
        table.add_column(str(column), justify="right" if numeric else "left")
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
