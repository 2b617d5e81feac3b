"""The lake's batch pipeline on one backend: quality, OEE, features, models, forecasts.

``shopfloor batch --backend spark`` runs what the demo runs after ingest, over the same
Delta tables, on Spark; every step's results go back to the lake the way the local run
stores them (the data-quality report, alerts, model versions, forecasts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shopfloor.errors import ModelError
from shopfloor.lake import Lake
from shopfloor.production import OeeResult
from shopfloor.workflows import maintenance
from shopfloor.workflows.compute import BackendChoice, using_backend
from shopfloor.workflows.data_quality import QualityReport, check_quality
from shopfloor.workflows.production import oee
from shopfloor.workflows.supply_planning import LakeForecast, forecast_lake

Step = Callable[[str, int, int], None]
"""Progress: (step description, done, total)."""

STEPS = ("data quality", "OEE", "condition models", "anomaly scores", "RUL", "forecast")


@dataclass(frozen=True)
class BatchSummary:
    backend: str
    quality: QualityReport
    oee_by_line: OeeResult | None  # None: no events in the lake
    training: maintenance.TrainSummary | None  # None: train=False
    scoring: maintenance.ScoreSummary | None  # None: no condition model registered
    outlook: maintenance.RulOutlook | None  # None: no RUL model registered
    forecast: LakeForecast | None  # None: no demand in the lake
    seconds: dict[str, float] = field(default_factory=dict)


def run_batch(
    lake: Lake,
    backend: BackendChoice = None,
    *,
    train: bool = True,
    step: Step | None = None,
) -> BatchSummary:
    """Run every batch step on one backend (started once, stopped at the end).

    ``train=False`` scores with the models already in the registry.  A step whose
    input is missing from the lake (no events, no demand) is skipped, not failed.
    """
    seconds: dict[str, float] = {}
    with using_backend(lake.settings, backend) as runner:

        def timed(name: str, done: int) -> float:
            if step:
                step(name, done, len(STEPS))
            return time.perf_counter()

        clock = timed(STEPS[0], 0)
        quality = check_quality(lake, backend=runner)
        seconds["quality"] = time.perf_counter() - clock

        clock = timed(STEPS[1], 1)
        lines = (
            oee(lake, by="line", period="day", backend=runner)
            if lake.version("events") is not None
            else None
        )
        seconds["oee"] = time.perf_counter() - clock

        clock = timed(STEPS[2], 2)
        training = maintenance.train(lake, backend=runner) if train else None
        seconds["train"] = time.perf_counter() - clock

        clock = timed(STEPS[3], 3)
        has_model = _registered(lake, maintenance.MODEL_NAME)
        scoring = maintenance.score(lake, backend=runner) if has_model else None
        seconds["score"] = time.perf_counter() - clock

        clock = timed(STEPS[4], 4)
        outlook = None
        if scoring is not None and _registered(lake, maintenance.RUL_MODEL_NAME):
            outlook = maintenance.rul(lake, scores=scoring.scores, backend=runner)
        seconds["rul"] = time.perf_counter() - clock

        clock = timed(STEPS[5], 5)
        forecast = (
            forecast_lake(lake, backend=runner) if lake.version("demand") is not None else None
        )
        seconds["forecast"] = time.perf_counter() - clock
        if step:
            step("done", len(STEPS), len(STEPS))
        name = runner.name
    return BatchSummary(name, quality, lines, training, scoring, outlook, forecast, seconds)


def _registered(lake: Lake, name: str) -> bool:
    try:
        maintenance.registry(lake).get(name)
    except ModelError:
        return False
    return True
