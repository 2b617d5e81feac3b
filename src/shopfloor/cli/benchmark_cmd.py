"""`shopfloor benchmark cmapss | skab | ai4i | carparts | jobshop | neu | tep | steel-energy`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shopfloor.cli.output import JsonOption, console, err_console, print_json

app = typer.Typer(
    help="Run a public benchmark on a dataset directory (see docs/maintenance.md).",
    no_args_is_help=True,
)

DataDir = Annotated[
    Path,
    typer.Option(
        "--data", help="Dataset directory in the dataset's own layout.", show_default=False
    ),
]


@contextmanager
def _status(enabled: bool) -> Iterator[Callable[[str], None]]:
    """Step messages on stderr while a benchmark runs (silent in a pipe or with --json)."""
    if not (enabled and err_console.is_terminal):
        yield lambda _message: None
        return
    with err_console.status("starting") as status:
        yield status.update


def _show(title: str, payload: dict[str, Any], json: bool) -> None:
    if json:
        print_json(payload)
        return
    table = Table(title=title, show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")

    def add(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                add(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, float):
            table.add_row(prefix, f"{value:.4g}")
        else:
            table.add_row(prefix, str(value))

    add("", payload)
    console.print(table)


@app.command("cmapss")
def cmapss_command(
    data: DataDir,
    subset: Annotated[str, typer.Option(help="C-MAPSS subset name, FD001..FD004.")] = "FD001",
    seed: Annotated[int, typer.Option(help="Random seed of every model.")] = 0,
    json: JsonOption = False,
) -> None:
    """Remaining useful life on NASA C-MAPSS: train on train_FD00X, score RUL_FD00X."""
    from shopfloor.workflows.benchmarks.cmapss import run_cmapss

    with _status(not json) as progress:
        report = run_cmapss(data, subset, seed=seed, progress=progress)
    _show(f"C-MAPSS {subset}", report.as_dict(), json)


@app.command("skab")
def skab_command(
    data: DataDir,
    seed: Annotated[int, typer.Option(help="Random seed of every model.")] = 0,
    json: JsonOption = False,
) -> None:
    """Anomaly detection on SKAB: first 400 rows of each file train, NAB windows score."""
    from shopfloor.workflows.benchmarks.skab import run_skab

    with _status(not json) as progress:
        report = run_skab(data, seed=seed, progress=progress)
    _show("SKAB", report.as_dict(), json)


@app.command("ai4i")
def ai4i_command(
    data: DataDir,
    seed: Annotated[int, typer.Option(help="Random seed of the folds and models.")] = 0,
    json: JsonOption = False,
) -> None:
    """Machine failure on AI4I 2020: stratified 5-fold CV, failure-mode flags never inputs."""
    from shopfloor.workflows.benchmarks.ai4i import run_ai4i

    with _status(not json) as progress:
        report = run_ai4i(data, seed=seed, progress=progress)
    _show("AI4I 2020", report.as_dict(), json)


@app.command("carparts")
def carparts_command(
    data: Annotated[
        Path,
        typer.Option("--data", help="The car-parts CSV (or its directory).", show_default=False),
    ],
    horizon: Annotated[int, typer.Option(help="Months held out and forecast.")] = 6,
    seed: Annotated[int, typer.Option(help="Random seed of the forecaster.")] = 0,
    json: JsonOption = False,
) -> None:
    """Spare-parts demand: fit on all but the last months, forecast them, score quantiles."""
    from shopfloor.workflows.benchmarks.carparts import run_carparts

    with _status(not json) as progress:
        report = run_carparts(data, horizon=horizon, seed=seed, progress=progress)
    _show("car parts", report.as_dict(), json)


@app.command("jobshop")
def jobshop_command(
    data: DataDir,
    instances: Annotated[
        str, typer.Option("--instances", help="Glob on instance names, e.g. 'ta0*' or 'ft06'.")
    ] = "ta0*",
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds per instance and formulation.")
    ] = 60.0,
    workers: Annotated[int, typer.Option(help="CP-SAT search workers.")] = 2,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed.")] = 0,
    json: JsonOption = False,
) -> None:
    """Job shop on the JSPLIB layout: CP-SAT and the plain model, gaps to best-known."""
    from shopfloor.workflows.benchmarks.jobshop import run_jobshop

    with _status(not json) as progress:
        report = run_jobshop(
            data,
            instances=instances,
            time_limit_s=time_limit,
            workers=workers,
            seed=seed,
            progress=progress,
        )
    payload = report.as_dict()
    if json:
        print_json(payload)
        return
    per_instance = payload.pop("instances")
    table = Table(title=f"Job shop {instances}")
    columns = ("instance", "best", "Cmax", "gap %", "status", "s", "plain", "gap %", "status")
    for column in columns:
        table.add_column(column, justify="left" if column == "instance" else "right")

    def fmt(value: Any) -> str:
        return "-" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)

    for row in per_instance:
        plain = row["plain"]
        table.add_row(
            row["instance"],
            fmt(row["best_known"]),
            fmt(row["makespan"]) + ("" if row["feasible"] else " (!)"),
            fmt(row["gap_to_best_known"]),
            row["status"],
            fmt(row["seconds"]),
            fmt(plain["makespan"]) + ("" if plain["feasible"] else " (!)"),
            fmt(plain["gap_to_best_known"]),
            plain["status"],
        )
    console.print(table)
    _show("Job shop summary", payload, json=False)


@app.command("neu")
def neu_command(
    train: Annotated[
        Path,
        typer.Option("--train", help="Training images, NEU-DET layout.", show_default=False),
    ],
    test: Annotated[
        Path, typer.Option("--test", help="Test images, NEU-DET layout.", show_default=False)
    ],
    seed: Annotated[int, typer.Option(help="Seed of initialisation, batches, augmentation.")] = 0,
    threads: Annotated[int, typer.Option(help="CPU threads for training and inference.")] = 2,
    epochs: Annotated[
        int | None,
        typer.Option(
            help="Training epochs (default: the measured configuration; fewer = smoke test)."
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Surface defects (NEU): train the CNN from scratch, test accuracy, ONNX speed and parity."""
    from shopfloor.workflows.benchmarks.neu import run_neu

    params = None if epochs is None else {"epochs": epochs}
    with _status(not json) as progress:
        report = run_neu(train, test, seed=seed, threads=threads, params=params, progress=progress)
    payload = report.as_dict()
    if not json:
        payload.pop("confusion", None)  # a 6 x 6 matrix reads badly as flat rows; in --json
    _show("NEU surface defects", payload, json)


@app.command("tep")
def tep_command(
    data: DataDir,
    far: Annotated[
        float, typer.Option(help="False-alarm rate the limits are set for on normal data.")
    ] = 0.05,
    json: JsonOption = False,
) -> None:
    """Process faults on Tennessee Eastman: fit on d00 only, FDR per fault, FAR on d00_te."""
    from shopfloor.workflows.benchmarks.tep import run_tep

    with _status(not json) as progress:
        report = run_tep(data, far=far, progress=progress)
    payload = report.as_dict()
    if json:
        print_json(payload)
        return
    per_fault = payload.pop("per_fault")
    baseline = payload.pop("baseline")
    payload.pop("baselines", None)  # every baseline's per-fault table: in --json
    table = Table(title=f"Tennessee Eastman: {payload['method']} vs PCA T²+Q, per fault")
    for column in ("fault", "FDR", "FAR 1-160", "delay", "PCA FDR", "PCA FAR 1-160"):
        table.add_column(column, justify="right")
    for fault, row in per_fault.items():
        pca = baseline["per_fault"][fault]
        table.add_row(
            fault + (" *" if int(fault) in payload["excluded_faults"] else ""),
            f"{row['fdr']:.1%}",
            f"{row['far_first_160']:.1%}",
            "-" if row["delay_samples"] is None else str(row["delay_samples"]),
            f"{pca['fdr']:.1%}",
            f"{pca['far_first_160']:.1%}",
        )
    console.print(table)
    summary = {k: v for k, v in payload.items() if not isinstance(v, (dict, list))}
    summary["baseline mean_fdr"] = baseline["mean_fdr"]
    summary["baseline far"] = baseline["far"]
    _show("Tennessee Eastman summary (* = excluded from the mean)", summary, json=False)


@app.command("steel-energy")
def steel_energy_command(
    data: Annotated[
        Path,
        typer.Option(
            "--data", help="Steel_industry_data.csv (or its directory).", show_default=False
        ),
    ],
    seed: Annotated[int, typer.Option(help="Random seed of the models.")] = 0,
    json: JsonOption = False,
) -> None:
    """Steel-plant load: 15-min forecast and load type on the last 20 %, vs seasonal naive."""
    from shopfloor.workflows.benchmarks.steel_energy import run_steel_energy

    with _status(not json) as progress:
        report = run_steel_energy(data, seed=seed, progress=progress)
    _show("Steel-plant energy (headline: one step ahead)", report.as_dict(), json)
