"""The demo plant end to end: generate -> ingest (user path) -> data quality -> OEE.

The data-quality acceptance figures of the Foundation issue are asserted here on the
real pipeline: for every check, recall >= 0.95 and precision >= 0.90 against the
generator's ground truth, after the readings went through ingest and the lake.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shopfloor.config import Settings
from shopfloor.data_quality import ALL_CHECKS
from shopfloor.lake import Lake
from shopfloor.workflows.data_quality import repair_quality


@pytest.fixture(scope="module")
def demo(demo_plant):  # type: ignore[no-untyped-def]
    return demo_plant


@pytest.mark.slow
def test_every_check_meets_recall_and_precision(demo) -> None:  # type: ignore[no-untyped-def]
    _, summary = demo
    assert set(summary.quality_scores) == set(ALL_CHECKS)
    for check, score in summary.quality_scores.items():
        assert score.truth > 0, f"{check}: no planted fault"
        assert score.recall >= 0.95, f"{check}: recall {score.recall:.3f}"
        assert score.precision >= 0.90, f"{check}: precision {score.precision:.3f}"


@pytest.mark.slow
def test_demo_lake_contents(demo) -> None:  # type: ignore[no-untyped-def]
    lake, summary = demo
    info = {t.name: t for t in lake.info().tables}
    assert info["assets"].rows >= 12 + 2  # machines, lines, site, area
    assert info["signals"].rows >= 12 * 6
    assert info["readings"].rows >= 12 * 6 * 30 * 8640 * 0.95
    for table in (
        "events",
        "production",
        "orders",
        "routings",
        "demand",
        "inventory",
        "deliveries",
        "work_orders",
        "inspections",
        "items",
    ):
        assert info[table].rows > 0, table
    assert (lake.path / "demo-source" / "ground_truth" / "dq_faults.parquet").exists()
    assert summary.ingests["readings"].quarantined == 0
    lines = summary.oee_by_line.frame
    assert set(lines["group"]) == {"L1", "L2"}
    overall = summary.oee_by_line.overall
    assert 0.3 < overall.oee < 0.95
    found = dict(
        zip(
            summary.bottlenecks.frame["line"], summary.bottlenecks.frame["bottleneck"], strict=False
        )
    )
    assert found == {"L1": "L1-M04", "L2": "L2-M04"}
    assert summary.reliability["failures"].sum() > 0


@pytest.fixture
def week_copy(demo_week: Lake, tmp_path: Path) -> Lake:
    """A writable copy of the shared 7-day demo lake (its generated source files left out)."""
    path = tmp_path / "lake"
    shutil.copytree(demo_week.path, path, ignore=shutil.ignore_patterns("demo-source"))
    return Lake(path, Settings(lake=path))


@pytest.mark.slow
def test_repair_writes_a_new_table_and_keeps_raw(week_copy: Lake) -> None:
    # On a copy of the 7-day demo (the same kinds of planted faults, ~1/4 of the 30-day
    # plant's readings); the shared 30-day plant gets no readings_clean for others to see.
    lake = week_copy
    raw_version = lake.version("readings")
    raw_rows = lake.table("readings").num_rows
    result = repair_quality(lake)
    assert lake.version("readings") == raw_version
    assert lake.table("readings").num_rows == raw_rows
    assert result.table_version == lake.version("readings_clean")
    clean = lake.sql(
        "SELECT count(*) AS n, count(*) FILTER (WHERE quality > 0) AS fixed FROM readings_clean"
    )
    assert clean["n"][0] > 0 and clean["fixed"][0] > 0
    dupes = lake.sql(
        "SELECT count(*) AS n FROM (SELECT asset, signal, ts FROM readings_clean "
        "GROUP BY ALL HAVING count(*) > 1)"
    )
    assert dupes["n"][0] == 0


def test_demo_refuses_a_lake_with_other_data(tmp_path: Path) -> None:
    import subprocess
    import sys

    lake = tmp_path / "lake"
    (lake / "tables").mkdir(parents=True)
    (lake / "meta.sqlite").write_bytes(b"")
    result = subprocess.run(
        [sys.executable, "-m", "shopfloor.cli.main", "demo", "--lake", str(lake), "--days", "3"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2
    assert "not a demo plant" in result.stderr


def test_first_demo_in_a_fresh_directory_uses_the_default_lake(tmp_path: Path) -> None:
    """`make demo` on a fresh clone: no --lake, nothing there yet (3 days to stay quick)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SHOPFLOOR_LAKE"}

    def demo(*extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "shopfloor.cli.main", "demo", "--days", "3", "--no-serve"]
        return subprocess.run(
            [*command, *extra],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
            cwd=tmp_path,
            env=env,
        )

    result = demo()
    assert result.returncode == 0, result.stderr
    lake = tmp_path / "shopfloor-lake"
    assert (lake / "demo-source" / "ground_truth").is_dir()
    # Again in the same directory: the previous demo lake is replaced.  The live part ran
    # above (with the default, relative lake path); it is skipped here to save ~20 s.
    leftover = lake / "demo-source" / "left-by-the-first-demo"
    leftover.write_text("")
    again = demo("--json", "--no-live")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / json.loads(again.stdout)["lake"]).resolve() == lake.resolve()
    assert not leftover.exists()


@pytest.mark.slow
def test_demo_spc_flags_the_wear_and_prices_capability(demo) -> None:  # type: ignore[no-untyped-def]
    _, summary = demo
    report, study = summary.spc.report, summary.spc.capability
    # Two measured characteristics on two machines of each line, one chart per product.
    machines = {(s.asset, s.characteristic) for s in report.series}
    assert len(machines) == 4 and len(report.series) >= 8
    overview = report.summary()
    # Wear walks the mean towards a limit: most charts alarm in phase II...
    assert (overview["alarms_phase_two"] > 0).mean() >= 0.5
    # ...and the spread over the month exceeds the within-subgroup spread.
    frame = study.frame()
    assert len(frame) == len(report.series) and not study.skipped
    assert (frame["ppk"] <= frame["cpk"] + 0.05).all()
    assert (frame["cpk_lower"] < frame["cpk"]).all() and (frame["cpk"] < frame["cpk_upper"]).all()
