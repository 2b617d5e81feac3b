"""OEE on a compute backend: per-asset sums on the backend, the rollup here.

Compared with :func:`shopfloor.production.compute_oee` on the whole tables (the direct
computation) and between the local and the Spark backend, on the shared 7-day demo lake
(read-only here) and on small lakes made in the test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from shopfloor.compute import SparkBackend
from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.production import OeeResult, compute_oee
from shopfloor.workflows import production as workflow
from tests.workflows.supply_lake import ingest_csv

GROUPINGS = ("asset", "line", "site")


def _direct(lake: Lake, by: str, period: str, only: set[str] | None = None) -> OeeResult:
    events = lake.table("events").to_pandas()
    counts = lake.table("production").to_pandas()
    assets = lake.table("assets").to_pandas()
    if only is not None:
        events = events[events["asset"].isin(only)]
        counts = counts[counts["asset"].isin(only)]
        assets = assets[assets["asset"].isin(only)]
    settings = lake.settings.production
    return compute_oee(
        events,
        counts,
        assets,
        by=by,  # type: ignore[arg-type]
        period=period,  # type: ignore[arg-type]
        shift_starts=tuple(settings.shift_starts),
        timezone=settings.timezone,
    )


def _same(result: OeeResult, direct: OeeResult, exact: bool) -> None:
    pd.testing.assert_frame_equal(result.frame, direct.frame, check_exact=exact, rtol=1e-12)
    for name, value in vars(direct.overall).items():
        assert getattr(result.overall, name) == pytest.approx(value, rel=1e-12, nan_ok=True)


@pytest.mark.parametrize("period", ["shift", "day", "week"])
def test_local_backend_equals_the_direct_computation(demo_week: Lake, period: str) -> None:
    """Per asset the figures are the direct ones exactly (each asset's events and counts
    are summed in the same order).  A line or site adds up its assets' sums instead of
    every interval at once, so its floating-point sums may differ in the last digits:
    rtol 1e-12 (measured: at most 1.5e-15)."""
    for by in GROUPINGS:
        result = workflow.oee(demo_week, by=by, period=period, backend="local")  # type: ignore[arg-type]
        assert len(result.frame) > 0
        _same(result, _direct(demo_week, by, period), exact=by == "asset")


def test_a_sites_view_keeps_its_assets(demo_week: Lake) -> None:
    """``assets`` restricts the scans (a site's view); same tolerance as above."""
    only = {"L1-M01", "L1-M02", "L2-M06"}
    result = workflow.oee(demo_week, by="line", assets=only, backend="local")
    assert set(result.frame["group"]) == {"L1", "L2"}
    _same(result, _direct(demo_week, "line", "day", only), exact=False)
    nothing = workflow.oee(demo_week, by="line", assets=set(), backend="local")
    assert nothing.frame.empty


def _events_lake(lake: Lake, rows: list[str]) -> Lake:
    """Events ingested from CSV rows ``asset,start,end,kind,code``."""
    ingest_csv(lake, "events", "\n".join(["asset,start,end,kind,code", *rows]) + "\n", "events")
    return lake


def test_open_states_close_at_the_plants_last_event(lake: Lake) -> None:
    """One asset's group does not see the others' events: the workflow tells it where
    open states close, as the direct computation finds it on all events at once."""
    _events_lake(
        lake,
        [
            "M1,2024-01-01T06:00:00Z,,state,running",  # open
            "M2,2024-01-01T06:00:00Z,2024-01-01T12:00:00Z,state,running",
            "M2,2024-01-01T15:00:00Z,,alarm,E1",  # the plant's last timestamp
        ],
    )
    result = workflow.oee(lake, backend="local")
    running = result.frame.set_index("group")["run_time_s"]
    assert running.to_dict() == {"M1": 9 * 3600.0, "M2": 6 * 3600.0}
    pd.testing.assert_frame_equal(result.frame, _direct(lake, "asset", "day").frame)


def test_unknown_state_codes_and_an_empty_lake_are_refused(lake: Lake) -> None:
    with pytest.raises(InputError, match="no events yet") as info:
        workflow.oee(lake, backend="local")
    assert info.value.field == "events"
    _events_lake(lake, ["M1,2024-01-01T06:00:00Z,,state,sleeping"])
    with pytest.raises(InputError, match="state code 'sleeping' of M1") as info:
        workflow.oee(lake, backend="local")
    assert info.value.field == "code"


@pytest.mark.spark
def test_spark_gives_the_local_figures(demo_week: Lake, spark_backend: SparkBackend) -> None:
    """Exactly equal: both backends hand the group function the same frame (rows sorted
    by every column it reads) and the rollup runs here on the same per-asset sums."""
    for by, period in [("asset", "shift"), ("line", "day"), ("site", "week")]:
        local = workflow.oee(demo_week, by=by, period=period, backend="local")  # type: ignore[arg-type]
        spark = workflow.oee(demo_week, by=by, period=period, backend=spark_backend)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(spark.frame, local.frame, check_exact=True)
        assert spark.overall == local.overall
