"""`shopfloor simulate` through the CLI entry point: JSON counters, exit 2 on bad input."""

from __future__ import annotations

import json

import pytest
import typer

from shopfloor.cli import main as cli_main
from shopfloor.cli.simulate_cmd import simulate_command
from shopfloor.streaming.broker import MosquittoBroker, free_port


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() over an app with `simulate` registered, as cli/main.py registers it."""
    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    app.command("simulate")(simulate_command)
    app.command("noop", hidden=True)(lambda: None)  # keeps `simulate` a subcommand
    monkeypatch.setattr(cli_main, "app", app)


def run(*args: str) -> int:
    with pytest.raises(SystemExit) as exited:
        cli_main.main(["simulate", *args])
    return int(exited.value.code or 0)


@pytest.mark.usefixtures("cli")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mqtt", "localhost:notaport"], "'localhost:notaport' is not HOST:PORT"),
        (["--mqtt", f"127.0.0.1:{free_port()}"], "cannot reach the MQTT broker at 127.0.0.1:"),
        (["--format", "xml", "--mqtt", "localhost:1883"], "field 'format'"),
        (["--seconds", "1"], "give --mqtt HOST:PORT"),
        (["--mqtt", "localhost:1883", "--fault", "NOPE"], "'NOPE' is not a machine"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(*args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


@pytest.mark.usefixtures("cli")
def test_json_counters(broker: MosquittoBroker, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_main.main(
            ["simulate", "--mqtt", broker.address, "--seconds", "1", "--rate", "100", "--json"]
        )
    assert exited.value.code in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out["messages"] == 12 and out["acked_messages"] == 12 and out["unacked_messages"] == 0
    assert out["readings"] == out["acked_readings"] and abs(out["readings"] - 100) <= 72
    assert out["format"] == "json" and out["target_rate"] == pytest.approx(100, rel=0.01)
