"""Calibrate the twin from a plant's history: one pure function over canonical frames.

What is read from where (the lake's canonical tables, ``schema.py``):

* **cycle time** of a machine = its ``running`` state time / parts it made (``production``
  good + scrap); **scrap rate** = scrap / parts.
* **minor stops**: ``down`` states that do not overlap a ``failure`` event; their rate per
  running hour and mean length.
* **changeovers**: mean length of the machine's ``changeover`` states; they happen where
  the product of the line's order sequence changes.
* **failures and repairs**: each ``failure`` event starts a repair that lasts the
  machine's non-minor ``down`` time until the corrective ``maintenance`` event ends (the
  crew's response included), fitted as a log-normal on working hours.
* **lives**: working hours between renewals (a failure, or a ``preventive`` /
  ``predictive`` maintenance, which replaces the worn part; routine ``planned``
  maintenance does not).  Preventive renewals are right-censored lives, so the fitted
  Weibull is the *natural* life a part would reach without maintenance.  Machines have few
  lives in a month, so the shape is shared by the fleet and each machine gets its own scale
  (maximum likelihood, half an event of prior so a machine with no failure still gets a
  finite life).
* **P-F interval** (when the condition model first sees a developing fault): the share
  of each failed life that had passed when the first ``alert`` of that life was raised;
  the mean over failures (default 0.7 when there are no alerts).
* **order sequence** of each line: its orders in the order the line started them, with
  quantity and due date; **buffers** are not in the data model: ``twin.buffer_minutes`` of
  the slowest machine's output sit between two machines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from shopfloor.errors import InputError
from shopfloor.twin.calendar import ShiftCalendar
from shopfloor.twin.energy import PriceGrid

RENEWING = ("preventive", "predictive", "corrective")
_MIN_REPAIR_H = 0.25


@dataclass(frozen=True)
class MachineModel:
    asset: str
    line: str
    position: int
    ideal_cycle_s: float
    cycle_s: float  # actual seconds per part while running
    scrap_rate: float
    minor_per_h: float  # minor stops per running hour
    minor_mean_s: float
    changeover_s: float
    life_shape: float  # Weibull shape of the natural life (working hours)
    life_scale_h: float
    repair_log_mean: float  # log-normal of a repair's working hours
    repair_log_sd: float
    pm_log_mean: float  # log-normal of a preventive maintenance's hours
    pm_log_sd: float
    failures: int  # seen in the history
    renewals: int

    @property
    def mean_life_h(self) -> float:
        from scipy.special import gamma

        return float(self.life_scale_h * gamma(1.0 + 1.0 / self.life_shape))


@dataclass(frozen=True)
class Order:
    order: str
    product: str
    quantity: float
    due_s: float  # seconds since the twin's origin (may be negative: already late)


@dataclass(frozen=True)
class LineModel:
    line: str
    machines: tuple[MachineModel, ...]  # in flow order
    buffer_parts: tuple[float, ...]  # capacity between machine i and i+1
    orders: tuple[Order, ...]

    @property
    def bottleneck(self) -> MachineModel:
        return max(self.machines, key=lambda m: m.cycle_s)


@dataclass(frozen=True)
class PlantModel:
    """Everything a simulation needs besides the policy and the random seed."""

    lines: tuple[LineModel, ...]
    calendar: ShiftCalendar
    horizon_s: float
    detect_fraction: float  # P-F: share of a life after which the fault is visible
    rul_log_sd: float  # spread of the RUL model's error (log scale)
    history: dict[str, float]  # what the lake showed: throughput per line, OEE, ...
    # The history's own stops per machine, (start s, working seconds, 'failure' | 'pm'):
    # replaying them validates the flow model apart from the failure distributions.
    stops: dict[str, tuple[tuple[float, float, str], ...]] = field(default_factory=dict)
    # Mean kW per machine (running, idle) and the tariff on the twin's clock; empty or
    # None when the lake has no power signal (energy is then not priced).
    power: dict[str, tuple[float, float]] = field(default_factory=dict)
    prices: PriceGrid | None = None

    @property
    def machines(self) -> tuple[MachineModel, ...]:
        return tuple(m for line in self.lines for m in line.machines)

    def with_lines(self, lines: Sequence[LineModel]) -> PlantModel:
        return replace(self, lines=tuple(lines))


def _overlap(a0: np.ndarray, a1: np.ndarray, b0: float, b1: float) -> float:
    return float(np.sum(np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0.0, None)))


def _lognormal(hours: Sequence[float], default: tuple[float, float]) -> tuple[float, float]:
    x = np.log(np.maximum(np.asarray(hours, dtype=float), _MIN_REPAIR_H))
    if x.size == 0:
        return default
    sd = float(np.std(x, ddof=1)) if x.size > 2 else default[1]
    return float(np.mean(x)), max(sd, 0.1)


def fit_weibull(
    lives: dict[str, tuple[np.ndarray, np.ndarray]],
) -> tuple[float, dict[str, float]]:
    """Shared shape, per-unit scale, maximum likelihood with right censoring.

    ``lives[unit] = (hours, failed)``; returns ``(shape, {unit: scale})``.
    """
    units = [u for u, (t, _) in lives.items() if t.size]
    if not units:
        raise InputError("no machine has working time to fit lives on", field="events")

    def scales(k: float) -> dict[str, float]:
        out = {}
        for u in units:
            t, d = lives[u]
            out[u] = float((np.sum(t**k) / max(float(np.sum(d)), 0.5)) ** (1.0 / k))
        return out

    def nll(k: float) -> float:
        total = 0.0
        for u, lam in scales(k).items():
            t, d = lives[u]
            z = np.maximum(t, 1e-6) / lam
            total -= float(np.sum(d * (np.log(k / lam) + (k - 1) * np.log(z))) - np.sum(z**k))
        return total

    res = minimize_scalar(nll, bounds=(0.8, 8.0), method="bounded")
    k = float(res.x)
    return k, scales(k)


def _in_shift_hours(calendar: ShiftCalendar, t0: pd.Timestamp, a: float, b: float) -> float:
    off = (t0 - calendar.origin).total_seconds()
    return calendar.open_seconds(a - off, b - off) / 3600.0


def calibrate(
    events: pd.DataFrame,
    production: pd.DataFrame,
    orders: pd.DataFrame,
    machine_lines: pd.DataFrame,
    calendar: ShiftCalendar,
    *,
    alerts: pd.DataFrame | None = None,
    buffer_minutes: float = 30.0,
    rul_log_sd: float = 0.35,
    horizon_s: float | None = None,
) -> PlantModel:
    """A :class:`PlantModel` from canonical frames of the history window.

    ``machine_lines``: asset, line, position (flow order); ``calendar`` starts where the
    history starts.  Times are seconds on the calendar's clock.
    """
    if machine_lines.empty:
        raise InputError("no machine belongs to a line", field="assets.line")
    t0 = calendar.origin

    def sec(col: pd.Series) -> np.ndarray:
        return (pd.to_datetime(col, utc=True) - t0).dt.total_seconds().to_numpy(float)

    ev = events.copy()
    last = float(np.nanmax(sec(ev["end"]))) if len(ev) else 0.0
    ev["s"], ev["e"] = sec(ev["start"]), np.nan_to_num(sec(ev["end"]), nan=last)
    states = ev[ev["kind"] == "state"]
    failures = ev[ev["kind"] == "failure"]
    maint = ev[ev["kind"] == "maintenance"]
    prod = production.copy()
    end_s = horizon_s if horizon_s is not None else last
    lives: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    drafts: dict[str, dict[str, Any]] = {}
    repairs_h: list[float] = []
    stops: dict[str, tuple[tuple[float, float, str], ...]] = {}
    pms_h: list[float] = []
    fractions: list[float] = []
    for a_raw, line_raw, pos_raw in machine_lines[["asset", "line", "position"]].itertuples(
        index=False, name=None
    ):
        a = str(a_raw)
        st, fl = states[states["asset"] == a], failures[failures["asset"] == a]
        mt = maint[maint["asset"] == a]
        pr = prod[prod["asset"] == a]
        run_s = float((st["e"] - st["s"])[st["code"] == "running"].sum())
        parts = float(pr["good"].sum() + pr["scrap"].sum())
        if parts <= 0 or run_s <= 0:
            raise InputError(f"machine {a} made no parts in the history", field="production")
        down = st[st["code"] == "down"]
        ds, de = down["s"].to_numpy(), down["e"].to_numpy()
        in_failure = np.zeros(ds.size, dtype=bool)
        trace: list[tuple[float, float, str]] = []
        for f_s, f_e in zip(fl["s"].to_numpy(float), fl["e"].to_numpy(float), strict=True):
            repair = mt[(mt["code"] == "corrective") & (mt["e"] >= f_s)]
            f_end = float(repair["e"].min()) if len(repair) else float(f_e)
            hit = (ds < f_end) & (de > f_s)
            in_failure |= hit
            repairs_h.append(_overlap(ds[hit], de[hit], float(f_s), f_end) / 3600.0)
            trace.append((float(f_s), repairs_h[-1] * 3600.0, "failure"))
        minor = ~in_failure
        mstate = st[st["code"] == "maintenance"]
        pm_rows = mt[mt["code"].isin(["preventive", "predictive"])]
        ms_s, ms_e = mstate["s"].to_numpy(), mstate["e"].to_numpy()
        for p_s, p_e in zip(
            pm_rows["s"].to_numpy(float), pm_rows["e"].to_numpy(float), strict=True
        ):
            pms_h.append(_overlap(ms_s, ms_e, float(p_s), float(p_e)) / 3600)
            trace.append((float(p_s), pms_h[-1] * 3600.0, "pm"))
        stops[a] = tuple(sorted(trace))
        co = st[st["code"] == "changeover"]
        # Renewals: failures (at their start) and preventive work (at its end).
        renew = sorted(
            [(float(s), 1) for s in fl["s"]]
            + [(float(e), 0) for e in mt.loc[mt["code"].isin(RENEWING[:2]), "e"]]
        )
        t_prev, hours, failed = 0.0, [], []
        alert_s = (
            np.sort(sec(alerts.loc[alerts["asset"] == a, "start"]))
            if alerts is not None and len(alerts)
            else np.zeros(0)
        )
        for t, is_fail in renew:
            h = _in_shift_hours(calendar, t0, t_prev, t)
            if h > 0.5:
                hours.append(h)
                failed.append(is_fail)
                seen = alert_s[(alert_s > t_prev) & (alert_s <= t)]
                if is_fail and seen.size:
                    fractions.append(_in_shift_hours(calendar, t0, t_prev, seen[0]) / h)
            t_prev = t
        tail = _in_shift_hours(calendar, t0, t_prev, end_s)
        if tail > 0.5:
            hours.append(tail)
            failed.append(0)
        lives[a] = (np.array(hours), np.array(failed, dtype=float))
        drafts[a] = {
            "line": str(line_raw),
            "position": int(pos_raw),
            "ideal": float(
                np.average(pr["ideal_cycle_s"], weights=pr["good"] + pr["scrap"] + 1e-9)
            ),
            "cycle": run_s / parts,
            "scrap": float(pr["scrap"].sum()) / parts,
            "minor_per_h": float(minor.sum()) / (run_s / 3600.0),
            "minor_mean": float(np.mean(de[minor] - ds[minor])) if minor.any() else 0.0,
            "changeover": float((co["e"] - co["s"]).mean()) if len(co) else 0.0,
            "failures": len(fl),
            "renewals": len(renew),
        }
    shape, scale = fit_weibull(lives)
    rep = _lognormal(repairs_h, (np.log(2.5), 0.7))
    pm = _lognormal(pms_h, (np.log(2.0), 0.4))
    machines = {
        a: MachineModel(
            asset=a,
            line=str(d["line"]),
            position=int(d["position"]),
            ideal_cycle_s=d["ideal"],
            cycle_s=d["cycle"],
            scrap_rate=d["scrap"],
            minor_per_h=d["minor_per_h"],
            minor_mean_s=d["minor_mean"],
            changeover_s=d["changeover"],
            life_shape=shape,
            life_scale_h=scale[a],
            repair_log_mean=rep[0],
            repair_log_sd=rep[1],
            pm_log_mean=pm[0],
            pm_log_sd=pm[1],
            failures=int(d["failures"]),
            renewals=int(d["renewals"]),
        )
        for a, d in drafts.items()
    }
    lines = []
    for line, group in machine_lines.groupby("line", sort=True):
        ms = tuple(machines[str(a)] for a in group.sort_values("position")["asset"])
        pace = max(m.cycle_s for m in ms)
        covers = _buffer_covers(
            states, failures, calendar, t0, [m.asset for m in ms], buffer_minutes * 60.0
        )
        buffers = tuple(c / pace for c in covers)
        lines.append(LineModel(str(line), ms, buffers, _order_sequence(orders, prod, ms, t0)))
    detect = float(np.clip(np.mean(fractions), 0.05, 0.95)) if fractions else 0.7
    return PlantModel(
        lines=tuple(lines),
        calendar=calendar,
        horizon_s=end_s,
        detect_fraction=detect,
        rul_log_sd=rul_log_sd,
        history={},
        stops=stops,
    )


def _buffer_covers(
    states: pd.DataFrame,
    failures: pd.DataFrame,
    calendar: ShiftCalendar,
    t0: pd.Timestamp,
    assets: Sequence[str],
    default_s: float,
) -> list[float]:
    """Working seconds each buffer of a line bridges, read from the history's breakdowns.

    When machine ``j`` breaks down, a machine ``k`` downstream runs on from the buffers
    between them and is starved once they are empty (upstream: blocked once they are
    full).  A first long wait (>= 10 min) of ``k`` inside the repair measures the buffers
    between ``j`` and ``k`` exactly; no wait at all during a repair of ``D`` seconds says
    they bridge *at least* ``D`` (a censored observation).  Each buffer takes the median
    of its exact measurements between neighbours, else the largest lower bound any
    breakdown implies for it once the buffers before it are known, else ``default_s``.
    """
    n = len(assets)
    exact: list[list[float]] = [[] for _ in range(n - 1)]
    bound: list[list[tuple[int, float]]] = [[] for _ in range(n - 1)]  # (other end, seconds)
    for j, broken in enumerate(assets):
        mine = failures[failures["asset"] == broken]
        for f_s, f_e in zip(mine["s"].to_numpy(float), mine["e"].to_numpy(float), strict=True):
            repair = _in_shift_hours(calendar, t0, float(f_s), float(f_e)) * 3600.0
            for k, other in enumerate(assets):
                if k == j:
                    continue
                wait = "starved" if k > j else "blocked"
                w = states[(states["asset"] == other) & (states["code"] == wait)]
                ws, we = w["s"].to_numpy(), w["e"].to_numpy()
                hit = (ws >= f_s) & (ws < f_e) & (we - ws >= 600.0)
                near = k - 1 if k > j else k  # the buffer next to ``k`` on ``j``'s side
                far = j if k > j else j - 1  # the buffer next to ``j``
                if hit.any():
                    if abs(k - j) == 1:
                        first = float(ws[hit].min())
                        exact[near].append(_in_shift_hours(calendar, t0, float(f_s), first) * 3600)
                else:
                    bound[near].append((far, repair))
    covers: list[float] = []
    for i in range(n - 1):
        if exact[i]:
            covers.append(float(np.median(exact[i])))
            continue
        lows = []
        for far, seconds in bound[i]:
            between = covers[far:i] if far < i else []  # upstream side: known already
            lows.append(seconds - sum(between))
        covers.append(max([default_s, *lows]))
    return covers


def _order_sequence(
    orders: pd.DataFrame, prod: pd.DataFrame, machines: Sequence[MachineModel], t0: pd.Timestamp
) -> tuple[Order, ...]:
    """The line's orders in the order its first machine started them."""
    first = prod[prod["asset"] == machines[0].asset]
    started = first.groupby("order", sort=False)["start"].min().sort_values()
    made = (first["good"] + first["scrap"]).groupby(first["order"]).sum()
    if started.empty:
        return ()
    known = orders.set_index("order")
    # Then the line's orders not started yet (same products), by release: the work that
    # keeps the line loaded if the twin runs faster than the history did.
    products = set(first["product"].dropna())
    rest = orders[orders["item"].isin(products) & ~orders["order"].isin(started.index)]
    sequence = [*started.index, *rest.sort_values(["release", "order"])["order"]]
    out = []
    for order in sequence:
        if order not in known.index:
            continue
        o = known.loc[order]
        due = (pd.Timestamp(o["due"]) - t0).total_seconds() if pd.notna(o["due"]) else np.inf
        # What the line really started of an order may exceed its quantity (overruns for
        # scrap, rework): the twin follows what was made.
        qty = max(float(o["quantity"]), float(made.get(order, 0.0)))
        out.append(Order(str(order), str(o["item"]), qty, float(due)))
    return tuple(out)
