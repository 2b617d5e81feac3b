"""Readers for the public job-shop benchmark formats.

- **JSPLIB / OR-Library** (``format="jsplib"``): ``#`` comment lines, then
  ``n_jobs n_machines``, then one line per job of ``machine duration`` pairs in route
  order, machines numbered from 0.
- **Taillard** (``format="taillard"``): the header ``n_jobs n_machines`` (optionally
  preceded by a text line and followed by the seeds and bounds, as in Taillard's own
  files), then ``n_jobs`` lines of durations, then ``n_jobs`` lines of machines,
  numbered from 1 (a file whose machines include 0 is read as numbered from 0).  The
  ``processing times :`` / ``machines :`` labels are optional.
- **shopfloor** (``format="shopfloor"``, a ``.json`` file): a whole :class:`Problem` as
  JSON (releases, due dates, weights, families, flexible alternatives with setups, lags,
  downtimes, a setup matrix, initial families, a horizon); see
  :mod:`shopfloor.planning.problem_json`.  A lake plan exports to it
  (``schedule plan --export``) so it can be re-solved with ``schedule solve``.

Every malformed input raises :class:`InputError` naming the file and the line, because
a benchmark run that silently reads a truncated file reports a wrong figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from shopfloor.errors import InputError
from shopfloor.planning.problem import Problem
from shopfloor.planning.problem_json import parse_shopfloor, problem_to_json

Format = Literal["jsplib", "taillard", "shopfloor"]
FORMATS: tuple[str, ...] = ("jsplib", "taillard", "shopfloor")

# (line number, integer tokens) of one data line.
_Line = tuple[int, list[int]]


def _data_lines(text: str, source: str, *, allow_text: bool) -> list[_Line]:
    """Non-empty, non-comment lines as integers; text lines are skipped where allowed."""
    out: list[_Line] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        tokens = line.replace(",", " ").split()
        try:
            values = [int(t) for t in tokens]
        except ValueError:
            if allow_text and not any(_is_number(t) for t in tokens):
                continue  # a label such as "processing times :"
            bad = next(t for t in tokens if not _is_int(t))
            raise InputError(f"'{bad}' is not an integer", source=source, row=number) from None
        out.append((number, values))
    if not out:
        raise InputError("no instance data (empty file)", source=source)
    return out


def _is_int(token: str) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return True


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _header(lines: list[_Line], source: str) -> tuple[int, int]:
    number, values = lines[0]
    if len(values) < 2:
        raise InputError("header must hold 'n_jobs n_machines'", source=source, row=number)
    n_jobs, n_machines = values[0], values[1]
    if n_jobs < 1 or n_machines < 1:
        raise InputError(
            f"header announces {n_jobs} jobs and {n_machines} machines", source=source, row=number
        )
    return n_jobs, n_machines


def parse_jsplib(text: str, source: str = "<jsplib>", name: str = "") -> Problem:
    lines = _data_lines(text, source, allow_text=False)
    n_jobs, n_machines = _header(lines, source)
    if len(lines[0][1]) != 2:
        raise InputError(
            "header must hold exactly 'n_jobs n_machines'", source=source, row=lines[0][0]
        )
    body = lines[1:]
    if len(body) != n_jobs:
        row = body[-1][0] if body else lines[0][0]
        raise InputError(
            f"header announces {n_jobs} jobs but the file has {len(body)} job lines",
            source=source,
            row=row,
        )
    routes: list[list[tuple[int, int]]] = []
    for number, values in body:
        if len(values) % 2:
            raise InputError(
                "a job line must hold 'machine duration' pairs (odd number of values)",
                source=source,
                row=number,
            )
        route = list(zip(values[0::2], values[1::2], strict=True))
        for machine, duration in route:
            _check_pair(machine, duration, n_machines, source, number)
        routes.append(route)
    return Problem.job_shop(routes, n_machines, name=name or Path(source).name)


def parse_taillard(text: str, source: str = "<taillard>", name: str = "") -> Problem:
    lines = _data_lines(text, source, allow_text=True)
    n_jobs, n_machines = _header(lines, source)
    body = lines[1:]
    if len(body) != 2 * n_jobs:
        row = body[-1][0] if body else lines[0][0]
        raise InputError(
            f"header announces {n_jobs} jobs: expected {2 * n_jobs} lines "
            f"(durations then machines), found {len(body)}",
            source=source,
            row=row,
        )
    times, machines = body[:n_jobs], body[n_jobs:]
    for number, values in body:
        if len(values) != n_machines:
            raise InputError(
                f"expected {n_machines} values (one per machine), found {len(values)}",
                source=source,
                row=number,
            )
    for number, durations in times:
        if any(d < 0 for d in durations):
            raise InputError(f"negative duration {min(durations)}", source=source, row=number)
    # Taillard numbers machines from 1; some converted files use 0.
    offset = 0 if any(0 in values for _, values in machines) else 1
    routes: list[list[tuple[int, int]]] = []
    for (_, durations), (number, order) in zip(times, machines, strict=True):
        route = []
        for machine, duration in zip(order, durations, strict=True):
            _check_pair(machine - offset, duration, n_machines, source, number, offset)
            route.append((machine - offset, duration))
        routes.append(route)
    return Problem.job_shop(routes, n_machines, name=name or Path(source).name)


def _check_pair(
    machine: int, duration: int, n_machines: int, source: str, row: int, offset: int = 0
) -> None:
    if not 0 <= machine < n_machines:
        raise InputError(
            f"machine {machine + offset} is outside {offset}..{n_machines - 1 + offset}",
            source=source,
            row=row,
        )
    if duration < 0:
        raise InputError(f"negative duration {duration}", source=source, row=row)


def detect_format(text: str) -> Format:
    """shopfloor for a JSON object; Taillard if it has the labels or the
    durations-then-machines shape; else JSPLIB."""
    if text.lstrip().startswith("{"):
        return "shopfloor"
    lowered = text.lower()
    if "processing times" in lowered or "machines :" in lowered:
        return "taillard"
    try:
        lines = _data_lines(text, "<detect>", allow_text=True)
    except InputError:
        return "jsplib"  # let the JSPLIB reader report the fault with its line number
    if len(lines) < 2 or len(lines[0][1]) < 2:
        return "jsplib"
    if len(lines[0][1]) > 2:
        return "taillard"  # Taillard's header carries the seeds and bounds too
    n_jobs, n_machines = lines[0][1]
    body = lines[1:]
    # The line count settles it: JSPLIB has one line per job, Taillard two.
    if len(body) == 2 * n_jobs and all(len(v) == n_machines for _, v in body):
        return "taillard"
    return "jsplib"


def read_instance(path: Path | str, format: str | None = None) -> Problem:
    """Read one instance file; ``format`` is one of :data:`FORMATS` or detected.

    A ``.json`` file is read as the shopfloor format unless ``format`` says otherwise.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", source=source) from None
    except UnicodeDecodeError:
        raise InputError("not a text file", source=source) from None
    fmt = format or ("shopfloor" if path.suffix.lower() == ".json" else detect_format(text))
    if fmt == "shopfloor":
        return parse_shopfloor(text, source, path.stem)
    if fmt == "jsplib":
        return parse_jsplib(text, source, path.name)
    if fmt == "taillard":
        return parse_taillard(text, source, path.name)
    raise InputError(f"unknown format '{fmt}' (use one of {', '.join(FORMATS)})", source=source)


__all__ = [
    "FORMATS",
    "detect_format",
    "parse_jsplib",
    "parse_shopfloor",
    "parse_taillard",
    "problem_to_json",
    "read_instance",
]
