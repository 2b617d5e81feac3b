"""`shopfloor simulate`: publish the demo plant live (MQTT JSON or Sparkplug B, OPC UA)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shopfloor.cli.output import JsonOption, err_console, print_json

if TYPE_CHECKING:
    from shopfloor.workflows.simulate import SimulateStats


def _status(stats: SimulateStats) -> None:
    rate = stats.readings / stats.elapsed_s if stats.elapsed_s else 0.0
    err_console.print(
        f"{stats.elapsed_s:6.0f} s  {stats.messages:,} messages  {stats.readings:,} readings "
        f"({rate:,.0f}/s)  unacked {stats.messages - stats.acked_messages:,}  "
        f"reconnects {max(stats.connects - 1, 0)}",
        highlight=False,
        soft_wrap=True,
    )


def simulate_command(
    mqtt: Annotated[
        str | None, typer.Option(help="Broker to publish to, HOST:PORT (port 1883 if left out).")
    ] = None,
    opcua: Annotated[
        str | None,
        typer.Option(help="Also serve the same values as an OPC UA server at opc.tcp://HOST:PORT."),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            help="Readings per second of the whole plant (default: every signal at its "
            "nominal period, 7.2/s); sampling periods are scaled to match.",
            show_default=False,
        ),
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until Ctrl-C).")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="Payloads: 'json' (machine topics) or 'sparkplug'.")
    ] = "json",
    batch_ms: Annotated[
        int, typer.Option(help="Milliseconds of one machine's readings per message.")
    ] = 1000,
    ledger: Annotated[
        Path | None,
        typer.Option(help="Append asset,signal,ts_us of every reading the broker acknowledged."),
    ] = None,
    fault: Annotated[
        str | None,
        typer.Option(help="Machine (e.g. L1-M04) to fail: health 1, so its vibration triples."),
    ] = None,
    fault_after: Annotated[
        float, typer.Option(help="Seconds into the run at which --fault strikes.")
    ] = 60.0,
    seed: Annotated[int, typer.Option(help="Seed of the plant simulation.")] = 7,
    client_id: Annotated[
        str | None, typer.Option(help="MQTT client id (default shopfloor-simulate-<pid>).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No status line on stderr.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Publish the demo plant live: 12 machines x 6 signals, timestamped now, QoS 1.

    JSON goes to the machine topics site/area/line/machine as rows; Sparkplug B to
    spBv1.0/PLANT1/DDATA/<line>/<machine> after NBIRTH/DBIRTH.  Ctrl-C stops cleanly.
    """
    from shopfloor.errors import InputError
    from shopfloor.workflows.simulate import SimulateConfig, simulate

    if format not in ("json", "sparkplug"):
        raise InputError(f"'{format}' is not 'json' or 'sparkplug'", field="format")
    config = SimulateConfig(
        mqtt=mqtt,
        opcua=opcua,
        rate=rate,
        seconds=seconds,
        batch_ms=batch_ms,
        format="sparkplug" if format == "sparkplug" else "json",
        ledger=ledger,
        fault_asset=fault,
        fault_after_s=fault_after,
        seed=seed,
        client_id=client_id,
    )
    stats = simulate(config, on_progress=None if quiet else _status)
    if json_output:
        print_json(stats.as_dict())
    elif not quiet:
        _status(stats)
