"""`shopfloor stream`: live ingest from MQTT and/or OPC UA into the lake, with live scoring."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from shopfloor.cli.output import JsonOption, LakeOption, err_console, print_json


def stream_command(
    lake: LakeOption = None,
    mqtt: Annotated[
        str | None, typer.Option(help="MQTT broker HOST:PORT to subscribe to (QoS 1).")
    ] = None,
    opcua: Annotated[
        str | None, typer.Option(help="OPC UA endpoint, e.g. opc.tcp://host:4840.")
    ] = None,
    opcua_map: Annotated[
        Path | None,
        typer.Option(help="CSV/JSON of node_id, asset, signal (default: browse the server)."),
    ] = None,
    opcua_sampling_s: Annotated[
        float, typer.Option(min=0.001, help="OPC UA: how often the server samples each node.")
    ] = 1.0,
    opcua_deadband: Annotated[
        float, typer.Option(min=0.0, help="OPC UA: absolute deadband (smaller changes not sent).")
    ] = 0.0,
    name: Annotated[
        str, typer.Option(help="Stream name: its spool, its MQTT session and its commits.")
    ] = "default",
    topic_layout: Annotated[
        str | None,
        typer.Option(help="Topic levels, default {site}/{area}/{line}/{machine}/{signal}."),
    ] = None,
    commit_s: Annotated[float, typer.Option(min=0.05, help="Seconds between lake commits.")] = 1.0,
    score: Annotated[
        bool, typer.Option("--score/--no-score", help="Score live with the registered model.")
    ] = False,
    model: Annotated[str, typer.Option(help="Registered model that scores live.")] = "condition",
    alert_topic: Annotated[
        str, typer.Option(help="MQTT topic template alerts are published to.")
    ] = "shopfloor/alerts/{asset}",
    seconds: Annotated[
        float | None, typer.Option(min=0.1, help="Stop after this long (default: Ctrl-C).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress lines.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Ingest live readings into the lake, exactly once, until Ctrl-C (or --seconds).

    Readings are acknowledged to the broker only once they are in the local spool
    (<lake>/.spool/NAME), so a crash or a broker restart loses none of them.
    """
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.streaming import StreamOptions, run_stream

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def progress(figures: dict[str, Any]) -> None:
        if not quiet:
            err_console.print(
                f"spooled {figures['spooled']:,} readings, committed {figures['committed']:,}",
                highlight=False,
            )

    options = StreamOptions(
        mqtt=mqtt,
        opcua=opcua,
        opcua_map=opcua_map,
        opcua_sampling_s=opcua_sampling_s,
        opcua_publishing_s=max(opcua_sampling_s, 1.0),  # samples queue up: one send a second
        opcua_deadband=opcua_deadband,
        name=name,
        topic_layout=topic_layout,
        commit_s=commit_s,
        score=score,
        model=model,
        alert_topic=alert_topic,
        seconds=seconds,
    )
    summary = run_stream(open_lake(lake), options, stop=stop, progress=progress)
    if as_json:
        print_json(summary.to_dict())
    else:
        err_console.print(
            f"{summary.committed_rows:,} readings committed in {summary.seconds:g} s "
            f"({summary.duplicates:,} duplicates dropped, {summary.quarantined:,} quarantined, "
            f"{summary.recovered:,} recovered from the spool, {summary.alerts} alerts)",
            highlight=False,
        )
