"""Demand forecasts on a compute backend: chunks of series as groups, the pooled steps here.

On the shared 7-day demo lake (50 series of weekly demand; read-only: ``store=False``),
against ``forecast_demand`` in one process and between the local and the Spark backend.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from shopfloor.compute import SparkBackend
from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.supply.forecasting import DemandForecast, forecast_demand
from shopfloor.workflows import supply_planning as workflow
from shopfloor.workflows.supply import demand_matrix

CHUNK = 16  # the demo's 50 series in 4 chunks


def _same(a: DemandForecast, b: DemandForecast) -> None:
    """Bit for bit: every array, every pmf, the calibration and the models chosen."""
    for name in ("mean", "point", "silence"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.quantiles.keys() == b.quantiles.keys()
    for level in a.quantiles:
        np.testing.assert_array_equal(a.quantiles[level], b.quantiles[level], err_msg=str(level))
    assert len(a.pmfs) == len(b.pmfs)
    for i, (pa_, pb) in enumerate(zip(a.pmfs, b.pmfs, strict=True)):
        np.testing.assert_array_equal(pa_, pb, err_msg=f"pmf {i}")
    assert a.calibration == b.calibration
    assert a.model is not None and b.model is not None
    assert a.model.tolist() == b.model.tolist()


@pytest.mark.parametrize("chunk", [None, CHUNK])
def test_local_backend_equals_forecast_demand_in_one_process(
    demo_week: Lake, chunk: int | None
) -> None:
    """Exactly equal: the backend's groups are ``forecast_demand``'s own chunks (same
    rows, same random streams) and every pooled step adds them up in the same order."""
    lake = demo_week
    result = workflow.forecast_lake(lake, store=False, backend="local", series_per_chunk=chunk)
    matrix = demand_matrix(lake)
    config = workflow._config(lake, result.horizon, matrix.period)
    if chunk is not None:
        config = replace(config, chunk=chunk)
    first = workflow._calendar_position(matrix.periods[0], matrix.period)
    direct = forecast_demand(workflow._history(matrix), config, first)
    _same(result.forecast, direct)
    assert len(result.series) == matrix.n_series == 50
    assert result.rows["mean"].to_numpy().tolist() == direct.mean.ravel().tolist()
    assert set(result.series["model"]) >= {"bootstrap"}


def test_bad_chunk_size_is_refused(demo_week: Lake) -> None:
    with pytest.raises(InputError) as info:
        workflow.forecast_lake(demo_week, store=False, backend="local", series_per_chunk=0)
    assert info.value.field == "series_per_chunk"


@pytest.mark.spark
def test_spark_gives_the_local_forecast(demo_week: Lake, spark_backend: SparkBackend) -> None:
    """Exactly equal, every numeric column of the stored rows and every pmf: the chunks
    travel as float64 bytes and run the same code on Spark's Python workers."""
    local = workflow.forecast_lake(demo_week, store=False, backend="local", series_per_chunk=CHUNK)
    spark = workflow.forecast_lake(
        demo_week, store=False, backend=spark_backend, series_per_chunk=CHUNK
    )
    _same(spark.forecast, local.forecast)
    ids = ["forecast_id", "created_at"]
    numeric = [c for c in local.rows.columns if pd.api.types.is_numeric_dtype(local.rows[c])]
    assert {"silence", "mean", "point", "q50", "q80", "q90", "q95"} <= set(numeric)
    pd.testing.assert_frame_equal(
        spark.rows.drop(columns=ids), local.rows.drop(columns=ids), check_exact=True
    )
    pd.testing.assert_frame_equal(spark.series, local.series, check_exact=True)
