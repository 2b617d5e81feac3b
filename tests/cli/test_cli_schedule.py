"""`shopfloor schedule solve` (its sub-app; main.py registers it as `schedule`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from shopfloor.cli.schedule_cmd import app
from shopfloor.errors import InputError

WriteFile = Callable[[str, str], Path]
runner = CliRunner()


def test_solve_prints_one_json_object_per_instance(write_file: WriteFile) -> None:
    a = write_file("a", "2 2\n0 3 1 2\n1 4 0 1\n")
    b = write_file("b", "1 1\n0 5\n")
    result = runner.invoke(
        app, ["solve", str(a), str(b), "--time-limit", "5", "--workers", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["instance"], d["makespan"], d["status"], d["feasible"]) for d in lines] == [
        ("a", 6, "optimal", True),
        ("b", 5, "optimal", True),
    ]
    assert set(lines[0]) == {
        "instance",
        "makespan",
        "lower_bound",
        "gap_to_bound",
        "status",
        "seconds",
        "feasible",
    }


def test_solve_human_output_and_format_option(write_file: WriteFile) -> None:
    path = write_file("t", "2 2\n3 2\n4 1\n1 2\n2 1\n")
    result = runner.invoke(app, ["solve", str(path), "--format", "taillard", "--time-limit", "5"])
    assert result.exit_code == 0, result.output
    assert "t: makespan 6 bound 6 gap 0.00% optimal" in result.stdout


def test_malformed_file_is_an_input_error_naming_the_line(write_file: WriteFile) -> None:
    path = write_file("bad", "2 2\n0 3 1 x\n1 4 0 1\n")
    result = runner.invoke(app, ["solve", str(path), "--json"])
    # main() turns an InputError into exit code 2 and this one line on stderr.
    assert isinstance(result.exception, InputError)
    assert str(result.exception) == f"{path}, row 2: 'x' is not an integer"
