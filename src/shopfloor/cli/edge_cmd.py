"""`shopfloor edge export | run`: condition models on a gateway, without the lake.

``edge run`` hands over to ``python -m shopfloor.edge.runner`` in the same process
(``exec``), the way ``serve`` hands over to uvicorn: the command line has imported every
command module, and with them pandas, pyarrow and duckdb, which alone would spend most
of the runner's 200 MB budget.  A fresh interpreter on the runner module loads numpy,
onnxruntime and paho-mqtt only; the process id stays the same for supervisors.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from shopfloor.cli.output import JsonOption, LakeOption, console, print_json

app = typer.Typer(
    help="Edge scoring: export ONNX bundles, run them next to the machines.",
    no_args_is_help=True,
)

RUNNER_MODULE = "shopfloor.edge.runner"


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="Bundle directory to write.")],
    lake: LakeOption = None,
    model: Annotated[str, typer.Option("--model", help="Registered model name.")] = "condition",
    version: Annotated[
        int | None, typer.Option(help="Model version (default production, else latest).")
    ] = None,
    assets: Annotated[
        str | None, typer.Option(help="Comma-separated assets (default all).", show_default=False)
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a non-empty bundle directory.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Export a registered condition model as an edge bundle (ONNX per asset + manifest)."""
    from shopfloor.workflows import edge as workflow
    from shopfloor.workflows import open_lake

    names = [a.strip() for a in assets.split(",") if a.strip()] if assets else None
    path = workflow.export_edge_bundle(
        open_lake(lake), out, model, version, names, overwrite=overwrite
    )
    files = sorted(p.name for p in path.iterdir())
    if json:
        print_json({"bundle": str(path), "files": files})
        return
    console.print(f"edge bundle [bold]{path}[/bold]: {len(files) - 1} asset model(s)")


@app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run_command(
    ctx: typer.Context,
    model: Annotated[Path, typer.Option("--model", help="Edge bundle directory.")],
    mqtt: Annotated[str, typer.Option("--mqtt", help="Broker HOST:PORT.")] = "127.0.0.1:1883",
    topic_layout: Annotated[
        str | None, typer.Option(help="Topic template (default site/area/line/machine/signal).")
    ] = None,
    alert_topic: Annotated[
        str | None, typer.Option(help="Alert topic template (default shopfloor/alerts/{asset}).")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run forever).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Score live MQTT readings with a bundle and publish alarm changes (no lake needed).

    Further runner options (--client-id, --flush-s, --max-hold-s, --log-level) pass through.
    """
    argv = ["--model", str(model), "--mqtt", mqtt]
    if topic_layout is not None:
        argv += ["--topic-layout", topic_layout]
    if alert_topic is not None:
        argv += ["--alert-topic", alert_topic]
    if seconds is not None:
        argv += ["--seconds", str(seconds)]
    if json:
        argv.append("--json")
    argv += list(ctx.args)
    command = [sys.executable, "-m", RUNNER_MODULE, *argv]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(sys.executable, command)
    raise typer.Exit(subprocess.call(command))  # no exec on Windows: wait for the child
