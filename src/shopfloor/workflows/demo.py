"""The demo plant, end to end: generate files, ingest them like a user's, check, report.

The generator's files land in ``<lake>/demo-source/`` with its ground truth in
``<lake>/demo-source/ground_truth/``; ingest goes through exactly the path user files take.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shopfloor.compute import Backend
from shopfloor.data_quality import CheckScore, score_against_truth
from shopfloor.demo_plant.faults import plant_faults
from shopfloor.demo_plant.layout import PlantLayout, default_layout
from shopfloor.demo_plant.operations import simulate_operations
from shopfloor.demo_plant.sensor_drift import SensorDrift, apply_sensor_drift
from shopfloor.demo_plant.sensors import simulate_readings
from shopfloor.demo_plant.supply import simulate_supply
from shopfloor.ingest import IngestSummary
from shopfloor.lake import Lake
from shopfloor.maintenance.alerting import AlertEvaluation, evaluate_alerts
from shopfloor.production import BottleneckResult, OeeResult
from shopfloor.schema import TABLES
from shopfloor.workflows import forecast_accuracy as backtest
from shopfloor.workflows import maintenance
from shopfloor.workflows import reorder as reordering
from shopfloor.workflows import supply_planning as planning
from shopfloor.workflows.compute import BackendChoice, using_backend
from shopfloor.workflows.data_quality import QualityReport, check_quality
from shopfloor.workflows.ingest import ingest
from shopfloor.workflows.production import bottlenecks, oee, reliability
from shopfloor.workflows.spc import CapabilityStudy, SpcReport, capability_study, spc

if TYPE_CHECKING:
    from shopfloor.workflows.planning import PlanResult, RescheduleResult

Step = Callable[[str, int, int], None]
"""Progress: (step description, done, total)."""

# Order matters: the registry first, so later tables are checked against it.
_TABLE_ORDER = (
    "assets",
    "signals",
    "events",
    "production",
    "work_orders",
    "orders",
    "routings",
    "inspections",
    "items",
    "inventory",
    "demand",
    "deliveries",
)


@dataclass(frozen=True)
class DemoSummary:
    lake: Path
    start: pd.Timestamp
    end: pd.Timestamp
    seed: int
    ingests: dict[str, IngestSummary]
    quality: QualityReport
    quality_scores: dict[str, CheckScore]
    oee_by_line: OeeResult
    bottlenecks: BottleneckResult
    reliability: pd.DataFrame
    maintenance: MaintenanceDemo
    supply: SupplyDemo
    spc: SpcDemo
    seconds: dict[str, float] = field(default_factory=dict)
    planning: PlanningDemo | None = None


@dataclass(frozen=True)
class SpcDemo:
    """Control charts and capability of the demo plant's measured characteristics."""

    report: SpcReport
    capability: CapabilityStudy


def demo_spc(lake: Lake) -> SpcDemo:
    """X̄-R charts (subgroups of 5, 25 in phase I) and capability of every series."""
    return SpcDemo(spc(lake), capability_study(lake))


@dataclass(frozen=True)
class SupplyDemo:
    """Forecast accuracy on the demo plant's demand and what to order now."""

    accuracy: backtest.ForecastAccuracy
    forecast: planning.LakeForecast
    policies: planning.LakePolicies
    reorder: reordering.ReorderList


def demo_supply(lake: Lake, backend: BackendChoice = None) -> SupplyDemo:
    """Backtest the forecaster, forecast, design the policies (stored), list the reorders."""
    accuracy = backtest.forecast_accuracy(lake)
    forecast = planning.forecast_lake(lake, backend=backend)
    policies = planning.design_lake_policies(lake, forecast=forecast)
    return SupplyDemo(accuracy, forecast, policies, reordering.reorder_list(lake))


@dataclass(frozen=True)
class MaintenanceDemo:
    """Condition monitoring on the demo plant, measured against the simulator's failures."""

    evaluation: AlertEvaluation
    alerts: pd.DataFrame  # the stored alert episodes
    outlook: maintenance.RulOutlook | None  # None: no failure in the history to learn from
    fallback_assets: tuple[str, ...]


def demo_maintenance(lake: Lake, truth_dir: Path, backend: BackendChoice = None) -> MaintenanceDemo:
    """Train, score and store alerts, forecast RUL; score the alerts against ground truth."""
    trained = maintenance.train(lake, backend=backend)
    scored = maintenance.score(lake, backend=backend)
    # A short history without failures trains no RUL model; alerts still work.
    outlook = (
        maintenance.rul(lake, scores=scored.scores, backend=backend) if trained.rul_model else None
    )
    failures = pd.read_parquet(truth_dir / "failures.parquet")
    health = pd.read_parquet(truth_dir / "health.parquet")
    observed = [r.index for r in scored.scores.values() if len(r.index)]
    evaluation = evaluate_alerts(
        scored.episodes,
        failures,
        observed_from=min(i.min() for i in observed),
        observed_to=max(i.max() for i in observed),
        assets=len(scored.scores),
        developing=health,
    )
    return MaintenanceDemo(evaluation, scored.episodes, outlook, trained.fallback_assets)


def _write(frame: pd.DataFrame, table: str, path: Path) -> Path:
    """A canonical frame as Parquet typed by the table's schema (what a user's MES export is)."""
    schema = pa.schema(
        [f.with_nullable(True) for f in TABLES[table].schema if f.name in frame.columns]
    )
    pq.write_table(
        pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False), path
    )
    return path


def generate_demo_files(
    directory: Path,
    layout: PlantLayout,
    start: pd.Timestamp,
    end: pd.Timestamp,
    seed: int,
    step: Step | None = None,
    *,
    sensor_drift: SensorDrift | None = None,
    faults: bool = True,
) -> dict[str, list[Path]]:
    """Write the demo plant's source files and ground truth; returns files per table.

    ``sensor_drift`` (off by default) plants a slow drift on one sensor, before the
    data-quality faults (its ground truth: ``sensor_drift.parquet``); ``faults=False``
    leaves the readings free of planted data-quality faults (for tests of other things).
    """
    truth_dir = directory / "ground_truth"
    readings_dir = directory / "readings"
    for folder in (directory, truth_dir, readings_dir):
        folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[Path]] = {}
    ops = simulate_operations(layout, start, end, seed)
    supply = simulate_supply(start, end, seed)
    tables = {
        "assets": layout.assets_frame(),
        "signals": layout.signals_frame(),
        "events": ops.events,
        "production": ops.production,
        "work_orders": ops.work_orders,
        "orders": ops.orders,
        "routings": ops.routings,
        "inspections": ops.inspections,
        "items": supply.items,
        "inventory": supply.inventory,
        "demand": supply.demand,
        "deliveries": supply.deliveries,
    }
    for name, frame in tables.items():
        files[name] = [_write(frame, name, directory / f"{name}.parquet")]
    ops.failures.to_parquet(truth_dir / "failures.parquet")
    ops.health.to_parquet(truth_dir / "health.parquet")
    supply.patterns.to_parquet(truth_dir / "demand_patterns.parquet")

    truths = []
    files["readings"] = []
    machines = len(layout.machines)
    for done, (asset, clean) in enumerate(
        simulate_readings(layout, ops.events, ops.health, start, end, seed), start=1
    ):
        if sensor_drift is not None and asset == sensor_drift.asset:
            clean = apply_sensor_drift(clean, sensor_drift)
        if faults:
            faulty, truth = plant_faults(clean, layout, start, end, seed + done)
        else:
            faulty, truth = clean, pd.DataFrame()
        files["readings"].append(_write(faulty, "readings", readings_dir / f"{asset}.parquet"))
        truths.append(truth)
        if step:
            step("generating sensor data", done, machines)
    pd.concat(truths, ignore_index=True).to_parquet(truth_dir / "dq_faults.parquet")
    if sensor_drift is not None:
        pd.DataFrame([sensor_drift.as_row()]).to_parquet(truth_dir / "sensor_drift.parquet")
    return files


@dataclass(frozen=True)
class PlanningDemo:
    """A finite-capacity plan of the open orders, and its repair after a breakdown."""

    plan: PlanResult
    repair: RescheduleResult


def demo_planning(
    lake: Lake, origin: pd.Timestamp, *, time_limit_s: float = 10.0, seed: int = 0
) -> PlanningDemo:
    """Plan the open orders from ``origin``; then the busiest machine breaks down for 4 h
    shortly after its first operation starts, and the plan is repaired around it (both
    schedules are stored)."""
    from shopfloor.workflows.planning import plan, reschedule_lake

    made = plan(lake, time_limit_s=time_limit_s, origin=origin, seed=seed)
    busiest = made.rows.groupby("machine")["order"].count().idxmax()
    first = pd.to_datetime(made.rows.loc[made.rows["machine"] == busiest, "start"], utc=True)
    down_at = first.min().floor("min") + pd.Timedelta(minutes=10)
    repair = reschedule_lake(
        lake,
        machine_down=(str(busiest), down_at, "4h"),
        now=down_at,
        time_limit_s=time_limit_s,
        seed=seed,
    )
    return PlanningDemo(made, repair)


def run_demo(
    lake: Lake,
    days: int = 30,
    seed: int = 7,
    end: pd.Timestamp | None = None,
    step: Step | None = None,
    plan: bool = False,
    backend: BackendChoice = None,
    sensor_drift: SensorDrift | None = None,
) -> DemoSummary:
    """Generate, ingest, check and analyse the demo plant; ``plan``: also schedule its
    open orders and repair the schedule after a breakdown (adds ~20 s).

    The batch steps (data quality, OEE, maintenance, forecasts) run on ``backend``.
    ``sensor_drift`` (off by default) plants a slow drift on one sensor."""
    with using_backend(lake.settings, backend) as runner:
        return _run_demo(lake, days, seed, end, step, plan, runner, sensor_drift)


def _run_demo(
    lake: Lake,
    days: int,
    seed: int,
    end: pd.Timestamp | None,
    step: Step | None,
    plan: bool,
    backend: Backend,
    sensor_drift: SensorDrift | None = None,
) -> DemoSummary:
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    layout = default_layout()
    stop = pd.Timestamp(end) if end is not None else pd.Timestamp.now(tz="UTC").floor("D")
    stop = stop.tz_localize("UTC") if stop.tzinfo is None else stop.tz_convert("UTC")
    start = stop - pd.Timedelta(days=days)
    source = lake.path / "demo-source"
    files = generate_demo_files(source, layout, start, stop, seed, step, sensor_drift=sensor_drift)
    timings["generate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    ingests: dict[str, IngestSummary] = {}
    order = [*_TABLE_ORDER, "readings"]
    for done, table in enumerate(order, start=1):
        ingests[table] = ingest(lake, files[table], table)
        if step:
            step("ingesting", done, len(order))
    timings["ingest"] = time.perf_counter() - clock

    clock = time.perf_counter()
    report = check_quality(
        lake,
        progress=(lambda w, d, t: step("data quality", d, t)) if step else None,
        backend=backend,
    )
    truth = pd.read_parquet(source / "ground_truth" / "dq_faults.parquet")
    scores = score_against_truth(list(report.issues), truth)
    timings["quality"] = time.perf_counter() - clock

    clock = time.perf_counter()
    by_line = oee(lake, by="line", period="day", backend=backend)
    found = bottlenecks(lake)
    rel = reliability(lake)
    timings["production"] = time.perf_counter() - clock

    clock = time.perf_counter()
    control = demo_spc(lake)
    timings["spc"] = time.perf_counter() - clock

    clock = time.perf_counter()
    if step:
        step("maintenance models", 0, 1)
    upkeep = demo_maintenance(lake, source / "ground_truth", backend)
    if step:
        step("maintenance models", 1, 1)
    timings["maintenance"] = time.perf_counter() - clock

    clock = time.perf_counter()
    if step:
        step("supply planning", 0, 1)
    supply = demo_supply(lake, backend)
    if step:
        step("supply planning", 1, 1)
    timings["supply"] = time.perf_counter() - clock
    planned = None
    if plan:
        clock = time.perf_counter()
        if step:
            step("production planning", 0, 1)
        planned = demo_planning(lake, stop)
        if step:
            step("production planning", 1, 1)
        timings["planning"] = time.perf_counter() - clock
    return DemoSummary(
        lake.path,
        start,
        stop,
        seed,
        ingests,
        report,
        scores,
        by_line,
        found,
        rel,
        upkeep,
        supply,
        control,
        timings,
        planned,
    )
