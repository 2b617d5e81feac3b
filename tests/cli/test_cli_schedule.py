"""`shopfloor schedule solve` (its sub-app; main.py registers it as `schedule`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
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


def test_solve_deterministic_flag_repeats_itself(write_file: WriteFile) -> None:
    routes = "\n".join(
        " ".join(f"{(j + k) % 4} {1 + (j * 7 + k * 3) % 9}" for k in range(4)) for j in range(8)
    )
    path = write_file("det", f"8 4\n{routes}\n")
    args = [
        "solve",
        str(path),
        "--time-limit",
        "0.5",
        "--workers",
        "2",
        "--deterministic",
        "--json",
    ]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["makespan"] == json.loads(second.stdout)["makespan"]
    assert json.loads(first.stdout)["feasible"]


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


def test_solve_reads_the_shopfloor_format(write_file: WriteFile) -> None:
    from shopfloor.planning.instances import problem_to_json
    from shopfloor.planning.problem import Problem

    problem = Problem.job_shop([[(0, 3), (1, 2)], [(1, 4), (0, 1)]], name="tiny")
    path = write_file("tiny.json", problem_to_json(problem, machines=["saw", "press"]))
    result = runner.invoke(app, ["solve", str(path), "--time-limit", "5", "--json"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout)
    assert (line["instance"], line["makespan"], line["feasible"]) == ("tiny", 6, True)
    bad = write_file("bad.json", '{"machines": ["saw"], "jobs": [{"operations": 1}]}')
    result = runner.invoke(app, ["solve", str(bad)])
    assert isinstance(result.exception, InputError)
    assert str(result.exception) == (f"{bad}, field 'jobs[0].operations': must be a JSON list")


@pytest.mark.slow
def test_plan_json_on_the_demo_plant(demo_plant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import DEMO_END

    lake, _ = demo_plant
    export = tmp_path / "problem.json"
    result = runner.invoke(
        app,
        [
            "plan", "--lake", str(lake.path), "--from", DEMO_END, "--time-limit", "5",
            "--objective", "weighted_tardiness", "--gantt", str(tmp_path / "gantt"),
            "--export", str(export), "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["objective"] == "weighted_tardiness" and payload["feasible"] is True
    assert payload["origin"].startswith(DEMO_END)
    assert {"schedule_id", "status", "objective_value", "orders", "utilisation"} <= set(payload)
    assert all(0 <= m["utilisation"] <= 1 for m in payload["utilisation"])
    assert len(payload["operations"]) > 0 and payload["export"] == str(export)
    assert Path(payload["gantt"]["html"]).is_file() and Path(payload["gantt"]["png"]).is_file()
    # The export is the planned problem, readable by `schedule solve`.
    solved = runner.invoke(app, ["solve", str(export), "--time-limit", "5", "--json"])
    assert solved.exit_code == 0, solved.output
    assert json.loads(solved.stdout)["feasible"] is True


@pytest.mark.slow
def test_plan_human_output(demo_plant) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import DEMO_END

    lake, _ = demo_plant
    result = runner.invoke(
        app, ["plan", "--lake", str(lake.path), "--from", DEMO_END, "--time-limit", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "independent check: passed" in result.stdout
    assert "orders" in result.stdout and "utilisation" in result.stdout


def test_bad_from_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shopfloor.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(["schedule", "plan", "--lake", str(tmp_path / "lake"), "--from", "next tuesday"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: field '--from': cannot read 'next tuesday' as a timestamp"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--at", "2026-11-02T08:00Z"], "give --down too"),
        (["--down", "M1", "--for", "2h"], "a breakdown needs --at"),
        (["--down", "M1"], "a breakdown needs --at and --for"),
        ([], "give a breakdown"),
        (["--down", "M1", "--at", "noon-ish", "--for", "2h"], "field '--at': cannot read"),
        (["--down", "M1", "--at", "2026-11-02", "--for", "ages"], "field '--for': cannot read"),
        (["--rush", "O1", "--now", "later"], "field '--now': cannot read"),
    ],
)
def test_reschedule_arguments(tmp_path: Path, args: list[str], match: str) -> None:
    result = runner.invoke(app, ["reschedule", "--lake", str(tmp_path / "lake"), *args])
    assert isinstance(result.exception, InputError)
    assert match in str(result.exception)


@pytest.mark.slow
def test_reschedule_json_on_the_demo_plant(demo_plant) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    from tests.conftest import DEMO_END

    lake, _ = demo_plant
    planned = runner.invoke(
        app, ["plan", "--lake", str(lake.path), "--from", DEMO_END, "--time-limit", "5", "--json"]
    )
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    busy = pd.DataFrame(plan["operations"])
    machine = busy["machine"].value_counts().index[0]
    at = (pd.Timestamp(DEMO_END, tz="UTC") + pd.Timedelta(hours=8)).isoformat()
    result = runner.invoke(
        app,
        [
            "reschedule", "--lake", str(lake.path), "--down", machine, "--at", at, "--for", "3h",
            "--now", at, "--time-limit", "5", "--stability-weight", "0", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["parent_id"] == plan["schedule_id"] and payload["feasible"] is True
    assert payload["reason"].startswith(f"reschedule: {machine} down")
    assert 0.0 <= payload["kept_share"] <= 1.0
