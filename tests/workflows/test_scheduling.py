"""The `schedule solve` workflow: files in, one checked result per instance out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shopfloor.errors import InputError
from shopfloor.workflows.scheduling import solve_files

WriteFile = Callable[[str, str], Path]
JSPLIB = "2 2\n0 3 1 2\n1 4 0 1\n"
TAILLARD = "2 2\n3 2\n4 1\n1 2\n2 1\n"
KEYS = {"instance", "makespan", "lower_bound", "gap_to_bound", "status", "seconds", "feasible"}


@pytest.mark.parametrize("plain", [False, True])
def test_solve_files_yields_one_checked_result_per_file(write_file: WriteFile, plain: bool) -> None:
    paths = [write_file("a.jsp", JSPLIB), write_file("b.tai", TAILLARD)]
    results = list(solve_files(paths, time_limit_s=5.0, workers=1, plain=plain))
    assert [r.instance for r in results] == ["a.jsp", "b.tai"]
    for result in results:
        assert set(result.as_dict()) == KEYS
        assert result.makespan == 6 and result.lower_bound == 6.0 and result.gap_to_bound == 0.0
        assert result.status == "optimal" and result.feasible


def test_a_bad_file_fails_before_any_solving(write_file: WriteFile) -> None:
    paths = [write_file("good", JSPLIB), write_file("bad", "2 2\n0 3 1 2\n")]
    with pytest.raises(InputError, match=r"bad, row 2: header announces 2 jobs"):
        list(solve_files(paths))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"format": "mps"}, "--format"),
        ({"objective": "profit"}, "--objective"),
        ({"time_limit_s": 0.0}, "--time-limit"),
        ({"workers": 0}, "--workers"),
    ],
)
def test_bad_options_name_the_option(
    write_file: WriteFile, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InputError, match=field):
        list(solve_files([write_file("a", JSPLIB)], **kwargs))  # type: ignore[arg-type]
