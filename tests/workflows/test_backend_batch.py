"""The demo lake's whole batch pipeline on Spark (local mode) gives the local results.

Both runs start from copies of the same 7-day demo lake.  Tolerances: none, the
outputs are compared exactly, because both backends call the same per-group functions
on identically typed and ordered frames (see shopfloor.compute.sources.run_group) and
the driver-side steps (fitting, alert episodes, rollups) see identical inputs.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from shopfloor.compute import SparkBackend
from shopfloor.config import Settings
from shopfloor.lake import Lake
from shopfloor.workflows.batch import BatchSummary, run_batch
from shopfloor.workflows.data_quality import report_path

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def runs(
    demo_week: Lake, spark_backend: SparkBackend, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Lake, BatchSummary]]:
    out = {}
    for name, backend in (("local", "local"), ("spark", spark_backend)):
        path = tmp_path_factory.mktemp(f"batch-{name}") / "lake"
        shutil.copytree(demo_week.path, path)
        lake = Lake(path, Settings(lake=path))
        out[name] = (lake, run_batch(lake, backend))
    return out


def test_every_step_ran_on_its_backend(runs: dict[str, tuple[Lake, BatchSummary]]) -> None:
    for name, (_, summary) in runs.items():
        assert summary.backend == name
        assert summary.oee_by_line is not None
        assert summary.training is not None and summary.training.rul_model is not None
        assert summary.scoring is not None and summary.outlook is not None
        assert summary.forecast is not None
        assert len(summary.quality.issues) > 0


def test_quality_reports_are_identical(runs: dict[str, tuple[Lake, BatchSummary]]) -> None:
    local, spark = runs["local"][1].quality, runs["spark"][1].quality
    assert [i.to_dict() for i in spark.issues] == [i.to_dict() for i in local.issues]
    pd.testing.assert_frame_equal(spark.scores, local.scores)


def test_oee_is_identical(runs: dict[str, tuple[Lake, BatchSummary]]) -> None:
    local, spark = runs["local"][1].oee_by_line, runs["spark"][1].oee_by_line
    assert local is not None and spark is not None
    pd.testing.assert_frame_equal(spark.frame, local.frame)


def test_models_scores_and_alerts_are_identical(
    runs: dict[str, tuple[Lake, BatchSummary]],
) -> None:
    local, spark = runs["local"][1], runs["spark"][1]
    assert local.training is not None and spark.training is not None
    for field in ("assets", "fallback_assets", "normal_rows", "rows"):
        assert getattr(spark.training, field) == getattr(local.training, field)
    assert spark.training.model.metrics == local.training.model.metrics
    assert local.scoring is not None and spark.scoring is not None
    assert list(spark.scoring.scores) == list(local.scoring.scores)
    for asset, mine in spark.scoring.scores.items():
        theirs = local.scoring.scores[asset]
        assert mine.index.equals(theirs.index)
        np.testing.assert_array_equal(mine.score, theirs.score)
        pd.testing.assert_frame_equal(mine.deviation_sigma, theirs.deviation_sigma)
    pd.testing.assert_frame_equal(spark.scoring.episodes, local.scoring.episodes)
    assert spark.scoring.alerts_written == local.scoring.alerts_written


def test_rul_is_identical(runs: dict[str, tuple[Lake, BatchSummary]]) -> None:
    local, spark = runs["local"][1].outlook, runs["spark"][1].outlook
    assert local is not None and spark is not None
    for field in ("unit", "rul", "lower", "upper"):
        np.testing.assert_array_equal(
            getattr(spark.prediction, field), getattr(local.prediction, field)
        )
    assert spark.recommendations == local.recommendations


def test_forecasts_are_identical(runs: dict[str, tuple[Lake, BatchSummary]]) -> None:
    local, spark = runs["local"][1].forecast, runs["spark"][1].forecast
    assert local is not None and spark is not None
    run_columns = ["forecast_id", "created_at"]
    pd.testing.assert_frame_equal(
        spark.rows.drop(columns=run_columns), local.rows.drop(columns=run_columns)
    )


def test_results_are_stored_in_the_lake(runs: dict[str, tuple[Lake, BatchSummary]]) -> None:
    lake, summary = runs["spark"]
    assert report_path(lake, "readings").exists()
    assert summary.forecast is not None
    stored = lake.sql("SELECT DISTINCT forecast_id FROM forecasts")["forecast_id"].tolist()
    assert summary.forecast.forecast_id in stored
    assert summary.training is not None
    assert summary.training.model.training_data["readings"] == lake.version("readings")
