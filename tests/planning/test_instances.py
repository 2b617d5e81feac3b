"""JSPLIB and Taillard readers: the shared files, both layouts, and every malformed input."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from shopfloor.errors import InputError
from shopfloor.planning.instances import (
    FORMATS,
    detect_format,
    parse_jsplib,
    parse_shopfloor,
    parse_taillard,
    problem_to_json,
    read_instance,
)
from shopfloor.planning.problem import Alternative, Downtime, Job, Operation, Problem, Setup
from tests.conftest import SHARED_DATASETS
from tests.planning.problems import random_problem

WriteFile = Callable[[str, str], Path]
JSPLIB = "# tiny\n2 2\n0 3 1 2\n1 4 0 1\n"
TAILLARD = (
    "Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound :\n"
    "  2  2  1  2  9  7\n"
    "processing times :\n 3 2\n 4 1\n"
    "machines :\n 1 2\n 2 1\n"
)


def test_jsplib_and_taillard_read_to_the_same_problem(write_file: WriteFile) -> None:
    a = read_instance(write_file("a.txt", JSPLIB))
    b = read_instance(write_file("b.txt", TAILLARD))
    assert [
        [(o.alternatives[0].machine, o.alternatives[0].duration) for o in j.operations]
        for j in a.jobs
    ] == [[(0, 3), (1, 2)], [(1, 4), (0, 1)]]
    assert a.jobs == b.jobs and a.n_machines == b.n_machines == 2
    assert a.name == "a.txt"


def test_format_detection() -> None:
    assert detect_format(JSPLIB) == "jsplib"
    assert detect_format(TAILLARD) == "taillard"
    # The bare Taillard layout: header, durations, machines, no labels.
    bare = "2 2\n3 2\n4 1\n1 2\n2 1\n"
    assert detect_format(bare) == "taillard"
    assert parse_taillard(bare).jobs == parse_jsplib(JSPLIB).jobs


def test_zero_based_taillard_machines_are_accepted() -> None:
    problem = parse_taillard("2 2\n3 2\n4 1\n0 1\n1 0\n")
    assert problem.jobs == parse_jsplib(JSPLIB).jobs


def test_shared_instances_read() -> None:
    ft06 = read_instance(SHARED_DATASETS / "jobshop" / "instances" / "ft06")
    assert (len(ft06.jobs), ft06.n_machines, ft06.n_operations) == (6, 6, 36)
    ta01 = read_instance(SHARED_DATASETS / "jobshop" / "instances" / "ta01", format="jsplib")
    assert (len(ta01.jobs), ta01.n_machines) == (15, 15)


@pytest.mark.parametrize(
    ("text", "fmt", "match"),
    [
        ("", None, "empty file"),
        ("# only a comment\n", "jsplib", "empty file"),
        ("3 2\n0 1 1 2\n1 1 0 2\n", "jsplib", r"row 3: header announces 3 jobs"),
        ("2 2\n0 1 1 x\n1 1 0 2\n", "jsplib", r"row 2: 'x' is not an integer"),
        ("2 2\n0 1 1 2.5\n1 1 0 2\n", "jsplib", r"row 2: '2.5' is not an integer"),
        ("2 2\n0 1 1 -2\n1 1 0 2\n", "jsplib", r"row 2: negative duration"),
        ("2 2\n0 1 1 2\n1 1 2 2\n", "jsplib", r"row 3: machine 2 is outside 0..1"),
        ("2 2\n0 1 1\n1 1 0 2\n", "jsplib", r"row 2: .*odd number"),
        ("0 2\n", "jsplib", r"row 1: header announces 0 jobs"),
        ("2\n0 1\n", "jsplib", r"row 1: header must hold"),
        ("2 2\n3 2\n4 1\n1 2\n", "taillard", r"expected 4 lines"),
        ("2 2\n3 2\n4 -1\n1 2\n2 1\n", "taillard", r"row 3: negative duration"),
        ("2 2\n3 2\n4 1\n1 3\n2 1\n", "taillard", r"row 4: machine 3 is outside 1..2"),
        ("2 2\n3 2 7\n4 1\n1 2\n2 1\n", "taillard", r"row 2: expected 2 values"),
    ],
)
def test_malformed_files_name_file_and_line(
    write_file: WriteFile, text: str, fmt: str | None, match: str
) -> None:
    path = write_file("bad.txt", text)
    with pytest.raises(InputError, match=match) as info:
        read_instance(path, fmt)
    assert str(path) in str(info.value)


def test_missing_file_and_unknown_format(tmp_path: Path, write_file: WriteFile) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_instance(tmp_path / "nope")
    with pytest.raises(InputError, match="unknown format 'mps'"):
        read_instance(write_file("a.txt", JSPLIB), "mps")


# --- the shopfloor JSON format ---------------------------------------------------------


def plant_problem() -> Problem:
    """Every field the format carries, with values other than the defaults."""
    saw = Operation(
        (Alternative(0, 30, 5), Alternative(1, 36, 7)), may_span_break=True, lag_after=4
    )
    press = Operation((Alternative(2, 12),))
    return Problem(
        jobs=(
            Job((saw, press), release=10, due=-30, weight=3, name="MO-1", family="P1"),
            Job((press,), due=None, weight=0, name="MO-2", family=""),
        ),
        n_machines=3,
        downtimes=(Downtime(0, 100, 160, "off shift"), Downtime(2, 5, 9, "maintenance: M3")),
        horizon=2000,
        name="plant",
        setups=(Setup(0, "P1", "P2", 11), Setup(1, "P2", "P1", 0)),
        initial_family=((0, "P1"), (2, "P2")),
    )


@pytest.mark.parametrize("machines", [None, ["M1", "M2", "M3"]])
def test_shopfloor_json_round_trips(machines: list[str] | None) -> None:
    problem = plant_problem()
    text = problem_to_json(problem, machines=machines, unit="minute", origin="2026-11-02T06:00Z")
    assert parse_shopfloor(text) == problem
    for seed in range(5):
        generated = random_problem(seed)
        assert parse_shopfloor(problem_to_json(generated)) == generated


def test_json_files_are_detected_by_suffix_and_content(write_file: WriteFile) -> None:
    text = problem_to_json(plant_problem(), machines=["M1", "M2", "M3"])
    assert "shopfloor" in FORMATS
    assert detect_format(text) == "shopfloor"
    assert read_instance(write_file("plant.json", text)) == plant_problem()
    assert read_instance(write_file("plant.txt", text)) == plant_problem()
    # The file name names the problem when the document does not.
    unnamed = problem_to_json(random_problem(1)).replace('"name": "random1",', "")
    assert read_instance(write_file("cell7.json", unnamed)).name == "cell7"


def test_minimal_document_takes_the_defaults() -> None:
    problem = parse_shopfloor(
        '{"n_machines": 1, "jobs": [{"operations": [{"alternatives": '
        '[{"machine": 0, "duration": 4}]}]}]}'
    )
    job = problem.jobs[0]
    assert (job.release, job.due, job.weight, job.family) == (0, None, 1, "")
    op = job.operations[0]
    assert (op.may_span_break, op.lag_after, op.alternatives[0].setup) == (False, 0, 0)
    assert problem.horizon is None and problem.downtimes == ()


BASE = (
    '{"machines": ["A", "B"], "jobs": [{"name": "J", "operations": [{"alternatives": '
    '[{"machine": "A", "duration": 3}]}]}]'
)


@pytest.mark.parametrize(
    ("text", "field", "match"),
    [
        ("{not json", None, r"row 1: not valid JSON"),
        ("[1, 2]", r"\(document\)", "must be a JSON object"),
        ('{"jobs": []}', "machines", "give the machine names"),
        (BASE + ', "colour": "red"}', "colour", "unknown field"),
        (BASE + ', "format": "jsplib"}', "format", "must be 'shopfloor-problem'"),
        (BASE + ', "version": 2}', "version", "knows version 1"),
        (BASE + ', "n_machines": 3}', "n_machines", "is 3 but 'machines' names 2"),
        ('{"machines": ["A", "A"], "jobs": []}', "machines", "'A' is listed twice"),
        ('{"machines": ["A", ""], "jobs": []}', r"machines\[1\]", "non-empty string"),
        ('{"n_machines": 0, "jobs": []}', "n_machines", "at least 1"),
        ('{"n_machines": 1, "jobs": []}', "jobs", "at least one job"),
        ('{"n_machines": 1}', "jobs", "is required"),
        (
            '{"n_machines": 1, "jobs": [{"operations": []}]}',
            r"jobs\[0\]\.operations",
            "at least one operation",
        ),
        (
            '{"n_machines": 1, "jobs": [{"operations": [{"alternatives": []}]}]}',
            r"jobs\[0\]\.operations\[0\]\.alternatives",
            "at least one eligible machine",
        ),
        (
            BASE.replace('"duration": 3', '"duration": -3') + "}",
            r"jobs\[0\]\.operations\[0\]\.alternatives\[0\]\.duration",
            "at least 0",
        ),
        (
            BASE.replace('"duration": 3', '"duration": 2.5') + "}",
            r"alternatives\[0\]\.duration",
            "must be an integer, got 2.5",
        ),
        (
            BASE.replace('"duration": 3', '"duration": true') + "}",
            r"alternatives\[0\]\.duration",
            "must be an integer",
        ),
        (
            BASE.replace('"machine": "A"', '"machine": "C"') + "}",
            r"alternatives\[0\]\.machine",
            "unknown machine 'C' \\(known: A, B\\)",
        ),
        (
            BASE.replace('"machine": "A"', '"machine": 2') + "}",
            r"alternatives\[0\]\.machine",
            "outside 0..1",
        ),
        (
            BASE.replace('"name": "J"', '"name": "J", "release": -1') + "}",
            r"jobs\[0\]\.release",
            "at least 0",
        ),
        (
            BASE.replace('"name": "J"', '"name": 7') + "}",
            r"jobs\[0\]\.name",
            "must be a string",
        ),
        (
            BASE.replace('"duration": 3}]', '"duration": 3}], "lag_afer": 2') + "}",
            r"jobs\[0\]\.operations\[0\]\.lag_afer",
            "unknown field",
        ),
        (
            BASE.replace('"duration": 3}]', '"duration": 3}], "may_span_break": 1') + "}",
            r"operations\[0\]\.may_span_break",
            "true or false",
        ),
        (
            BASE + ', "downtimes": [{"machine": "B", "start": 5, "end": 5}]}',
            r"downtimes\[0\]\.end",
            "must be after start",
        ),
        (
            BASE + ', "setups": [{"machine": "A", "before": "x", "duration": 1}]}',
            r"setups\[0\]\.after",
            "is required",
        ),
        (
            BASE + ', "initial_family": [{"machine": "Z", "family": "x"}]}',
            r"initial_family\[0\]\.machine",
            "unknown machine",
        ),
        (BASE + ', "horizon": -1}', "horizon", "at least 0"),
        (BASE + ', "downtimes": {}}', "downtimes", "must be a JSON list"),
    ],
)
def test_malformed_json_names_file_and_field(
    write_file: WriteFile, text: str, field: str | None, match: str
) -> None:
    path = write_file("bad.json", text)
    with pytest.raises(InputError, match=match) as info:
        read_instance(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    if field is not None:
        assert re.search(rf"field '(?:[^']*\.)?{field}'", message), message


def test_writer_refuses_a_wrong_number_of_names() -> None:
    with pytest.raises(InputError, match="2 machine names for 3 machines"):
        problem_to_json(plant_problem(), machines=["M1", "M2"])
