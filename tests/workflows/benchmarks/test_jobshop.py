"""Job-shop benchmark: a generated JSPLIB layout end to end, bad input, the real ft06."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopfloor.cli.benchmark_cmd import app
from shopfloor.errors import InputError
from shopfloor.workflows.benchmarks.jobshop import gap_percent, run_jobshop
from tests.conftest import SHARED_DATASETS

# Tiny instances (JSPLIB: machine duration pairs, machines from 0) and their optima.
TINY = {
    # Two jobs, two machines, crossing routes: optimum 5 (job 0 on m0, job 1 on m1 first).
    "tiny01": ("2 2\n0 2 1 3\n1 2 0 3\n", 5),
    # One machine: the sum of the durations.
    "tiny02": ("# one machine\n3 1\n0 2\n0 4\n0 1\n", 7),
    # 3x3 with a zero-length operation.
    "tiny03": ("3 3\n0 3 1 2 2 0\n1 2 0 4 2 3\n2 4 1 1 0 2\n", None),
}


def _layout(root: Path, *, bounds: str | None = None) -> Path:
    (root / "instances").mkdir(parents=True)
    entries = []
    for name, (text, optimum) in TINY.items():
        (root / "instances" / name).write_text(text, encoding="utf-8")
        entry: dict[str, object] = {"name": name, "path": f"instances/{name}"}
        if optimum is None:
            entry |= {"optimum": None, "bounds": {"upper": 12, "lower": 9}}
        else:
            entry |= {"optimum": optimum}
        entries.append(entry)
    (root / "instances.json").write_text(json.dumps(entries), encoding="utf-8")
    if bounds is None:
        # tiny01 from the CSV (a deliberately loose best-known, to see which file wins),
        # tiny02 has an empty row (falls back to instances.json), tiny03 is absent.
        bounds = (
            "name,jobs,machines,jsplib_optimum,jsplib_lower,jsplib_upper,"
            "weise2020_lower_bound,weise2020_bks,optimal_known\n"
            "tiny01,2,2,,,,4,6,0\n"
            "tiny02,3,1,,,,,,0\n"
        )
    (root / "bounds.csv").write_text(bounds, encoding="utf-8")
    return root


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    return _layout(tmp_path / "jobshop")


def test_run_on_generated_layout(layout: Path) -> None:
    messages: list[str] = []
    report = run_jobshop(layout, instances="tiny*", time_limit_s=2, progress=messages.append)
    payload = report.as_dict()
    assert payload["n_instances"] == 3
    assert len(messages) == 6 and "tiny01" in messages[0]
    rows = {row["instance"]: row for row in payload["instances"]}
    assert list(rows) == ["tiny01", "tiny02", "tiny03"]
    keys = {"instance", "makespan", "lower_bound", "gap_to_bound", "gap_to_best_known"}
    assert keys | {"status", "seconds", "feasible", "plain"} <= set(rows["tiny01"])
    assert set(rows["tiny01"]["plain"]) == {
        "makespan",
        "gap_to_best_known",
        "status",
        "seconds",
        "feasible",
    }
    for row in rows.values():
        assert row["feasible"] and row["plain"]["feasible"]
        assert row["status"] == row["plain"]["status"] == "optimal"
        assert row["makespan"] == row["plain"]["makespan"]
        assert row["gap_to_bound"] == pytest.approx(0.0)
    assert rows["tiny01"]["makespan"] == 5
    assert rows["tiny01"]["best_known"] == 6  # bounds.csv wins over instances.json
    assert rows["tiny01"]["gap_to_best_known"] == pytest.approx(100 * (5 - 6) / 6)
    assert rows["tiny02"]["makespan"] == 7
    assert rows["tiny02"]["best_known"] == 7  # empty CSV row: instances.json optimum
    assert rows["tiny02"]["gap_to_best_known"] == pytest.approx(0.0)
    assert rows["tiny03"]["best_known"] == 12  # not in the CSV: instances.json upper
    assert rows["tiny03"]["known_lower_bound"] == 9
    expected = [rows[n]["gap_to_best_known"] for n in rows]
    assert payload["mean_gap_to_best_known"] == pytest.approx(sum(expected) / 3)
    assert payload["plain_mean_gap_to_best_known"] == pytest.approx(sum(expected) / 3)
    assert payload["n_scored"] == payload["plain_n_scored"] == 3


def test_glob_selects_instances(layout: Path) -> None:
    report = run_jobshop(layout, instances="tiny0[12]", time_limit_s=1, workers=1)
    assert [i.instance for i in report.instances] == ["tiny01", "tiny02"]


def test_gap_percent() -> None:
    assert gap_percent(1250, 1000) == pytest.approx(25.0)
    assert gap_percent(None, 1000) is None
    assert gap_percent(10, None) is None


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda root: (root / "bounds.csv").unlink(), "bounds.csv"),
        (lambda root: (root / "instances.json").unlink(), "instances.json"),
        (lambda root: (root / "instances.json").write_text("{not json"), "instances.json"),
        (lambda root: (root / "instances.json").write_text('{"a": 1}'), "instances.json"),
        (
            lambda root: (root / "bounds.csv").write_text(
                "name,weise2020_bks\ntiny01,six\n", encoding="utf-8"
            ),
            "bounds.csv",
        ),
        (
            lambda root: (root / "bounds.csv").write_text(
                "instance,weise2020_bks\ntiny01,6\n", encoding="utf-8"
            ),
            "bounds.csv",
        ),
        (
            lambda root: (root / "bounds.csv").write_text(
                "name,weise2020_bks\ntiny01,-6\n", encoding="utf-8"
            ),
            "bounds.csv",
        ),
        (lambda root: (root / "bounds.csv").write_text("", encoding="utf-8"), "bounds.csv"),
        (
            lambda root: (root / "instances" / "tiny02").write_text("3 1\n0 2\n0 x\n0 1\n"),
            "tiny02",
        ),
    ],
)
def test_bad_layout_names_the_file(
    layout: Path, damage: Callable[[Path], object], named: str
) -> None:
    damage(layout)
    with pytest.raises(InputError, match=named):
        run_jobshop(layout, instances="tiny*", time_limit_s=1)


def test_malformed_bound_names_row(layout: Path) -> None:
    (layout / "bounds.csv").write_text("name,weise2020_bks\ntiny01,6\ntiny02,7.5\n")
    with pytest.raises(InputError) as info:
        run_jobshop(layout, instances="tiny*", time_limit_s=1)
    assert info.value.row == 3 and info.value.field == "weise2020_bks"


def test_missing_directories_and_no_match(tmp_path: Path, layout: Path) -> None:
    with pytest.raises(InputError, match="nowhere"):
        run_jobshop(tmp_path / "nowhere")
    with pytest.raises(InputError, match="no instance matches 'ta0\\*'"):
        run_jobshop(layout)  # the default glob matches none of the tiny instances
    with pytest.raises(InputError, match="time-limit"):
        run_jobshop(layout, instances="tiny*", time_limit_s=0)
    with pytest.raises(InputError, match="workers"):
        run_jobshop(layout, instances="tiny*", workers=0)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="instances"):
        run_jobshop(empty)


def test_cli_json_table_and_error(layout: Path) -> None:
    runner = CliRunner()
    args = ["jobshop", "--data", str(layout), "--instances", "tiny02"]
    result = runner.invoke(app, [*args, "--time-limit", "1", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n_instances"] == 1 and payload["instances"][0]["makespan"] == 7
    table = runner.invoke(app, [*args, "--time-limit", "1"])
    assert table.exit_code == 0 and "tiny02" in table.stdout
    missing = runner.invoke(app, ["jobshop", "--data", str(layout / "none"), "--json"])
    assert isinstance(missing.exception, InputError)  # main() maps it to exit code 2


JOBSHOP = SHARED_DATASETS / "jobshop"


def test_real_dataset_ft06() -> None:
    report = run_jobshop(JOBSHOP, instances="ft06", time_limit_s=10, workers=2)
    (row,) = report.as_dict()["instances"]
    assert row["instance"] == "ft06" and row["best_known"] == 55
    assert row["makespan"] == 55 and row["status"] == "optimal" and row["feasible"]
    assert row["gap_to_best_known"] == pytest.approx(0.0)
    assert row["plain"]["makespan"] == 55 and row["plain"]["feasible"]
