"""Properties that must hold for any data, checked with hypothesis."""

from __future__ import annotations

import numpy as np
import pandas as pd
from dq_frames import frame, signals
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopfloor.data_quality import repair, run_checks, spike, stuck

SIGNALS = signals(lower=np.nan, upper=np.nan)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(50, 3000),
    level=st.floats(-1e4, 1e4),
    scale=st.floats(1e-3, 1e3),
    wave=st.floats(0.0, 10.0),
)
def test_clean_noisy_series_has_no_spike_and_no_flat_line(
    seed: int, size: int, level: float, scale: float, wave: float
) -> None:
    rng = np.random.default_rng(seed)
    slow = wave * scale * np.sin(np.arange(size) / 200.0)
    values = level + slow + scale * rng.standard_normal(size)
    data = frame(values)
    assert spike(data, SIGNALS) == []
    assert stuck(data, SIGNALS) == []


@st.composite
def faulty_frames(draw: st.DrawFn) -> pd.DataFrame:
    size = draw(st.integers(20, 400))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = 40.0 + rng.standard_normal(size)
    values[rng.random(size) < draw(st.floats(0.0, 0.3))] = np.nan
    values[rng.random(size) < 0.05] = -999.0
    data = frame(values)
    keep = rng.random(size) > draw(st.floats(0.0, 0.3))
    extra = data.sample(n=min(10, size), random_state=1)
    return pd.concat([data[keep], extra], ignore_index=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(faulty_frames())
def test_repair_never_modifies_its_input_and_never_adds_duplicates(data: pd.DataFrame) -> None:
    table = signals()
    before = data.copy()
    result = repair(data, run_checks(data, table), table)
    pd.testing.assert_frame_equal(data, before)
    assert not result.frame.duplicated(["asset", "signal", "ts"]).any()
    assert (result.frame["quality"].isin([0, 1, 2])).all()
