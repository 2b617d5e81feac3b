"""Seeded Monte Carlo over the twin: scenarios, paired comparisons, confidence intervals.

Every scenario runs the same seeds (common random numbers), so the difference between two
scenarios is measured replication by replication; its 95 % confidence interval is the
Student-t interval of the paired differences (Law, *Simulation Modeling and Analysis*,
5th ed., 2015, section 10.2).  Replications run in a ``spawn`` process pool when
``workers > 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import get_context

import numpy as np
from scipy.stats import t as student_t

from shopfloor.errors import InputError
from shopfloor.twin.calibration import LineModel, PlantModel
from shopfloor.twin.model import RunResult, simulate
from shopfloor.twin.policies import Costs, Policy

METRICS = (
    "total_cost",
    "maintenance",
    "lost_output",
    "tardiness",
    "unplanned_downtime_h",
    "planned_downtime_h",
    "failures",
    "pms",
    "good",
    "oee",
    "energy_kwh",
    "energy_cost",
)


@dataclass(frozen=True)
class Scenario:
    """A what-if: a policy plus changes to the plant (all optional)."""

    name: str
    policy: Policy
    buffer_factor: float = 1.0  # x every buffer
    extra_shift_hours: float = 0.0  # hours added at the end of every working day
    demand_factor: float = 1.0  # x every order quantity
    speed_factor: float = 1.0  # x every machine's speed (a faster or an added machine)
    tou_aware: bool = False  # switch machines off in peak-price hours where buffers allow


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    metrics: dict[str, np.ndarray]  # one value per replication

    def interval(self, metric: str, level: float = 0.95) -> Interval:
        return mean_interval(self.metrics[metric], level)


@dataclass(frozen=True)
class Comparison:
    """``candidate - baseline`` per metric, paired by seed, with relative change."""

    candidate: str
    baseline: str
    difference: dict[str, Interval]
    relative: dict[str, float]  # mean difference / baseline mean


def mean_interval(values: np.ndarray, level: float = 0.95) -> Interval:
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return Interval(float(x.mean()) if x.size else float("nan"), -np.inf, np.inf)
    half = student_t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return Interval(float(x.mean()), float(x.mean() - half), float(x.mean() + half))


def apply(plant: PlantModel, scenario: Scenario) -> PlantModel:
    """The plant with the scenario's changes."""
    if min(scenario.buffer_factor, scenario.demand_factor, scenario.speed_factor) <= 0:
        raise InputError("scenario factors must be positive", field=scenario.name)
    lines: list[LineModel] = []
    for line in plant.lines:
        machines = tuple(
            replace(m, cycle_s=m.cycle_s / scenario.speed_factor) for m in line.machines
        )
        orders = tuple(
            replace(o, quantity=o.quantity * scenario.demand_factor) for o in line.orders
        )
        buffers = tuple(b * scenario.buffer_factor for b in line.buffer_parts)
        lines.append(replace(line, machines=machines, orders=orders, buffer_parts=buffers))
    out = plant.with_lines(lines)
    if scenario.extra_shift_hours:
        cal = plant.calendar
        extra = int(scenario.extra_shift_hours * 3600)
        ends = np.minimum(cal.ends + extra, np.append(cal.starts[1:], cal.ends[-1] + extra))
        out = replace(out, calendar=replace(cal, ends=ends.astype(np.int64)))
    return out


def summarise(run: RunResult, costs: Costs, ideal_output: float) -> dict[str, float]:
    """The metrics of one replication; ``lost_output`` is priced against ``ideal_output``."""
    c = run.cost(costs)
    lost = max(ideal_output - c["good"], 0.0) * costs.lost_part
    tardiness = c["tardiness_h"] * costs.tardiness_per_h
    ideal_good = sum(m.ideal_cycle_s * m.good for m in run.machines)
    planned = sum(run.working_s - m.pm_s for m in run.machines)
    return {
        "total_cost": c["maintenance"] + lost + tardiness + c["energy_cost"],
        "maintenance": c["maintenance"],
        "lost_output": lost,
        "tardiness": tardiness,
        "unplanned_downtime_h": c["unplanned_downtime_h"],
        "planned_downtime_h": c["planned_downtime_h"],
        "failures": c["failures"],
        "pms": c["pms"],
        "good": c["good"],
        "oee": ideal_good / planned if planned > 0 else float("nan"),
        "energy_kwh": c["energy_kwh"],
        "energy_cost": c["energy_cost"],
    }


def ideal_output(plant: PlantModel) -> float:
    """Good parts the lines would make at their bottleneck's pace with no stop at all."""
    working = plant.calendar.open_seconds(0.0, plant.horizon_s)
    return sum(working / line.bottleneck.cycle_s for line in plant.lines)


def _one(args: tuple[PlantModel, Policy, Costs, int, float, float, bool]) -> dict[str, float]:
    plant, policy, costs, seed, lot, ideal, tou = args
    run = simulate(plant, policy, costs, seed, lot_parts=lot, tou_aware=tou)
    return summarise(run, costs, ideal)


def run_scenarios(
    plant: PlantModel,
    scenarios: Sequence[Scenario],
    costs: Costs,
    *,
    replications: int,
    seed: int = 0,
    lot_parts: float = 20.0,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[ScenarioResult]:
    """Each scenario over the same ``replications`` seeds; lost output is priced against
    the *unchanged* plant's ideal output so scenarios that add capacity are credited."""
    if replications < 1:
        raise InputError("at least one replication is needed", field="replications")
    if not scenarios:
        raise InputError("no scenario to run", field="scenarios")
    ideal = ideal_output(plant)
    seeds = [seed + k for k in range(replications)]
    jobs = [
        (apply(plant, sc), sc.policy, costs, s, lot_parts, ideal, sc.tou_aware)
        for sc in scenarios
        for s in seeds
    ]
    rows: list[dict[str, float]] = []
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            for k, row in enumerate(pool.map(_one, jobs, chunksize=4), start=1):
                rows.append(row)
                if progress:
                    progress(k, len(jobs))
    else:
        for k, job in enumerate(jobs, start=1):
            rows.append(_one(job))
            if progress:
                progress(k, len(jobs))
    out = []
    for i, sc in enumerate(scenarios):
        chunk = rows[i * replications : (i + 1) * replications]
        out.append(ScenarioResult(sc, {m: np.array([r[m] for r in chunk]) for m in METRICS}))
    return out


def compare(candidate: ScenarioResult, baseline: ScenarioResult, level: float = 0.95) -> Comparison:
    """Paired differences ``candidate - baseline`` (same seeds) for every metric."""
    diff, rel = {}, {}
    for m in METRICS:
        d = candidate.metrics[m] - baseline.metrics[m]
        diff[m] = mean_interval(d, level)
        base = float(np.mean(baseline.metrics[m]))
        rel[m] = float(np.mean(d) / base) if base else float("nan")
    return Comparison(candidate.scenario.name, baseline.scenario.name, diff, rel)
