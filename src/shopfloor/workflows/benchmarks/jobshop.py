"""Job-shop benchmark on the JSPLIB layout (see shared/datasets/jobshop/README.md).

Layout: ``instances/`` (one OR-Library / JSPLIB file per instance), ``instances.json``
(JSPLIB's metadata: ``name``, ``optimum`` or ``bounds`` {``upper``, ``lower``}, ``path``)
and ``bounds.csv`` (lower bounds and best-known solutions per ``name``).  Best-known
makespans come from ``bounds.csv`` (``weise2020_bks``, then ``jsplib_optimum``,
``jsplib_upper``) and fall back to ``instances.json`` (``optimum``, then
``bounds.upper``) where the CSV has no figure; the known lower bounds likewise.

Protocol: every instance whose name matches the glob is solved twice under the same
time limit, workers and seed: with :class:`CpSatScheduler` (the tuned model) and with
:class:`PlainCpSatScheduler` (the textbook interval + no-overlap model, CP-SAT's default
parameters).  Both schedules are verified by the independent checker; a schedule the
checker refuses, or none at all, scores no gap.  Gaps are in percent:
``gap_to_best_known = 100 * (makespan - best_known) / best_known`` (the literature's
convention) and ``gap_to_bound = 100 * (makespan - lower_bound) / makespan`` with the
solver's own lower bound (CP-SAT's convention).  The means are over the instances that
scored a gap; ``n_scored`` / ``plain_n_scored`` say how many.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfloor.errors import InputError
from shopfloor.planning.cpsat import CpSatScheduler, PlainCpSatScheduler
from shopfloor.planning.instances import read_instance
from shopfloor.planning.problem import Problem
from shopfloor.planning.schedule import Schedule

INSTANCES_DIR = "instances"
INSTANCES_JSON = "instances.json"
BOUNDS_CSV = "bounds.csv"
# bounds.csv columns, in order of preference.
BKS_COLUMNS: tuple[str, ...] = ("weise2020_bks", "jsplib_optimum", "jsplib_upper")
LOWER_COLUMNS: tuple[str, ...] = ("weise2020_lower_bound", "jsplib_optimum", "jsplib_lower")


@dataclass(frozen=True)
class KnownBounds:
    """Published figures of one instance (``None`` where neither file has one)."""

    best_known: int | None = None
    lower_bound: int | None = None


@dataclass(frozen=True)
class RunFigures:
    """One solver's result on one instance."""

    makespan: int | None
    lower_bound: float | None
    gap_to_bound: float | None  # percent, against the solver's own bound
    gap_to_best_known: float | None  # percent
    status: str
    seconds: float
    feasible: bool

    @classmethod
    def from_schedule(cls, schedule: Schedule, best_known: int | None) -> RunFigures:
        scored = schedule.feasible and schedule.makespan is not None
        return cls(
            makespan=schedule.makespan,
            lower_bound=schedule.lower_bound,
            gap_to_bound=100.0 * schedule.gap if scored and schedule.gap is not None else None,
            gap_to_best_known=(gap_percent(schedule.makespan, best_known) if scored else None),
            status=schedule.status,
            seconds=round(schedule.seconds, 3),
            feasible=schedule.feasible,
        )


@dataclass(frozen=True)
class InstanceFigures:
    instance: str
    best_known: int | None
    known_lower_bound: int | None
    model: RunFigures
    plain: RunFigures

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "makespan": self.model.makespan,
            "lower_bound": self.model.lower_bound,
            "gap_to_bound": self.model.gap_to_bound,
            "gap_to_best_known": self.model.gap_to_best_known,
            "best_known": self.best_known,
            "known_lower_bound": self.known_lower_bound,
            "status": self.model.status,
            "seconds": self.model.seconds,
            "feasible": self.model.feasible,
            "plain": {
                "makespan": self.plain.makespan,
                "gap_to_best_known": self.plain.gap_to_best_known,
                "status": self.plain.status,
                "seconds": self.plain.seconds,
                "feasible": self.plain.feasible,
            },
        }


@dataclass(frozen=True)
class JobshopReport:
    instances: tuple[InstanceFigures, ...]
    pattern: str
    time_limit_s: float
    workers: int
    seed: int
    seconds: float

    @property
    def mean_gap_to_best_known(self) -> float | None:
        return _mean([i.model.gap_to_best_known for i in self.instances])

    @property
    def plain_mean_gap_to_best_known(self) -> float | None:
        return _mean([i.plain.gap_to_best_known for i in self.instances])

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_instances": len(self.instances),
            "mean_gap_to_best_known": self.mean_gap_to_best_known,
            "plain_mean_gap_to_best_known": self.plain_mean_gap_to_best_known,
            "n_scored": sum(i.model.gap_to_best_known is not None for i in self.instances),
            "plain_n_scored": sum(i.plain.gap_to_best_known is not None for i in self.instances),
            "n_optimal": sum(i.model.status == "optimal" for i in self.instances),
            "plain_n_optimal": sum(i.plain.status == "optimal" for i in self.instances),
            "instances_glob": self.pattern,
            "time_limit_s": self.time_limit_s,
            "workers": self.workers,
            "seed": self.seed,
            "seconds": round(self.seconds, 3),
            "instances": [i.as_dict() for i in self.instances],
        }


def gap_percent(makespan: int | None, best_known: int | None) -> float | None:
    if makespan is None or best_known is None or best_known <= 0:
        return None
    return 100.0 * (makespan - best_known) / best_known


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


# --- reading the layout ----------------------------------------------------------------


def _int_or_none(value: Any, source: str, row: int | None, field: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InputError(f"'{value}' is not an integer bound", source=source, row=row, field=field)
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise InputError(
                f"'{value}' is not an integer bound", source=source, row=row, field=field
            ) from None
    if number < 0:
        raise InputError(f"negative bound {number}", source=source, row=row, field=field)
    return number


def _first(values: list[int | None]) -> int | None:
    return next((v for v in values if v is not None), None)


def read_instances_json(path: Path) -> dict[str, tuple[str, KnownBounds]]:
    """``instances.json``: name -> (relative path, bounds)."""
    source = str(path)
    if not path.is_file():
        raise InputError("no such file (expected JSPLIB's instances.json)", source=source)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable JSON file ({exc})", source=source) from None
    if not isinstance(entries, list):
        raise InputError("expected a JSON list of instance objects", source=source)
    out: dict[str, tuple[str, KnownBounds]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InputError(
                f"entry {index} is not an object with a 'name'", source=source, field="name"
            )
        name = entry["name"]
        rel = entry.get("path", f"{INSTANCES_DIR}/{name}")
        if not isinstance(rel, str):
            raise InputError(f"entry '{name}': 'path' is not a string", source=source)
        bounds = entry.get("bounds") or {}
        if not isinstance(bounds, dict):
            raise InputError(f"entry '{name}': 'bounds' is not an object", source=source)
        optimum = _int_or_none(entry.get("optimum"), source, None, f"{name}.optimum")
        upper = _int_or_none(bounds.get("upper"), source, None, f"{name}.bounds.upper")
        lower = _int_or_none(bounds.get("lower"), source, None, f"{name}.bounds.lower")
        out[name] = (rel, KnownBounds(_first([optimum, upper]), _first([optimum, lower])))
    return out


def read_bounds_csv(path: Path) -> dict[str, KnownBounds]:
    """``bounds.csv``: name -> best-known makespan and lower bound (either may be None)."""
    source = str(path)
    if not path.is_file():
        raise InputError("no such file (expected the bounds table)", source=source)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
            header = rows[0].keys() if rows else []
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV file ({exc})", source=source) from None
    if not rows:
        raise InputError("no rows (empty bounds table)", source=source)
    if "name" not in header:
        raise InputError("required column is missing", source=source, field="name")
    bound_columns = (*BKS_COLUMNS, *LOWER_COLUMNS)
    known = [c for c in bound_columns if c in header]
    if not known:
        raise InputError(
            f"no bound column (expected one of {', '.join(dict.fromkeys(bound_columns))})",
            source=source,
        )
    out: dict[str, KnownBounds] = {}
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        name = (row.get("name") or "").strip()
        if not name:
            raise InputError("empty instance name", source=source, row=number, field="name")
        if None in row:  # more values than header columns
            raise InputError("more values than columns", source=source, row=number)
        values = {c: _int_or_none(row.get(c), source, number, c) for c in known}
        out[name] = KnownBounds(
            _first([values.get(c) for c in BKS_COLUMNS]),
            _first([values.get(c) for c in LOWER_COLUMNS]),
        )
    return out


@dataclass(frozen=True)
class _Entry:
    name: str
    path: Path
    bounds: KnownBounds


def load_layout(data: Path, pattern: str) -> list[_Entry]:
    """The matching instances, sorted by name, with their published bounds."""
    root = Path(data)
    if not root.is_dir():
        raise InputError("no such directory (expected the JSPLIB layout)", source=str(root))
    folder = root / INSTANCES_DIR
    if not folder.is_dir():
        raise InputError("no such directory (expected the instance files)", source=str(folder))
    listed = read_instances_json(root / INSTANCES_JSON)
    table = read_bounds_csv(root / BOUNDS_CSV)
    # instances.json lists the instances; a file in instances/ it omits still counts.
    paths = {name: root / rel for name, (rel, _) in listed.items()}
    for file in folder.iterdir():
        if file.is_file() and not file.name.startswith("."):
            paths.setdefault(file.name, file)
    names = sorted(n for n in paths if fnmatch.fnmatchcase(n, pattern))
    if not names:
        raise InputError(
            f"no instance matches '{pattern}'", source=str(folder), field="--instances"
        )
    out = []
    for name in names:
        fallback = listed[name][1] if name in listed else KnownBounds()
        csv_bounds = table.get(name, KnownBounds())
        bounds = KnownBounds(
            _first([csv_bounds.best_known, fallback.best_known]),
            _first([csv_bounds.lower_bound, fallback.lower_bound]),
        )
        out.append(_Entry(name, paths[name], bounds))
    return out


# --- the run -----------------------------------------------------------------------------


def run_jobshop(
    data: Path,
    *,
    instances: str = "ta0*",
    time_limit_s: float = 60.0,
    workers: int = 2,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> JobshopReport:
    """Solve every matching instance with both formulations; see the module docstring."""
    if time_limit_s <= 0:
        raise InputError("must be positive", field="--time-limit")
    if workers < 1:
        raise InputError("must be at least 1", field="--workers")
    say = progress or (lambda _message: None)
    began = time.perf_counter()
    entries = load_layout(data, instances)
    # Read every file first: a malformed one fails the run before any solving.
    problems: list[tuple[_Entry, Problem]] = [(e, read_instance(e.path, "jsplib")) for e in entries]
    params: dict[str, Any] = {"time_limit_s": time_limit_s, "workers": workers, "seed": seed}
    model = CpSatScheduler(**params)
    plain = PlainCpSatScheduler(**params)
    results = []
    for index, (entry, problem) in enumerate(problems, start=1):
        say(f"{entry.name} ({index}/{len(problems)}): CP-SAT")
        ours = model.solve(problem)
        say(f"{entry.name} ({index}/{len(problems)}): plain CP-SAT")
        base = plain.solve(problem)
        best = entry.bounds.best_known
        results.append(
            InstanceFigures(
                instance=entry.name,
                best_known=best,
                known_lower_bound=entry.bounds.lower_bound,
                model=RunFigures.from_schedule(ours, best),
                plain=RunFigures.from_schedule(base, best),
            )
        )
    return JobshopReport(
        instances=tuple(results),
        pattern=instances,
        time_limit_s=float(time_limit_s),
        workers=workers,
        seed=seed,
        seconds=time.perf_counter() - began,
    )
