"""JSPLIB and Taillard readers: the shared files, both layouts, and every malformed input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shopfloor.errors import InputError
from shopfloor.planning.instances import detect_format, parse_jsplib, parse_taillard, read_instance
from tests.conftest import SHARED_DATASETS

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


@pytest.mark.skipif(not (SHARED_DATASETS / "jobshop").exists(), reason="no shared dataset")
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
