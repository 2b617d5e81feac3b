"""The ONNX graph computes live_scores, run by onnxruntime, for varied monitors."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort  # type: ignore[import-untyped]
import pandas as pd
import pytest

from shopfloor.maintenance.condition import ConditionMonitor
from shopfloor.maintenance.live import LiveModel, live_scores
from shopfloor.maintenance.onnx_export import OPSET, to_onnx
from tests.maintenance.condition_data import machine_buckets


def _data(seed: int, signals: tuple[str, ...], wear_from: int | None = None) -> pd.DataFrame:
    frame = machine_buckets(seed=seed, wear_from=wear_from)
    rng = np.random.default_rng(seed)
    frame["temp"] = 40 + frame["speed"] / 100 + rng.standard_normal(len(frame))
    return frame[["speed", *signals]]


def _session(model: LiveModel) -> ort.InferenceSession:
    return ort.InferenceSession(to_onnx(model), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(
    ("signals", "bins", "log_scale"),
    [
        (("vibration", "acoustic", "current"), 10, True),  # S odd
        (("vibration", "current"), 4, True),  # S even: mean of the two middles
        (("vibration", "acoustic", "current", "temp"), 7, False),
        (("temp",), 10, True),  # one signal
    ],
)
def test_onnx_scores_equal_live_scores(
    signals: tuple[str, ...], bins: int, log_scale: bool
) -> None:
    monitor = ConditionMonitor(signals=signals, bins=bins, log_scale=log_scale)
    model = LiveModel.from_monitor("M1", monitor.fit(_data(1, signals)))
    test = _data(2, signals, wear_from=700)
    values = test[list(signals)].to_numpy(copy=True)
    context = test["speed"].to_numpy(copy=True)
    rng = np.random.default_rng(0)
    values[rng.random(values.shape) < 0.1] = np.nan  # gaps: NaN-skipping median
    values[3] = np.nan  # no signal at all
    values[4, 0] = -1.0  # below the log floor
    context[[5, 6, 7, 8]] = [np.nan, np.inf, 10.0, 5_000.0]  # unusable x3, top bin

    score, sigma = _session(model).run(None, {"values": values, "context": context})
    want_score, want_sigma = live_scores(model, values, context)

    assert score.dtype == np.float64 and sigma.shape == values.shape
    np.testing.assert_array_equal(np.isnan(score), np.isnan(want_score))
    np.testing.assert_array_equal(np.isnan(sigma), np.isnan(want_sigma))
    np.testing.assert_allclose(score, want_score, rtol=1e-12, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(sigma, want_sigma, rtol=1e-12, atol=1e-12, equal_nan=True)
    assert np.isnan(score[[3, 5, 6, 7]]).all() and np.isfinite(score[8])
    assert np.isfinite(score).sum() > 0.8 * len(score)
    assert np.nanmax(score[-50:]) > model.threshold  # the wear is seen by the graph too


def test_onnx_model_is_valid_and_self_describing() -> None:
    signals = ("vibration", "acoustic", "current")
    model = LiveModel.from_monitor("press-7", ConditionMonitor().fit(_data(3, signals)))
    proto = onnx.load_from_string(to_onnx(model))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == OPSET
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["asset"] == "press-7" and props["signals"] == ",".join(signals)
    assert float(props["threshold"]) == model.threshold
    # One row at a time, as the runner may send it.
    row = np.array([[1.6, 77.0, 25.0]])
    score, _ = _session(model).run(None, {"values": row, "context": np.array([1500.0])})
    np.testing.assert_allclose(score, live_scores(model, row, [1500.0])[0], rtol=1e-12)
