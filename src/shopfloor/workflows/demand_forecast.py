"""The demand forecaster on a compute backend: chunks of series as groups.

:mod:`shopfloor.supply.forecast_stages` splits a forecast into pooled steps and steps per
chunk of ``config.chunk`` series.  Here the pooled ones run in this process (the silence
classifiers, the calibration's choice, the conformal finish) and the chunks go through
``Backend.map_groups`` twice, grouped by chunk: once for the calibration's sums, once for
the forecasts.  Each series travels as one row: its chunk and position, its history and
its silence probabilities as float64 bytes; each result comes back the same way.  The
chunks are ``forecast_demand``'s own, so the forecast is the one it gives in one process,
number for number, on any backend.
"""

from __future__ import annotations

from functools import partial, reduce

import numpy as np
import pandas as pd
import pyarrow as pa

from shopfloor.compute import Backend
from shopfloor.supply import forecast_stages as stages
from shopfloor.supply.forecasting import (
    LEVEL_GRID,
    POINT_FACTORS,
    Calibration,
    DemandForecast,
    FloatArray,
    ForecastConfig,
    plain_calibration,
)

SOURCE = pa.schema(
    [
        ("chunk", pa.int64()),
        ("series", pa.int64()),
        ("history", pa.binary()),  # float64 per period
        ("silence", pa.binary()),  # float64: calibration (NaN: none), forecast, each origin
    ]
)
SUMS = pa.schema(
    [
        ("chunk", pa.int64()),
        ("pinball", pa.binary()),
        ("covered", pa.binary()),
        ("present", pa.float64()),
        ("rmsse_sum", pa.binary()),
        ("rmsse_count", pa.binary()),
    ]
)
FORECASTS = pa.schema(
    [
        ("chunk", pa.int64()),
        ("series", pa.int64()),
        ("model", pa.string()),
        ("scale", pa.float64()),
        ("mean", pa.binary()),  # h
        ("point", pa.binary()),  # h
        ("quantiles", pa.binary()),  # levels x h, in config.levels order
        ("pmf", pa.binary()),
        ("model_mean", pa.binary()),  # h
        ("errors", pa.binary()),  # origins x h
    ]
)


def forecast_on(
    backend: Backend, history: FloatArray, config: ForecastConfig, first_month: int = 0
) -> DemandForecast:
    """``forecast_demand(history, config, first_month)``, its chunks run by ``backend``."""
    silence = stages.fleet_silence(history, config, first_month)
    source = _source(history, silence, config)
    calibration = plain_calibration(config)
    if silence.calibration is not None:
        fn = partial(calibration_group, config=config)
        sums = backend.map_groups(source, fn, ["chunk"], SUMS, order_by=["series"])
        calibration = stages.choose_calibration(
            reduce(stages.CalibrationSums.__add__, _decode_sums(sums, config)), config
        )
    fn = partial(forecast_group, config=config, calibration=calibration, origins=silence.origins)
    rows = backend.map_groups(source, fn, ["chunk"], FORECASTS, order_by=["series"])
    part = _decode_forecasts(rows, config, len(silence.origins))
    return stages.finish(part, silence.forecast, calibration, config)


def _source(history: FloatArray, silence: stages.FleetSilence, config: ForecastConfig) -> pa.Table:
    n = history.shape[0]
    calibration = np.full(n, np.nan) if silence.calibration is None else silence.calibration
    per_series = np.column_stack([calibration, silence.forecast, silence.at_origins])
    return pa.table(
        {
            "chunk": np.arange(n, dtype=np.int64) // config.chunk,
            "series": np.arange(n, dtype=np.int64),
            "history": _rows_bytes(history),
            "silence": _rows_bytes(per_series),
        },
        schema=SOURCE,
    )


def _rows_bytes(values: FloatArray) -> list[bytes]:
    values = np.ascontiguousarray(values, dtype=np.float64)
    return [row.tobytes() for row in values]


def _floats(blobs: pd.Series, width: int) -> FloatArray:
    """Rows of float64 bytes as a matrix of ``width`` columns (a copy: it is written)."""
    flat = b"".join(blobs)
    return np.frombuffer(flat, dtype=np.float64).reshape(len(blobs), width).copy()


def _chunk(group: pd.DataFrame) -> tuple[int, FloatArray, FloatArray]:
    """A group's chunk index, history and silence probabilities (rows = its series)."""
    width = {name: len(group[name].iloc[0]) // 8 for name in ("history", "silence")}
    history = _floats(group["history"], width["history"])
    silence = _floats(group["silence"], width["silence"])
    return int(group["chunk"].iloc[0]), history, silence


def calibration_group(group: pd.DataFrame, *, config: ForecastConfig) -> pd.DataFrame:
    """One chunk's rows -> its calibration sums (one row)."""
    chunk, history, silence = _chunk(group)
    sums = stages.calibration_sums(history, silence[:, 0], config, chunk)
    return pd.DataFrame(
        {
            "chunk": [chunk],
            "pinball": [sums.pinball.tobytes()],
            "covered": [sums.covered.tobytes()],
            "present": [sums.present],
            "rmsse_sum": [sums.rmsse_sum.tobytes()],
            "rmsse_count": [sums.rmsse_count.tobytes()],
        }
    )


def _decode_sums(table: pa.Table, config: ForecastConfig) -> list[stages.CalibrationSums]:
    windows = len(stages.calibration_windows(config))
    shapes = {
        "pinball": (windows, len(config.levels), LEVEL_GRID.size),
        "covered": (windows, LEVEL_GRID.size),
        "rmsse_sum": (windows, len(POINT_FACTORS)),
        "rmsse_count": (windows, len(POINT_FACTORS)),
    }
    out = []
    for row in table.to_pylist():  # in chunk order
        arrays = {
            name: np.frombuffer(row[name], dtype=np.float64).reshape(shape)
            for name, shape in shapes.items()
        }
        out.append(stages.CalibrationSums(present=float(row["present"]), **arrays))
    return out


def forecast_group(
    group: pd.DataFrame,
    *,
    config: ForecastConfig,
    calibration: Calibration,
    origins: tuple[int, ...],
) -> pd.DataFrame:
    """One chunk's rows -> one row of forecasts per series."""
    chunk, history, silence = _chunk(group)
    fleet = stages.FleetSilence(None, silence[:, 1], origins, silence[:, 2:])
    part = stages.forecast_chunk(history, fleet, calibration, config, chunk)
    n = history.shape[0]
    quantiles = np.stack([part.quantiles[level] for level in config.levels], axis=1)
    return pd.DataFrame(
        {
            "chunk": np.full(n, chunk, dtype=np.int64),
            "series": group["series"].to_numpy(dtype=np.int64),
            "model": pd.array(part.model.astype(str), dtype="str"),
            "scale": part.scale,
            "mean": _rows_bytes(part.mean),
            "point": _rows_bytes(part.point),
            "quantiles": _rows_bytes(quantiles.reshape(n, -1)),
            "pmf": [np.ascontiguousarray(pmf, dtype=np.float64).tobytes() for pmf in part.pmfs],
            "model_mean": _rows_bytes(part.model_mean),
            "errors": _rows_bytes(part.errors.reshape(n, -1)),
        }
    )


def _decode_forecasts(
    table: pa.Table, config: ForecastConfig, origins: int
) -> stages.ChunkForecast:
    frame = table.to_pandas()
    series = frame["series"].to_numpy()
    if not np.array_equal(series, np.arange(len(frame))):
        raise RuntimeError("the backend lost or reordered series of the forecast")
    n, h, levels = len(frame), config.horizon, len(config.levels)
    quantiles = _floats(frame["quantiles"], levels * h).reshape(n, levels, h)
    return stages.ChunkForecast(
        mean=_floats(frame["mean"], h),
        point=_floats(frame["point"], h),
        quantiles={level: quantiles[:, i].copy() for i, level in enumerate(config.levels)},
        pmfs=[np.frombuffer(blob, dtype=np.float64).copy() for blob in frame["pmf"]],
        model=frame["model"].to_numpy(dtype=object),
        model_mean=_floats(frame["model_mean"], h),
        errors=_floats(frame["errors"], origins * h).reshape(n, origins, h),
        scale=frame["scale"].to_numpy(dtype=np.float64),
    )
