"""The digital twin over the lake: calibrate, validate against history, run what-ifs and
compare maintenance policies (``shopfloor twin``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from shopfloor.config import Settings
from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.twin.calendar import ShiftCalendar
from shopfloor.twin.calibration import PlantModel, calibrate
from shopfloor.twin.energy import PriceGrid
from shopfloor.twin.experiment import (
    Comparison,
    Scenario,
    ScenarioResult,
    compare,
    run_scenarios,
)
from shopfloor.twin.model import simulate
from shopfloor.twin.policies import Costs, Policy, optimal_interval

Progress = Callable[[int, int], None]


def costs_from(settings: Settings) -> Costs:
    m, t = settings.maintenance, settings.twin
    return Costs(
        failure=m.cost_failure,
        planned=m.cost_planned,
        off_shift_premium=t.off_shift_premium,
        lost_part=t.lost_part_cost,
        tardiness_per_h=t.tardiness_cost_per_h,
    )


def accepted_risk(settings: Settings) -> float:
    """The newsvendor's critical ratio, as :mod:`shopfloor.maintenance.decisions` uses."""
    m = settings.maintenance
    return m.cost_planned / (m.cost_planned + m.cost_failure)


def _machine_lines(lake: Lake) -> pd.DataFrame:
    assets = lake.table("assets").to_pandas()
    machines = assets[(assets["level"] == "machine") & assets["line"].notna()]
    if machines.empty:
        raise InputError(f"{lake.path}: no machine of the assets table is on a line", field="line")
    routings = lake.table("routings").to_pandas() if lake.version("routings") is not None else None
    out = machines[["asset", "line"]].copy()
    if routings is not None and len(routings):
        first = routings.groupby("machine")["op_seq"].min()
        out["position"] = out["asset"].map(first)
    if "position" not in out or out["position"].isna().any():
        out["position"] = out.groupby("line")["asset"].rank(method="first")
    out["position"] = out.groupby("line")["position"].rank(method="first").astype(int) - 1
    return cast(pd.DataFrame, out.reset_index(drop=True))


def plant_from_lake(
    lake: Lake, *, horizon_days: float | None = None, energy: bool = True
) -> PlantModel:
    """The twin calibrated on the lake's history (``twin.history_days``, default all).

    ``energy=False`` skips machine power and the tariff (a scan of the readings): for
    callers that price no energy (the replay validation, the maintenance windows)."""
    for table in ("events", "production", "orders"):
        if lake.version(table) is None:
            raise InputError(f"{lake.path}: the twin needs the '{table}' table", field=table)
    settings = lake.settings
    events = lake.table("events").to_pandas()
    if events.empty:
        raise InputError(f"{lake.path}: the events table is empty", field="events")
    end = pd.to_datetime(events["end"], utc=True).max()
    start = pd.to_datetime(events["start"], utc=True).min()
    if settings.twin.history_days is not None:
        start = max(start, end - pd.Timedelta(days=settings.twin.history_days))
        cut = pd.to_datetime(events["start"], utc=True) >= start
        events = events[cut]
    production = lake.table("production").to_pandas()
    production = production[pd.to_datetime(production["start"], utc=True) >= start]
    orders = lake.table("orders").to_pandas()
    alerts = lake.table("alerts").to_pandas() if lake.version("alerts") is not None else None
    history_days = (end - start).total_seconds() / 86400.0
    days = max(history_days, horizon_days or 0.0)
    p = settings.planning
    calendar = ShiftCalendar.weekly(start, days, p.working_days, p.working_hours)
    plant = calibrate(
        events,
        production,
        orders,
        _machine_lines(lake),
        calendar,
        alerts=alerts,
        buffer_minutes=settings.twin.buffer_minutes,
        rul_log_sd=settings.twin.rul_log_sd,
        horizon_s=history_days * 86400.0,
    )
    if horizon_days is not None:
        plant = replace(plant, horizon_s=horizon_days * 86400.0)
    return _with_energy(lake, plant, days) if energy else plant


def _with_energy(lake: Lake, plant: PlantModel, days: float) -> PlantModel:
    """Machine power from the lake's power signal and the tariff on the twin's clock; the
    plant unchanged when the lake has no power signal."""
    from shopfloor.workflows.energy import machine_power_from_lake
    from shopfloor.workflows.energy import tariff as energy_tariff

    try:
        power = machine_power_from_lake(lake, lake.settings).frame
    except InputError:
        return plant
    kw = {
        str(r["asset"]): (float(r["running_kw"]), float(r["idle_kw"]))
        for r in power.to_dict("records")
        if np.isfinite(r["running_kw"]) and np.isfinite(r["idle_kw"])
    }
    if not kw:
        return plant
    steps = int(np.ceil((days + 8) * 86400 / 900.0))
    times = plant.calendar.origin + pd.to_timedelta(np.arange(steps) * 900.0, unit="s")
    tariff = energy_tariff(lake.settings)  # in the plant's time zone
    prices = PriceGrid(np.asarray(tariff.price_at(pd.DatetimeIndex(times)), dtype=float))
    return replace(plant, power=kw, prices=prices)


@dataclass(frozen=True)
class LineCheck:
    line: str
    lake_throughput_h: float  # good parts of the line's bottleneck per working hour
    twin_throughput_h: float
    lake_output_h: float  # good parts of the line's last machine per working hour
    twin_output_h: float
    lake_oee: float
    twin_oee: float

    @property
    def throughput_error(self) -> float:
        return self.twin_throughput_h / self.lake_throughput_h - 1.0

    @property
    def oee_error(self) -> float:
        return self.twin_oee / self.lake_oee - 1.0


@dataclass(frozen=True)
class Validation:
    lines: tuple[LineCheck, ...]
    replications: int
    tolerance: float
    failures_lake: int
    failures_twin: float  # mean over replications of the stochastic (as operated) twin

    @property
    def within(self) -> bool:
        return all(
            abs(c.throughput_error) <= self.tolerance and abs(c.oee_error) <= self.tolerance
            for c in self.lines
        )


def _lake_line_figures(lake: Lake, plant: PlantModel) -> dict[str, tuple[float, float, float]]:
    """(bottleneck good/h, last machine good/h, OEE) per line from the lake's history."""
    from shopfloor.workflows.production import oee

    start = plant.calendar.origin.floor("D") - pd.Timedelta(days=7)
    end = plant.calendar.origin + pd.Timedelta(seconds=plant.horizon_s)
    working_h = plant.calendar.open_seconds(0.0, plant.horizon_s) / 3600.0
    counts = lake.table("production").to_pandas()
    counts = counts[pd.to_datetime(counts["start"], utc=True) >= plant.calendar.origin]
    good = counts.groupby("asset")["good"].sum()
    frame = oee(lake, by="line", period="week").frame
    out = {}
    frame = frame[(frame["period_start"] >= start) & (frame["period_start"] < end)]
    for line in plant.lines:
        sel = frame[frame["group"] == line.line]
        line_oee = float(sel["ideal_good_s"].sum() / sel["planned_time_s"].sum())
        out[line.line] = (
            float(good.get(line.bottleneck.asset, 0.0)) / working_h,
            float(good.get(line.machines[-1].asset, 0.0)) / working_h,
            line_oee,
        )
    return out


def validate(
    lake: Lake,
    *,
    replications: int = 10,
    tolerance: float = 0.05,
    progress: Progress | None = None,
) -> Validation:
    """Replay the history's own stops in the twin; compare throughput and OEE per line.

    The flow model (speeds, minor stops, changeovers, scrap, buffers, shifts) is checked by
    replaying the recorded failures and preventive work; the failure model separately, by
    the failures the stochastic twin expects against those the history had.
    """
    plant = plant_from_lake(lake, energy=False)
    costs = costs_from(lake.settings)
    lot = lake.settings.twin.lot_parts
    working_h = plant.calendar.open_seconds(0.0, plant.horizon_s) / 3600.0
    figures = _lake_line_figures(lake, plant)
    per_line: dict[str, list[tuple[float, float, float]]] = {ln.line: [] for ln in plant.lines}
    failures = []
    for k in range(replications):
        run = simulate(plant, Policy("replay"), costs, seed=k, lot_parts=lot)
        for line_model, res in zip(plant.lines, run.lines, strict=True):
            bn = next(m for m in res.machines if m.asset == line_model.bottleneck.asset)
            ideal_good = sum(m.ideal_cycle_s * m.good for m in res.machines)
            planned = sum(run.working_s - m.pm_s for m in res.machines)
            per_line[line_model.line].append(
                (bn.good / working_h, res.machines[-1].good / working_h, ideal_good / planned)
            )
        stochastic = simulate(
            plant, Policy("as_operated", catch=_catch(plant)), costs, k, lot_parts=lot
        )
        failures.append(sum(m.failures for m in stochastic.machines))
        if progress:
            progress(k + 1, replications)
    checks = []
    for line, values in per_line.items():
        arr = np.array(values)
        lake_bn, lake_last, lake_oee = figures[line]
        checks.append(
            LineCheck(
                line,
                lake_bn,
                float(arr[:, 0].mean()),
                lake_last,
                float(arr[:, 1].mean()),
                lake_oee,
                float(arr[:, 2].mean()),
            )
        )
    return Validation(
        tuple(checks),
        replications,
        tolerance,
        failures_lake=sum(m.failures for m in plant.machines),
        failures_twin=float(np.mean(failures)),
    )


def _catch(plant: PlantModel) -> float:
    """Share of renewals the history did before a failure (its preventive catch rate)."""
    renewals = sum(m.renewals for m in plant.machines)
    fails = sum(m.failures for m in plant.machines)
    return float(np.clip(1.0 - fails / renewals, 0.0, 1.0)) if renewals else 0.0


def policy_scenarios(plant: PlantModel, settings: Settings) -> list[Scenario]:
    """The four maintenance policies the joint plan is judged against."""
    costs = costs_from(settings)
    shape = plant.machines[0].life_shape
    scale = float(np.median([m.life_scale_h for m in plant.machines]))
    interval = optimal_interval(shape, scale, costs)
    risk = accepted_risk(settings)
    return [
        Scenario("run_to_failure", Policy("run_to_failure")),
        Scenario("fixed_interval", Policy("fixed_interval", interval_h=interval)),
        Scenario("sequential", Policy("sequential", risk=risk)),
        Scenario("co_optimised", Policy("co_optimised", risk=risk)),
    ]


@dataclass(frozen=True)
class PolicyStudy:
    results: tuple[ScenarioResult, ...]
    comparisons: tuple[Comparison, ...]  # co-optimised against each other policy
    replications: int
    horizon_days: float
    fixed_interval_h: float


def compare_policies(
    lake: Lake,
    *,
    replications: int | None = None,
    horizon_days: float | None = None,
    seed: int = 0,
    workers: int | None = None,
    progress: Progress | None = None,
) -> PolicyStudy:
    """Run-to-failure, fixed interval, sequential and co-optimised on the same seeds."""
    t = lake.settings.twin
    reps = replications or t.replications
    days = horizon_days or t.horizon_days
    plant = plant_from_lake(lake, horizon_days=days)
    scenarios = policy_scenarios(plant, lake.settings)
    results = run_scenarios(
        plant,
        scenarios,
        costs_from(lake.settings),
        replications=reps,
        seed=seed,
        lot_parts=t.lot_parts,
        workers=workers or t.workers,
        progress=progress,
    )
    joint = results[-1]
    comps = tuple(compare(joint, r) for r in results[:-1])
    return PolicyStudy(tuple(results), comps, reps, days, scenarios[1].policy.interval_h)


def what_if(
    lake: Lake,
    scenarios: Sequence[Scenario],
    *,
    replications: int | None = None,
    horizon_days: float | None = None,
    seed: int = 0,
    workers: int | None = None,
    progress: Progress | None = None,
) -> tuple[list[ScenarioResult], list[Comparison]]:
    """Scenarios on the same seeds; each compared with the first (the baseline)."""
    t = lake.settings.twin
    plant = plant_from_lake(lake, horizon_days=horizon_days or t.horizon_days)
    results = run_scenarios(
        plant,
        scenarios,
        costs_from(lake.settings),
        replications=replications or t.replications,
        seed=seed,
        lot_parts=t.lot_parts,
        workers=workers or t.workers,
        progress=progress,
    )
    return results, [compare(r, results[0]) for r in results[1:]]


def what_if_change(
    lake: Lake,
    *,
    policy: str = "co_optimised",
    buffer_factor: float = 1.0,
    extra_shift_hours: float = 0.0,
    demand_factor: float = 1.0,
    speed_factor: float = 1.0,
    standby: bool = False,
    replications: int | None = None,
    horizon_days: float | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[list[ScenarioResult], list[Comparison]]:
    """The plant as it is (``as_is``) against one change (``what_if``), same policy and seeds."""
    risk = accepted_risk(lake.settings)
    base = Scenario("as_is", Policy(policy, risk=risk))
    changed = Scenario(
        "what_if",
        Policy(policy, risk=risk),
        buffer_factor=buffer_factor,
        extra_shift_hours=extra_shift_hours,
        demand_factor=demand_factor,
        speed_factor=speed_factor,
        tou_aware=standby,
    )
    return what_if(
        lake,
        [base, changed],
        replications=replications,
        horizon_days=horizon_days,
        seed=seed,
        progress=progress,
    )


def write_plot(results: Sequence[ScenarioResult], path: Path, metric: str = "total_cost") -> Path:
    """Box plots of ``metric`` per scenario and the mean cost components, one HTML file
    with plotly.js inlined (no CDN: it opens offline)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=(metric.replace("_", " "), "mean cost"))
    for r in results:
        fig.add_trace(go.Box(y=r.metrics[metric], name=r.scenario.name), row=1, col=1)
    for part in ("maintenance", "lost_output", "tardiness"):
        fig.add_trace(
            go.Bar(
                x=[r.scenario.name for r in results],
                y=[float(np.mean(r.metrics[part])) for r in results],
                name=part.replace("_", " "),
            ),
            row=1,
            col=2,
        )
    fig.update_layout(barmode="stack", title="shopfloor twin: seeded Monte Carlo", height=480)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path
