"""`shopfloor plan`: maintenance windows placed where production loses least.

For each asset the registered RUL model predicts, the RUL distribution (log-normal from
the prediction's interval, as :mod:`shopfloor.maintenance.decisions` reads it) prices
every candidate window of the working calendar from the lake's last record on: the next
working moment, each night or weekend long enough for the work, and the sequential slot
(in the shift at the latest safe time).  The co-optimised choice is the same function the
twin prices policies with (:func:`shopfloor.twin.policies.choose_window`), so what the
plan proposes is what ``shopfloor twin compare`` measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.twin.calendar import ShiftCalendar
from shopfloor.twin.policies import Policy, choose_window, fail_probability, sequential_window
from shopfloor.workflows import maintenance
from shopfloor.workflows.twin import accepted_risk, costs_from, plant_from_lake


@dataclass(frozen=True)
class JointPlan:
    """One row per asset with a RUL prediction: the sequential and the joint window."""

    frame: pd.DataFrame  # asset, rul_h, rul_log_sd, latest_safe, sequential_start,
    # joint_start, off_shift, bottleneck, lost_parts_in_shift
    origin: pd.Timestamp
    calendar: ShiftCalendar  # the working calendar from ``origin`` the windows were placed on


def plan_maintenance(lake: Lake, *, horizon_days: float = 14.0) -> JointPlan:
    registered = {v.name for v in maintenance.registry(lake).list()}
    if not {maintenance.MODEL_NAME, maintenance.RUL_MODEL_NAME} <= registered:
        raise InputError(
            f"{lake.path}: no condition and RUL models are registered "
            "(run `shopfloor maintenance train` first)",
            field="models",
        )
    outlook = maintenance.rul(lake)
    plant = plant_from_lake(lake, energy=False)
    settings = lake.settings
    origin = plant.calendar.origin + pd.Timedelta(seconds=plant.horizon_s)
    p = settings.planning
    # A year of windows: a long RUL still gets a date (the calendar is a few hundred rows).
    calendar = ShiftCalendar.weekly(origin, 365.0, p.working_days, p.working_hours)
    costs = costs_from(settings)
    policy = Policy("co_optimised", risk=accepted_risk(settings))
    machines = {m.asset: (line, m) for line in plant.lines for m in line.machines}
    pred = outlook.prediction
    z = norm.ppf(0.5 + pred.level / 2)
    rows = []
    for i, unit in enumerate(pred.unit):
        asset = str(unit)
        if asset not in machines:
            continue
        line, m = machines[asset]
        rul = float(max(pred.rul[i], 1e-3))
        spread = np.log((max(pred.upper[i], 0) + 1) / (max(pred.lower[i], 0) + 1)) / (2 * z)
        log_sd = float(max(spread, 0.05))
        pm_s = float(np.exp(m.pm_log_mean)) * 3600.0
        bn = line.bottleneck.asset == asset
        lost = pm_s / line.bottleneck.cycle_s if bn else 0.0
        stops = plant.stops.get(asset, ())
        since = stops[-1][0] if stops else 0.0
        age_h = plant.calendar.open_seconds(since, plant.horizon_s) / 3600.0
        seq = sequential_window(0.0, rul, log_sd, policy, calendar, pm_s)
        joint = choose_window(
            0.0,
            rul,
            log_sd,
            age_h=age_h,
            policy=policy,
            calendar=calendar,
            costs=costs,
            pm_s=pm_s,
            parts_lost_in_shift=lost,
            horizon_h=horizon_days * 16.0,
        )
        at = calendar.origin
        # In-shift work starts at the next working moment (the origin may be a night).
        seq_s = calendar.next_open(seq.start_s)
        joint_s = joint.start_s if joint.off_shift else calendar.next_open(joint.start_s)
        rows.append(
            {
                "asset": asset,
                "line": line.line,
                "rul_h": rul,
                "rul_log_sd": log_sd,
                "sequential_start": (at + pd.Timedelta(seconds=seq_s)).floor("s"),
                "joint_start": (at + pd.Timedelta(seconds=joint_s)).floor("s"),
                "off_shift": joint.off_shift,
                "bottleneck": bn,
                "work_h": pm_s / 3600.0,
                "lost_parts_in_shift": lost,
            }
        )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values("joint_start", ignore_index=True)
    return JointPlan(frame, origin, calendar)


@dataclass(frozen=True)
class PlanCosts:
    """Expected cost of one plan's maintenance and what its schedule gives production."""

    maintenance: float  # failure risk before each window x failure + planned work (+ premium)
    in_shift_work_h: float  # maintenance hours inside working time
    late_min: float  # summed minutes late over the open orders
    late_orders: int
    makespan_min: float | None
    holding: float  # projected stock of the forecast items x holding cost
    stockout: float  # forecast parts whose production order finishes late x stock-out cost


@dataclass(frozen=True)
class ProductionOrders:
    """Production orders netted from the latest forecast of the items the lines make."""

    orders: pd.DataFrame  # order, item, quantity, release, due, priority
    projection: pd.DataFrame  # per item and period: demand, receipts, planned, stock_end
    holding_unit_days: float
    note: str  # why there are none, when there are none


def production_orders(lake: Lake, origin: pd.Timestamp, horizon_days: float) -> ProductionOrders:
    """Net the latest forecast of the items the lines make (items with a routing; the
    supply forecasts of raw materials are not theirs) against stock and open orders.

    Demand is the forecast's mean summed over locations; the safety stock of an item is
    the largest gap between its 90 % quantile and its mean over the horizon.
    """
    from shopfloor.planning.replenishment import net_requirements

    columns = ["order", "item", "quantity", "release", "due", "priority"]
    empty = pd.DataFrame(columns=columns)
    if lake.version("forecasts") is None or lake.version("routings") is None:
        return ProductionOrders(empty, pd.DataFrame(), 0.0, "no forecasts in the lake")
    end = origin + pd.Timedelta(days=horizon_days)
    forecast = lake.sql(
        "WITH routed AS (SELECT DISTINCT item FROM routings), latest AS ("
        "SELECT forecast_id FROM forecasts WHERE item IN (SELECT item FROM routed) "
        "ORDER BY created_at DESC LIMIT 1) "
        "SELECT item, any_value(period) AS period, period_start, sum(mean) AS demand, "
        "sum(coalesce(q90, mean)) AS q90 FROM forecasts "
        "WHERE forecast_id = (SELECT forecast_id FROM latest) "
        "AND item IN (SELECT item FROM routed) "
        "AND period_start >= CAST(? AS DATE) AND period_start < CAST(? AS DATE) "
        "GROUP BY item, period_start ORDER BY item, period_start",
        [origin.date(), end.date()],
    )
    if forecast.empty:
        note = "no forecast of an item the lines make (an item with a routing) in the horizon"
        return ProductionOrders(empty, pd.DataFrame(), 0.0, note)
    items = sorted(forecast["item"].astype(str).unique())
    marks = ", ".join("?" for _ in items)
    stock = (
        lake.sql(
            "SELECT item, sum(on_hand - coalesce(allocated, 0)) AS free FROM ("
            "SELECT *, row_number() OVER (PARTITION BY item, location ORDER BY ts DESC) AS k "
            f"FROM inventory WHERE item IN ({marks})) WHERE k = 1 GROUP BY item",
            items,
        )
        if lake.version("inventory") is not None
        else pd.DataFrame(columns=["item", "free"])
    )
    scheduled = lake.sql(
        f"SELECT item, due, quantity FROM orders WHERE item IN ({marks}) "
        "AND coalesce(status, '') <> 'done'",
        items,
    )
    safety = (forecast["q90"] - forecast["demand"]).groupby(forecast["item"]).max()
    plan = net_requirements(
        forecast[["item", "period_start", "demand"]],
        dict(zip(stock["item"].astype(str), stock["free"].astype(float), strict=True)),
        scheduled,
        safety_stock={str(k): float(max(v, 0.0)) for k, v in safety.items()},
    )
    period_days = {"day": 1.0, "week": 7.0, "month": 30.4}.get(str(forecast["period"].iloc[0]), 1.0)
    rows = [
        {
            "order": f"PLAN-{o.item}-{k + 1:03d}",
            "item": o.item,
            "quantity": o.quantity,
            "release": origin,
            "due": max(o.due, origin + pd.Timedelta(hours=1)),
            "priority": 1.0,
        }
        for k, o in enumerate(plan.orders)
    ]
    return ProductionOrders(
        pd.DataFrame(rows, columns=columns),
        plan.projection,
        plan.holding_units * period_days,
        "" if rows else "the stock and open orders cover the forecast",
    )


@dataclass(frozen=True)
class JointSchedule:
    windows: JointPlan
    production: ProductionOrders
    schedule_id: str  # the stored joint schedule
    joint: PlanCosts
    sequential: PlanCosts  # maintenance first, production around it, same solver budget


def _window_rows(plan: JointPlan, which: str) -> list[tuple[str, Any, Any, str]]:
    out = []
    for row in plan.frame.to_dict("records"):
        start = pd.Timestamp(row[f"{which}_start"])
        end = start + pd.Timedelta(hours=float(row["work_h"]))
        label = "off shift" if which == "joint" and row["off_shift"] else "in shift"
        out.append(
            (
                str(row["asset"]),
                start.to_pydatetime(),
                end.to_pydatetime(),
                f"{which} maintenance: {row['asset']} ({label})",
            )
        )
    return out


def _expected_maintenance(plan: JointPlan, which: str, lake: Lake) -> tuple[float, float]:
    costs = costs_from(lake.settings)
    calendar = plan.calendar
    total, in_shift = 0.0, 0.0
    for row in plan.frame.to_dict("records"):
        start_s = (pd.Timestamp(row[f"{which}_start"]) - plan.origin).total_seconds()
        hours = calendar.open_seconds(0.0, start_s) / 3600.0
        risk = fail_probability(float(row["rul_h"]), float(row["rul_log_sd"]), hours)
        off = which == "joint" and bool(row["off_shift"])
        work = costs.planned * (1 + costs.off_shift_premium) if off else costs.planned
        total += risk * costs.failure + (1 - risk) * work
        if not off:
            in_shift += float(row["work_h"])
    return total, in_shift


def plan_jointly(
    lake: Lake,
    *,
    horizon_days: int | None = None,
    time_limit_s: float | None = None,
    objective: str | None = None,
) -> JointSchedule:
    """One planning run: production orders netted from the latest forecast and the stock
    (:func:`production_orders`), maintenance placed (:func:`plan_maintenance`), and the
    open and planned orders scheduled around those windows with CP-SAT.  The sequential
    plan (windows at the latest safe time, in the shift) is solved with the same budget
    and the same orders for comparison.  Stores the joint schedule."""
    from shopfloor.workflows.planning import order_frame, plan, scheduler_for
    from shopfloor.workflows.planning_problem import build_problem

    days = horizon_days or lake.settings.planning.horizon_days
    windows = plan_maintenance(lake, horizon_days=float(days))
    origin = windows.origin.ceil("min")
    made = production_orders(lake, origin, float(days))
    problems = {
        which: build_problem(
            lake,
            origin=origin,
            horizon_days=days,
            windows=_window_rows(windows, which),
            extra_orders=made.orders,
        )
        for which in ("joint", "sequential")
    }
    stored = plan(lake, planning=problems["joint"], time_limit_s=time_limit_s, objective=objective)
    sequential = scheduler_for(lake, objective=objective, time_limit_s=time_limit_s).solve(
        problems["sequential"].problem
    )
    twin_settings = lake.settings.twin
    holding = made.holding_unit_days * twin_settings.holding_cost_per_unit_day
    quantity = dict(zip(made.orders["order"], made.orders["quantity"], strict=True))
    figures = {}
    for which, assignments, makespan in (
        ("joint", stored.schedule.assignments, stored.schedule.makespan),
        ("sequential", sequential.assignments, sequential.makespan),
    ):
        orders = order_frame(problems[which], assignments)
        cost, in_shift = _expected_maintenance(windows, which, lake)
        late_planned = orders[(orders["late_min"] > 0) & orders["order"].isin(quantity)]
        short = float(sum(quantity[o] for o in late_planned["order"]))
        figures[which] = PlanCosts(
            maintenance=cost,
            in_shift_work_h=in_shift,
            late_min=float(orders["late_min"].sum()),
            late_orders=int((orders["late_min"] > 0).sum()),
            makespan_min=None if makespan is None else float(makespan),
            holding=holding,
            stockout=short * twin_settings.stockout_cost_per_unit,
        )
    return JointSchedule(windows, made, stored.schedule_id, figures["joint"], figures["sequential"])
