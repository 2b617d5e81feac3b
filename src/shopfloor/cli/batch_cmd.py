"""`shopfloor batch`: the lake's whole batch pipeline on the local machine or on Spark."""

from __future__ import annotations

from typing import Annotated

import typer

from shopfloor.cli.output import (
    BackendOption,
    JsonOption,
    LakeOption,
    console,
    print_json,
    step_bars,
)


def batch_command(
    lake: LakeOption = None,
    backend: BackendOption = None,
    train: Annotated[
        bool,
        typer.Option("--train/--no-train", help="Retrain the condition and RUL models first."),
    ] = True,
    json: JsonOption = False,
) -> None:
    """Data quality, OEE, condition models, anomaly scores, RUL and demand forecasts.

    Each step reads the lake's Delta tables on the chosen backend and stores its results
    in the lake (quality report, model versions, alerts, forecasts).  ``--backend spark``
    runs on ``compute.spark_master`` (SHOPFLOOR_SPARK_MASTER; local[2] by default).
    """
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.batch import run_batch

    store = open_lake(lake)
    with step_bars(enabled=not json) as step:
        summary = run_batch(store, backend, train=train, step=step)
    payload = {
        "backend": summary.backend,
        "quality_issues": len(summary.quality.issues),
        "oee": (None if summary.oee_by_line is None else round(summary.oee_by_line.overall.oee, 4)),
        "condition_model": (
            None
            if summary.training is None
            else {"name": summary.training.model.name, "version": summary.training.model.version}
        ),
        "alerts": None if summary.scoring is None else len(summary.scoring.episodes),
        "alerts_written": None if summary.scoring is None else summary.scoring.alerts_written,
        "rul_assets": None if summary.outlook is None else len(summary.outlook.prediction.unit),
        "forecast_id": None if summary.forecast is None else summary.forecast.forecast_id,
        "seconds": {k: round(v, 2) for k, v in summary.seconds.items()},
    }
    if json:
        print_json(payload)
        return
    console.print(f"batch pipeline on [bold]{summary.backend}[/bold]")
    for key, value in payload.items():
        if key not in ("backend", "seconds"):
            console.print(f"  {key.replace('_', ' ')}: {value}")
    console.print(
        "  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in payload["seconds"].items())  # type: ignore[attr-defined]
    )
