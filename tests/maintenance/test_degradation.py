"""RUL from the health-score trend, and the maintenance decision built on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError, NotFittedError
from shopfloor.maintenance.decisions import recommend_maintenance
from shopfloor.maintenance.degradation import DegradationRul
from shopfloor.maintenance.results import RulPrediction


def _lives(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Exponentially growing scores that end in a failure at a score near 20."""
    rng = np.random.default_rng(seed)
    frames, targets = [], []
    for unit in range(n):
        life = int(rng.uniform(80, 200))
        t = np.arange(life, dtype=float)
        rate = np.log(20.0 / 0.2) / life * rng.uniform(0.9, 1.1)
        score = 0.2 * np.exp(rate * t) * np.exp(0.1 * rng.standard_normal(life))
        frames.append(pd.DataFrame({"unit": f"u{unit}", "time": t, "score": score}))
        targets.append(life - t)
    return pd.concat(frames, ignore_index=True), np.concatenate(targets)


def test_rul_tracks_the_truth_and_intervals_cover() -> None:
    train, rul = _lives(30, seed=0)
    model = DegradationRul(window=12, horizon=400.0).fit(train, rul)
    assert 10 < model.failure_level_ < 40
    test, truth = _lives(40, seed=1)
    # Cut every test life at a random point: predict at its last row.
    rng = np.random.default_rng(2)
    cut = []
    for _, rows in test.groupby("unit", sort=False):
        cut.append(rows.iloc[: int(len(rows) * rng.uniform(0.5, 0.95))])
    cut_frame = pd.concat(cut)
    prediction = model.predict(cut_frame)
    last = cut_frame.groupby("unit", sort=False).tail(1)
    actual = truth[last.index.to_numpy()]
    order = pd.Index(last["unit"]).get_indexer(prediction.unit)
    actual = actual[order]
    inside = (prediction.lower <= actual) & (actual <= prediction.upper)
    assert inside.mean() >= 0.75
    assert np.median(np.abs(prediction.rul - actual)) < 25


def test_rul_errors_and_contract() -> None:
    frame, rul = _lives(3, seed=3)
    with pytest.raises(NotFittedError):
        DegradationRul().predict(frame)
    with pytest.raises(InputError, match="ended in a failure"):
        DegradationRul().fit(frame, np.full(len(frame), np.nan))
    with pytest.raises(InputError, match="lacks column"):
        DegradationRul(score="health").fit(frame, rul)


def test_recommendation_balances_failure_and_planned_cost() -> None:
    now = pd.Timestamp("2026-01-01", tz="UTC")
    prediction = RulPrediction(
        unit=np.array(["A", "B"], dtype=object),
        rul=np.array([100.0, 20.0]),
        lower=np.array([50.0, 5.0]),
        upper=np.array([200.0, 60.0]),
        level=0.9,
    )
    cheap = recommend_maintenance(
        prediction, now, lead_time_hours=24, cost_failure=10000, cost_planned=500
    )
    dear = recommend_maintenance(
        prediction, now, lead_time_hours=24, cost_failure=10000, cost_planned=5000
    )
    assert [r.asset for r in cheap] == ["B", "A"]  # most urgent first
    b_cheap, b_dear = cheap[0], dear[0]
    # Cheap planned work: accept less risk, so maintain earlier.
    assert b_cheap.latest_safe < b_dear.latest_safe
    assert b_cheap.urgent  # order-by (latest safe - 24 h) is already past
    assert now < cheap[1].latest_safe < now + pd.Timedelta(hours=100)
    assert 0 < b_cheap.failure_risk_7d <= 1 and b_cheap.failure_risk_7d > cheap[1].failure_risk_7d
    order = b_cheap.work_order("vibration rising")
    assert order["kind"] == "preventive" and "vibration rising" in str(order["detail"])
    with pytest.raises(InputError, match="never worth"):
        recommend_maintenance(
            prediction, now, lead_time_hours=0, cost_failure=100, cost_planned=100
        )
