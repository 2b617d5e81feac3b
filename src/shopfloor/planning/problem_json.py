"""The ``shopfloor`` problem format: a whole :class:`Problem` as one JSON document.

The benchmark formats carry only routes; a plant's problem also has releases, due dates,
weights, setup families, eligible machines with their own durations and setups, lags,
downtimes, a setup matrix and the families machines are set up for.  This format carries
all of it, so a problem built from the lake can be exported, inspected, shared and
re-solved with ``shopfloor schedule solve --format shopfloor``::

    {
      "name": "lake@2026-11-02T06:00Z",
      "unit": "minute", "origin": "2026-11-02T06:00:00+00:00",     (informational)
      "machines": ["L1-M01", "L1-M02"],                 (or "n_machines": 2)
      "horizon": 20160,                                  (optional)
      "jobs": [
        {"name": "MO1-00043", "release": 0, "due": 4000, "weight": 3, "family": "P1004",
         "operations": [
           {"name": "10 saw", "may_span_break": true, "lag_after": 1,
            "alternatives": [{"machine": "L1-M01", "duration": 173, "setup": 27}]}]}
      ],
      "downtimes": [{"machine": "L1-M01", "start": 960, "end": 1440, "reason": "off shift"}],
      "setups": [{"machine": "L1-M01", "before": "P1001", "after": "P1004", "duration": 40}],
      "initial_family": [{"machine": "L1-M01", "family": "P1004"}]
    }

Machines are referred to by name when ``machines`` lists names, else (and always
allowed) by index from 0.  Times are integers in the problem's unit.  Unknown fields are
refused: a misspelt ``lag_afer`` silently read as "no lag" would give a wrong schedule.
Every fault raises :class:`InputError` naming the file and the field path, e.g.
``jobs[2].operations[0].alternatives[1].duration``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shopfloor.errors import InputError
from shopfloor.planning.problem import Alternative, Downtime, Job, Operation, Problem, Setup

FORMAT_NAME = "shopfloor-problem"
FORMAT_VERSION = 1
_TOP = {
    "format", "version", "unit", "origin", "name", "machines", "n_machines", "horizon",
    "jobs", "downtimes", "setups", "initial_family",
}  # fmt: skip
_JOB = {"name", "release", "due", "weight", "family", "operations"}
_OPERATION = {"name", "alternatives", "may_span_break", "lag_after"}
_ALTERNATIVE = {"machine", "duration", "setup"}
_DOWNTIME = {"machine", "start", "end", "reason"}
_SETUP = {"machine", "before", "after", "duration"}
_INITIAL = {"machine", "family"}

_MISSING = object()


class _Reader:
    """Typed access to the document with the field path in every error."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.machines: list[str] = []
        self.n_machines = 0

    def fail(self, path: str, message: str) -> InputError:
        return InputError(message, source=self.source, field=path)

    def obj(self, value: Any, path: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path or "(document)", "must be a JSON object")
        unknown = sorted(set(value) - allowed)
        if unknown:
            where = f"{path}.{unknown[0]}" if path else unknown[0]
            raise self.fail(where, f"unknown field (known: {', '.join(sorted(allowed))})")
        return value

    def get(self, doc: dict[str, Any], key: str, path: str, default: Any = _MISSING) -> Any:
        if key not in doc:
            if default is _MISSING:
                raise self.fail(_join(path, key), "is required")
            return default
        return doc[key]

    def int_(
        self,
        doc: dict[str, Any],
        key: str,
        path: str,
        default: Any = _MISSING,
        minimum: int | None = 0,
    ) -> Any:
        value = self.get(doc, key, path, default)
        if value is None and default is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(_join(path, key), f"must be an integer, got {json.dumps(value)}")
        if minimum is not None and value < minimum:
            raise self.fail(_join(path, key), f"must be at least {minimum}, got {value}")
        return value

    def str_(self, doc: dict[str, Any], key: str, path: str, default: Any = _MISSING) -> str:
        value = self.get(doc, key, path, default)
        if not isinstance(value, str):
            raise self.fail(_join(path, key), f"must be a string, got {json.dumps(value)}")
        return value

    def bool_(self, doc: dict[str, Any], key: str, path: str, default: bool) -> bool:
        value = self.get(doc, key, path, default)
        if not isinstance(value, bool):
            raise self.fail(_join(path, key), f"must be true or false, got {json.dumps(value)}")
        return value

    def list_(self, doc: dict[str, Any], key: str, path: str, default: Any = _MISSING) -> list[Any]:
        value = self.get(doc, key, path, default)
        if not isinstance(value, list):
            raise self.fail(_join(path, key), "must be a JSON list")
        return value

    def machine(self, doc: dict[str, Any], path: str) -> int:
        value = self.get(doc, "machine", path)
        where = _join(path, "machine")
        if isinstance(value, str):
            if value not in self.machines:
                known = ", ".join(self.machines) if self.machines else "none: no 'machines' list"
                raise self.fail(where, f"unknown machine '{value}' (known: {known})")
            return self.machines.index(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"must be a machine name or index, got {json.dumps(value)}")
        if not 0 <= value < self.n_machines:
            raise self.fail(where, f"machine {value} is outside 0..{self.n_machines - 1}")
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def parse_shopfloor(text: str, source: str = "<shopfloor>", name: str = "") -> Problem:
    """A :class:`Problem` from a shopfloor JSON document (see the module doc)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", source=source, row=exc.lineno) from None
    r = _Reader(source)
    doc = r.obj(raw, "", _TOP)
    fmt = doc.get("format", FORMAT_NAME)
    if fmt != FORMAT_NAME:
        raise r.fail("format", f"must be '{FORMAT_NAME}', got {json.dumps(fmt)}")
    version = doc.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise r.fail("version", f"this reader knows version {FORMAT_VERSION}, got {version}")
    _machines(r, doc)
    jobs = [_job(r, item, f"jobs[{j}]") for j, item in enumerate(r.list_(doc, "jobs", ""))]
    if not jobs:
        raise r.fail("jobs", "must hold at least one job")
    downtimes = []
    for i, item in enumerate(r.list_(doc, "downtimes", "", [])):
        path = f"downtimes[{i}]"
        d = r.obj(item, path, _DOWNTIME)
        start, end = r.int_(d, "start", path), r.int_(d, "end", path)
        if end <= start:
            raise r.fail(f"{path}.end", f"must be after start ({start}), got {end}")
        reason = r.str_(d, "reason", path, "")
        downtimes.append(Downtime(r.machine(d, path), start, end, reason))
    setups = []
    for i, item in enumerate(r.list_(doc, "setups", "", [])):
        path = f"setups[{i}]"
        s = r.obj(item, path, _SETUP)
        setups.append(
            Setup(
                r.machine(s, path),
                r.str_(s, "before", path),
                r.str_(s, "after", path),
                r.int_(s, "duration", path),
            )
        )
    initial = []
    for i, item in enumerate(r.list_(doc, "initial_family", "", [])):
        path = f"initial_family[{i}]"
        f = r.obj(item, path, _INITIAL)
        initial.append((r.machine(f, path), r.str_(f, "family", path)))
    try:
        return Problem(
            tuple(jobs),
            r.n_machines,
            tuple(downtimes),
            horizon=r.int_(doc, "horizon", "", None),
            name=r.str_(doc, "name", "", "") or name,
            setups=tuple(setups),
            initial_family=tuple(initial),
        )
    except InputError as exc:  # the model's own checks: report them against the file
        raise InputError(exc.message, source=source, field=exc.field) from None


def _machines(r: _Reader, doc: dict[str, Any]) -> None:
    names = r.list_(doc, "machines", "", None) if doc.get("machines") is not None else None
    count = r.int_(doc, "n_machines", "", None, minimum=1)
    if names is None and count is None:
        raise r.fail("machines", "give the machine names ('machines') or their number")
    if names is not None:
        for i, machine in enumerate(names):
            if not isinstance(machine, str) or not machine:
                raise r.fail(f"machines[{i}]", "must be a non-empty string")
        if len(set(names)) != len(names):
            twice = next(m for m in names if names.count(m) > 1)
            raise r.fail("machines", f"'{twice}' is listed twice")
        if not names:
            raise r.fail("machines", "must name at least one machine")
        if count is not None and count != len(names):
            raise r.fail("n_machines", f"is {count} but 'machines' names {len(names)}")
        r.machines, r.n_machines = list(names), len(names)
    else:
        r.n_machines = count


def _job(r: _Reader, item: Any, path: str) -> Job:
    doc = r.obj(item, path, _JOB)
    operations = []
    for k, raw_op in enumerate(r.list_(doc, "operations", path)):
        op_path = f"{path}.operations[{k}]"
        op = r.obj(raw_op, op_path, _OPERATION)
        if "name" in op:
            r.str_(op, "name", op_path)
        alternatives = []
        for a, raw_alt in enumerate(r.list_(op, "alternatives", op_path)):
            alt_path = f"{op_path}.alternatives[{a}]"
            alt = r.obj(raw_alt, alt_path, _ALTERNATIVE)
            alternatives.append(
                Alternative(
                    r.machine(alt, alt_path),
                    r.int_(alt, "duration", alt_path),
                    r.int_(alt, "setup", alt_path, 0),
                )
            )
        if not alternatives:
            raise r.fail(f"{op_path}.alternatives", "must list at least one eligible machine")
        operations.append(
            Operation(
                tuple(alternatives),
                may_span_break=r.bool_(op, "may_span_break", op_path, False),
                lag_after=r.int_(op, "lag_after", op_path, 0),
            )
        )
    if not operations:
        raise r.fail(f"{path}.operations", "must hold at least one operation")
    return Job(
        tuple(operations),
        release=r.int_(doc, "release", path, 0),
        due=r.int_(doc, "due", path, None, minimum=None),  # negative: already late
        weight=r.int_(doc, "weight", path, 1),
        name=r.str_(doc, "name", path, ""),
        family=r.str_(doc, "family", path, ""),
    )


def problem_to_dict(
    problem: Problem,
    *,
    machines: Sequence[str] | None = None,
    operation_names: Sequence[Sequence[str]] | None = None,
    unit: str | None = None,
    origin: str | None = None,
) -> dict[str, Any]:
    """The document :func:`parse_shopfloor` reads back to an equal problem.

    ``machines`` names the machines (else they are written as indices);
    ``operation_names`` (per job, per operation), ``unit`` and ``origin`` are
    informational.
    """
    if machines is not None and len(machines) != problem.n_machines:
        raise InputError(
            f"{len(machines)} machine names for {problem.n_machines} machines", field="machines"
        )

    def ref(m: int) -> str | int:
        return machines[m] if machines is not None else m

    doc: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
    if problem.name:
        doc["name"] = problem.name
    if unit is not None:
        doc["unit"] = unit
    if origin is not None:
        doc["origin"] = origin
    if machines is not None:
        doc["machines"] = list(machines)
    else:
        doc["n_machines"] = problem.n_machines
    if problem.horizon is not None:
        doc["horizon"] = problem.horizon
    jobs = []
    for j, job in enumerate(problem.jobs):
        ops = []
        for k, op in enumerate(job.operations):
            entry: dict[str, Any] = {}
            if operation_names is not None:
                entry["name"] = operation_names[j][k]
            entry["alternatives"] = [
                {"machine": ref(a.machine), "duration": a.duration, "setup": a.setup}
                for a in op.alternatives
            ]
            entry["may_span_break"] = op.may_span_break
            entry["lag_after"] = op.lag_after
            ops.append(entry)
        jobs.append(
            {
                "name": job.name,
                "release": job.release,
                "due": job.due,
                "weight": job.weight,
                "family": job.family,
                "operations": ops,
            }
        )
    doc["jobs"] = jobs
    doc["downtimes"] = [
        {"machine": ref(d.machine), "start": d.start, "end": d.end, "reason": d.reason}
        for d in problem.downtimes
    ]
    doc["setups"] = [
        {"machine": ref(s.machine), "before": s.before, "after": s.after, "duration": s.duration}
        for s in problem.setups
    ]
    doc["initial_family"] = [{"machine": ref(m), "family": f} for m, f in problem.initial_family]
    return doc


def problem_to_json(
    problem: Problem,
    *,
    machines: Sequence[str] | None = None,
    operation_names: Sequence[Sequence[str]] | None = None,
    unit: str | None = None,
    origin: str | None = None,
) -> str:
    """:func:`problem_to_dict` as JSON text, one job, downtime or setup per line.

    A line per entry keeps a plant-sized file readable and its diffs meaningful.
    """
    doc = problem_to_dict(
        problem, machines=machines, operation_names=operation_names, unit=unit, origin=origin
    )
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            entries = ",\n".join(f"  {json.dumps(v)}" for v in value)
            parts.append(f" {json.dumps(key)}: [\n{entries}\n ]")
        else:
            parts.append(f" {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
