"""The lake's open orders, routings, calendar and maintenance as one scheduling problem.

:func:`build_problem` reads (DuckDB over the Delta tables):

- **orders** not ``done`` (the latest ingested row of each order wins: a re-sent order
  file with a new status supersedes the old one).  Release and due become minutes from
  the plan origin; release is at least 0, due may be negative (already late).  The
  tardiness weight is the priority rounded half up, and at least 1 for any positive
  priority (a null priority weighs 1): CP-SAT needs integer weights, and a priority of
  0.4 must not silently mean "lateness is free".  The family (for setups) is the item.
- **routings**: one operation per ``(item, op_seq)`` in ``op_seq`` order, one
  alternative per eligible machine (an asset id) with duration
  ``ceil(remaining quantity x processing_s / 60)``, setup ``ceil(setup_s / 60)`` and a
  lag ``ceil(max(min_lag_s) / 60)`` after it.  Rounding up: a plan that runs short of
  time is worse than one that is a minute early.
- **production** counts before the origin: the good units an order already made on an
  operation's machines are not planned again (a running order is planned for its rest;
  an operation already complete is left out); each machine starts set up for the item
  it made last.
- the **working calendar** (``planning`` settings) as downtimes on every machine;
- **maintenance**: for each RUL recommendation of the registered models, a window of
  ``planning.maintenance_window_h`` ending at the latest safe date (not before the
  origin); and every open or in-progress work order with a start, over its extent
  (``maintenance_window_h`` when it has no end).  Machines that no routing uses are
  ignored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.planning.calendar import (
    WorkingCalendar,
    calendar_downtimes,
    interval_downtimes,
    minutes_from,
    work_between,
    work_end,
)
from shopfloor.planning.problem import Alternative, Assignment, Downtime, Job, Operation, Problem
from shopfloor.workflows import maintenance

MINUTES_PER_DAY = 24 * 60
# Float products such as 100 x 0.6 s land a hair above a whole minute; round them first
# so ceil() does not add a minute that is not there.
_DIGITS = 6


@dataclass(frozen=True)
class OperationRef:
    """What a job's operation is in the lake's terms."""

    op_seq: int
    name: str


@dataclass(frozen=True)
class PlanningProblem:
    """A :class:`Problem` in minutes from ``origin`` and the lake names of its indices."""

    problem: Problem
    origin: pd.Timestamp
    orders: tuple[str, ...]  # job index -> order id
    items: tuple[str, ...]  # job index -> item
    operations: tuple[tuple[OperationRef, ...], ...]  # job -> op index -> routing step
    machines: tuple[str, ...]  # machine index -> asset id
    complete: tuple[str, ...] = ()  # open orders whose counts show every operation done

    def time(self, minutes: int | float) -> pd.Timestamp:
        return self.origin + pd.Timedelta(minutes=minutes)

    def minutes(self, stamp: datetime) -> int:
        return minutes_from(self.origin, stamp)

    def with_jobs(self, jobs: Sequence[int], problem: Problem) -> PlanningProblem:
        """``problem``, whose job k is this one's job ``jobs[k]``, with the matching names."""
        return PlanningProblem(
            problem,
            self.origin,
            tuple(self.orders[j] for j in jobs),
            tuple(self.items[j] for j in jobs),
            tuple(self.operations[j] for j in jobs),
            self.machines,
            self.complete,
        )

    def job_of(self, order: str) -> int:
        return self.orders.index(order)

    def setup_end(self, a: Assignment) -> int:
        """When the changeover is done: ``setup`` working minutes after the start (an
        operation allowed to span a break may pause its changeover over one too)."""
        return work_end(self.problem.breaks(a.machine), a.start, a.setup)

    def assignments_frame(self, assignments: Sequence[Assignment]) -> pd.DataFrame:
        """Assignments with lake names and UTC timestamps, in machine and time order."""
        rows = [
            {
                "order": self.orders[a.job],
                "item": self.items[a.job],
                "op_seq": self.operations[a.job][a.op].op_seq,
                "operation": self.operations[a.job][a.op].name,
                "machine": self.machines[a.machine],
                "start": self.time(a.start),
                "end": self.time(a.end),
                "setup_end": self.time(self.setup_end(a)),
            }
            for a in assignments
        ]
        frame = pd.DataFrame(
            rows,
            columns=[
                "order",
                "item",
                "op_seq",
                "operation",
                "machine",
                "start",
                "end",
                "setup_end",
            ],
        )
        return frame.sort_values(["machine", "start", "order"], ignore_index=True)

    def downtime_frame(self) -> pd.DataFrame:
        """Every downtime of the problem with machine names and UTC timestamps."""
        rows = [
            {
                "machine": self.machines[d.machine],
                "start": self.time(d.start),
                "end": self.time(d.end),
                "reason": d.reason,
            }
            for d in self.problem.downtimes
        ]
        return pd.DataFrame(rows, columns=["machine", "start", "end", "reason"])

    def assignments_from(self, rows: pd.DataFrame) -> tuple[Assignment, ...]:
        """Stored schedule rows back as assignments of this problem.

        Rows of orders, operations or machines this problem no longer has (an order
        finished since) are left out.
        """
        jobs = {order: j for j, order in enumerate(self.orders)}
        machines = {name: m for m, name in enumerate(self.machines)}
        out = []
        for row in rows.to_dict("records"):
            j, m = jobs.get(str(row["order"])), machines.get(str(row["machine"]))
            if j is None or m is None:
                continue
            ops = [k for k, ref in enumerate(self.operations[j]) if ref.op_seq == row["op_seq"]]
            if not ops:
                continue
            start = self.minutes(pd.Timestamp(row["start"]))
            setup_end = self.minutes(pd.Timestamp(row["setup_end"]))
            end = self.minutes(pd.Timestamp(row["end"]))
            setup = work_between(self.problem.breaks(m), start, setup_end)
            out.append(Assignment(j, ops[0], m, start, end, setup))
        return tuple(out)


def utc(value: datetime | str, field: str) -> pd.Timestamp:
    """A timestamp in UTC; a naive one is read as UTC.  Bad text names ``field``."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InputError(f"cannot read '{value}' as a timestamp", field=field) from None
    if pd.isna(stamp):
        raise InputError(f"cannot read '{value}' as a timestamp", field=field)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def default_origin() -> pd.Timestamp:
    """Now, rounded up to the next whole minute (a plan never starts in the past)."""
    return pd.Timestamp.now(tz="UTC").ceil("min")


def _latest(table: str, key: str) -> str:
    """The latest ingested row of each ``key`` (a later file supersedes an earlier one)."""
    return (
        f"SELECT * FROM {table} QUALIFY row_number() OVER (PARTITION BY {key} "
        "ORDER BY ingest_id DESC NULLS LAST, seq DESC NULLS LAST) = 1"
    )


def order_status(lake: Lake) -> dict[str, str]:
    """The current status of every order in the lake."""
    latest = _latest("orders", '"order"')
    frame = lake.sql(f'SELECT "order", status FROM ({latest})')
    return {str(o): str(s) for o, s in zip(frame["order"], frame["status"], strict=True)}


def _open_orders(lake: Lake, only: Sequence[str] | None) -> pd.DataFrame:
    if lake.version("orders") is None:
        raise InputError("the lake has no orders yet: ingest production orders", field="orders")
    where, params = ["coalesce(status, '') <> 'done'"], []
    if only is not None:
        where.append(f'"order" IN ({", ".join("?" for _ in only)})')
        params = list(only)
    latest = _latest("orders", '"order"')
    frame: pd.DataFrame = lake.sql(
        f'SELECT "order", item, quantity, release, due, priority FROM ({latest}) '
        f'WHERE {" AND ".join(where)} ORDER BY "order"',
        params,
    )
    return frame


def _routings(lake: Lake, items: list[str]) -> pd.DataFrame:
    latest = _latest("routings", "item, op_seq, machine")
    frame: pd.DataFrame = lake.sql(
        f"SELECT item, op_seq, operation, machine, processing_s, setup_s, min_lag_s "
        f"FROM ({latest}) WHERE item IN ({', '.join('?' for _ in items)}) "
        "ORDER BY item, op_seq, machine",
        items,
    )
    bad = frame[frame["processing_s"].isna() | (frame["processing_s"] < 0)]
    bad = pd.concat([bad, frame[(frame["setup_s"] < 0) | (frame["min_lag_s"] < 0)]])
    if not bad.empty:
        rows = ", ".join(
            f"{r['item']} op {r['op_seq']} on {r['machine']}" for r in bad.to_dict("records")
        )
        raise InputError(f"negative or missing times in {rows}", field="routings")
    return frame


def _made(lake: Lake, orders: list[str], origin: pd.Timestamp) -> dict[tuple[str, str], int]:
    """Good units each order made on each machine before the origin."""
    frame = lake.sql(
        'SELECT "order", asset, sum(coalesce(good, 0)) AS made FROM production '
        f'WHERE "order" IN ({", ".join("?" for _ in orders)}) AND "end" <= ? GROUP BY ALL',
        [*orders, origin.to_pydatetime()],
    )
    return {(str(r["order"]), str(r["asset"])): int(r["made"]) for r in frame.to_dict("records")}


def _initial_families(
    lake: Lake, machines: dict[str, int], origin: pd.Timestamp
) -> tuple[tuple[int, str], ...]:
    """Each machine is set up for the item it produced last before the origin."""
    frame = lake.sql(
        'SELECT asset, arg_max(product, "end") AS product FROM production '
        'WHERE "end" <= ? AND product IS NOT NULL GROUP BY asset ORDER BY asset',
        [origin.to_pydatetime()],
    )
    return tuple(
        (machines[str(r["asset"])], str(r["product"]))
        for r in frame.to_dict("records")
        if r["asset"] in machines
    )


def _weight(order: str, priority: Any) -> int:
    if priority is None or pd.isna(priority):
        return 1
    if priority < 0:
        raise InputError(f"order {order} has a negative priority {priority}", field="priority")
    rounded = math.floor(float(priority) + 0.5)
    return max(rounded, 1) if priority > 0 else 0


def _minutes_up(value: float) -> int:
    return math.ceil(round(value, _DIGITS))


def _seconds(value: Any) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)


@dataclass
class _Jobs:
    jobs: list[Job]
    orders: list[str]
    items: list[str]
    operations: list[tuple[OperationRef, ...]]
    complete: list[str]


def _jobs(
    orders: pd.DataFrame,
    routings: pd.DataFrame,
    made: dict[tuple[str, str], int],
    origin: pd.Timestamp,
    machines: dict[str, int],
    may_span_break: bool,
) -> _Jobs:
    steps: dict[str, list[tuple[int, pd.DataFrame]]] = {}
    for (item, seq), rows in routings.groupby(["item", "op_seq"], sort=True):
        # pandas-stubs type a group key as any scalar; op_seq is an integer column.
        steps.setdefault(str(item), []).append((int(seq), rows))  # type: ignore[call-overload]
    out = _Jobs([], [], [], [], [])
    for order in orders.to_dict("records"):
        name, item = str(order["order"]), str(order["item"])
        quantity = int(order["quantity"])
        if quantity < 0:
            raise InputError(f"order {name} has a negative quantity", field="quantity")
        ops, refs = [], []
        # Good units counted on each machine.  A machine that serves several steps of the
        # route cannot say which step a unit was for: its count fills the earliest step
        # first (every unit passes it before the later ones), so a later step is never
        # credited with more than was possible; at worst some work is planned twice.
        pool = {str(m): made.get((name, str(m)), 0) for m in routings["machine"]}
        for seq, rows in steps[item]:
            remaining = quantity
            for machine in rows["machine"].astype(str):
                taken = min(pool[machine], remaining)
                pool[machine] -= taken
                remaining -= taken
            if remaining == 0 and quantity > 0:
                continue  # this step is done for the whole order
            alternatives = tuple(
                Alternative(
                    machines[str(r["machine"])],
                    _minutes_up(remaining * float(r["processing_s"]) / 60.0),
                    _minutes_up(_seconds(r["setup_s"]) / 60.0),
                )
                for r in rows.to_dict("records")
            )
            lag = _minutes_up(max(_seconds(v) for v in rows["min_lag_s"]) / 60.0)
            ops.append(Operation(alternatives, may_span_break=may_span_break, lag_after=lag))
            label = next((str(v) for v in rows["operation"] if isinstance(v, str) and v), "")
            refs.append(OperationRef(seq, label))
        if not ops:
            out.complete.append(name)
            continue
        release, due = order["release"], order["due"]
        job = Job(
            tuple(ops),
            0 if pd.isna(release) else max(0, minutes_from(origin, release, up=True)),
            None if pd.isna(due) else minutes_from(origin, due),
            _weight(name, order["priority"]),
            name=name,
            family=item,
        )
        out.jobs.append(job)
        out.orders.append(name)
        out.items.append(item)
        out.operations.append(tuple(refs))
    return out


def maintenance_windows(
    lake: Lake, origin: pd.Timestamp, horizon: int, machines: dict[str, int]
) -> list[tuple[int, datetime, datetime, str]]:
    """Recommended maintenance and open work orders as ``(machine, start, end, reason)``."""
    width = pd.Timedelta(hours=lake.settings.planning.maintenance_window_h)
    out: list[tuple[int, datetime, datetime, str]] = []
    registered = {v.name for v in maintenance.registry(lake).list()}
    # Without both models there is nothing to recommend; any other failure of rul()
    # (no readings, a damaged artefact) is the planner's business and propagates.
    if {maintenance.MODEL_NAME, maintenance.RUL_MODEL_NAME} <= registered:
        for rec in maintenance.rul(lake).recommendations:
            if rec.asset in machines and not pd.isna(rec.latest_safe):
                end = max(pd.Timestamp(rec.latest_safe), origin + width)
                out.append((machines[rec.asset], end - width, end, f"maintenance: {rec.asset}"))
    stop = origin + pd.Timedelta(minutes=horizon)
    orders = lake.sql(
        f'SELECT work_order, asset, start, "end" FROM ({_latest("work_orders", "work_order")}) '
        "WHERE status IN ('open', 'in_progress') AND start IS NOT NULL AND start < ? "
        "ORDER BY start, work_order",
        [stop.to_pydatetime()],
    )
    for wo in orders.to_dict("records"):
        asset = str(wo["asset"])
        if asset not in machines:
            continue
        start = pd.Timestamp(wo["start"])
        end = start + width if pd.isna(wo["end"]) else pd.Timestamp(wo["end"])
        if end > origin:
            reason = f"maintenance: {asset} (work order {wo['work_order']})"
            out.append((machines[asset], start, end, reason))
    return out


def build_problem(
    lake: Lake,
    *,
    origin: datetime | str | None = None,
    horizon_days: int | None = None,
    include_maintenance: bool = True,
    orders: Sequence[str] | None = None,
    windows: Sequence[tuple[str, datetime, datetime, str]] | None = None,
    extra_orders: pd.DataFrame | None = None,
) -> PlanningProblem:
    """The lake's open orders (or just ``orders``) as a problem from ``origin``.

    ``origin`` defaults to now (next whole minute); ``horizon_days`` to the setting.
    ``windows`` (machine name, start, end, reason) replaces the recommended maintenance
    windows (the joint plan places its own); open work orders are kept either way.
    ``extra_orders`` (order, item, quantity, release, due, priority) are planned beside
    the lake's open orders: the production orders the joint plan nets from a forecast.
    """
    settings = lake.settings.planning
    start = default_origin() if origin is None else utc(origin, "origin").ceil("min")
    days = settings.horizon_days if horizon_days is None else horizon_days
    if days < 1:
        raise InputError(f"must be at least 1 day, got {days}", field="horizon_days")
    horizon = days * MINUTES_PER_DAY
    if orders is not None and not orders:
        raise InputError("no open orders to plan (none was asked for)", field="orders")
    open_orders = _open_orders(lake, orders)
    if orders is not None:
        unknown = sorted(set(orders) - set(open_orders["order"]))
        if unknown:
            raise InputError(f"no open order {', '.join(unknown)} in the lake", field="order")
    if extra_orders is not None and len(extra_orders):
        open_orders = pd.concat(
            [open_orders, extra_orders[list(open_orders.columns)]], ignore_index=True
        )
    if open_orders.empty:
        raise InputError("no open orders to plan (every order is done)", field="orders")
    items = sorted(set(open_orders["item"].astype(str)))
    routings = _routings(lake, items)
    routed = set(routings["item"].astype(str))
    missing = open_orders[~open_orders["item"].astype(str).isin(routed)]
    if not missing.empty:
        listed = ", ".join(f"{r['order']} (item {r['item']})" for r in missing.to_dict("records"))
        raise InputError(f"no routing for {len(missing)} open order(s): {listed}", field="routings")
    machine_names = sorted(set(routings["machine"].astype(str)))
    machines = {name: m for m, name in enumerate(machine_names)}
    built = _jobs(
        open_orders,
        routings,
        _made(lake, list(open_orders["order"]), start),
        start,
        machines,
        settings.may_span_break,
    )
    if not built.jobs:
        raise InputError(
            f"every open order is already made ({', '.join(built.complete)}): nothing to plan",
            field="orders",
        )
    calendar = WorkingCalendar.from_settings(settings, lake.settings.production.timezone)
    downtimes: list[Downtime] = list(
        calendar_downtimes(calendar, start.to_pydatetime(), horizon, len(machine_names))
    )
    if include_maintenance:
        found = maintenance_windows(lake, start, horizon, machines)
        if windows is not None:
            # Keep the open work orders; the recommended windows give way to ``windows``.
            found = [w for w in found if "work order" in w[3]]
            found += [(machines[m], a, b, r) for m, a, b, r in windows if m in machines]
        downtimes += interval_downtimes(found, start.to_pydatetime(), horizon)
    problem = Problem(
        tuple(built.jobs),
        len(machine_names),
        tuple(downtimes),
        horizon=horizon,
        name=f"lake@{start:%Y-%m-%dT%H:%MZ}",
        initial_family=_initial_families(lake, machines, start),
    )
    return PlanningProblem(
        problem,
        start,
        tuple(built.orders),
        tuple(built.items),
        tuple(built.operations),
        tuple(machine_names),
        tuple(built.complete),
    )
