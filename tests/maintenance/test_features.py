"""Window features: equal to a naive per-group computation, in the caller's row order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.maintenance.features import (
    group_starts,
    last_row_positions,
    rolling_window_stats,
    spectral_features,
    window_features,
)


def _frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for unit, length in ((1, 7), (2, 1), (3, 12)):
        parts.append(
            pd.DataFrame(
                {
                    "unit": unit,
                    "cycle": np.arange(length) * 2.0,
                    "a": 1000.0 + rng.normal(0, 1, length) + np.arange(length) * 0.3,
                    "b": rng.normal(0, 1, length),
                }
            )
        )
    # Shuffled on purpose: features must follow the caller's rows.
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed)


def _naive(frame: pd.DataFrame, column: str, window: int) -> pd.DataFrame:
    rows = []
    for _, part in frame.sort_values(["unit", "cycle"]).groupby("unit"):
        values = part[column].to_numpy()
        for i, index in enumerate(part.index):
            w = values[max(0, i - window + 1) : i + 1]
            slope = np.polyfit(np.arange(len(w)), w, 1)[0] if len(w) > 1 else 0.0
            rows.append((index, w.mean(), w.std(), w.min(), w.max(), slope))
    out = pd.DataFrame(rows, columns=["index", "mean", "std", "min", "max", "slope"])
    return out.set_index("index").loc[frame.index]


@pytest.mark.parametrize("window", [1, 3, 5, 20])
def test_window_features_match_a_naive_computation(window: int) -> None:
    frame = _frame()
    features = window_features(
        frame, group="unit", order="cycle", columns=["a", "b"], windows=[window]
    )
    assert features.index.equals(frame.index)
    for column in ("a", "b"):
        expected = _naive(frame, column, window)
        np.testing.assert_allclose(features[f"{column}__last"], frame[column])
        for stat in ("mean", "std", "min", "max", "slope"):
            np.testing.assert_allclose(
                features[f"{column}__{stat}{window}"], expected[stat], atol=1e-6, err_msg=stat
            )


def test_group_helpers() -> None:
    groups = np.array(["x", "x", "y", "z", "z", "z"], dtype=object)
    np.testing.assert_array_equal(group_starts(groups), [0, 0, 2, 3, 3, 3])
    np.testing.assert_array_equal(last_row_positions(groups), [1, 2, 5])


def test_bad_window_and_stat_are_input_errors() -> None:
    starts = np.zeros(3, dtype=np.int64)
    with pytest.raises(InputError, match="window"):
        rolling_window_stats(np.ones(3), starts, 0, ["mean"])
    with pytest.raises(InputError, match="unknown window statistic"):
        rolling_window_stats(np.ones(3), starts, 2, ["median"])
    with pytest.raises(InputError, match="missing"):
        window_features(_frame(), group="unit", order="cycle", columns=["nope"], windows=[2])


def test_spectral_band_energy_finds_a_sine() -> None:
    rate = 100.0
    t = np.arange(200) / rate
    signal = 2.0 * np.sin(2 * np.pi * 10.0 * t) + 0.5
    bands = {"low": (0.0, 5.0), "ten": (5.0, 15.0), "high": (15.0, 50.0)}
    energy = spectral_features(np.vstack([signal, signal * 0.5]), rate, bands)
    assert energy["ten"][0] == pytest.approx(2.0**2 / 2, rel=1e-6)
    assert energy["ten"][1] == pytest.approx(0.5**2 * 2.0, rel=1e-6)
    assert energy["low"][0] < 1e-12 and energy["high"][0] < 1e-12
    with pytest.raises(InputError):
        spectral_features(signal, 0.0, bands)
    with pytest.raises(InputError):
        spectral_features(signal, rate, {"bad": (5.0, 1.0)})
