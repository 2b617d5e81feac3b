"""Hysteresis episodes and the evaluation of alerts against known failures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.maintenance.alerting import alert_episodes, evaluate_alerts

HOURS = pd.date_range("2026-01-01", periods=48, freq="1h", tz="UTC")


def _score(pattern: dict[tuple[int, int], float]) -> np.ndarray:
    score = np.zeros(len(HOURS))
    for (a, b), value in pattern.items():
        score[a:b] = value
    return score


def test_an_alert_needs_consecutive_exceedances_and_clears_after_a_quiet_spell() -> None:
    score = _score({(5, 7): 9.0, (10, 20): 9.0, (21, 22): 9.0})  # 2 h blip, then 10 h
    found = alert_episodes(HOURS, score, 4.0, on=3, off=6)
    assert len(found) == 1
    row = found.iloc[0]
    assert row["start"] == HOURS[12]  # raised at the third hour above
    assert row["end"] == HOURS[27]  # cleared after 6 quiet hours following hour 21
    assert row["peak"] == 9.0


def test_open_episode_and_hysteresis_band() -> None:
    score = _score({(40, 48): 9.0, (10, 13): 9.0, (13, 30): 3.5})  # 3.5 > 0.7 x 4 keeps it on
    found = alert_episodes(HOURS, score, 4.0, on=3, off=6, release=0.7)
    assert len(found) == 2
    assert found.iloc[0]["end"] == HOURS[35]
    assert pd.isna(found.iloc[1]["end"])


def test_no_alert_and_errors() -> None:
    assert alert_episodes(HOURS, np.zeros(48), 1.0).empty
    assert alert_episodes(HOURS[:0], np.zeros(0), 1.0).empty
    with pytest.raises(InputError):
        alert_episodes(HOURS, np.zeros(3), 1.0)


def test_evaluation_counts_early_alerts_and_false_alarms() -> None:
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    failures = pd.DataFrame(
        {"asset": ["A", "B"], "ts": [t0 + pd.Timedelta(days=10), t0 + pd.Timedelta(days=12)]}
    )
    episodes = pd.DataFrame(
        {
            "asset": ["A", "B", "C", "C"],
            "start": [
                t0 + pd.Timedelta(days=8),  # A: 2 days ahead -> detected
                t0 + pd.Timedelta(days=11, hours=12),  # B: only 12 h ahead -> not detected
                t0 + pd.Timedelta(days=3),  # C never fails: false...
                t0 + pd.Timedelta(days=5),  # ...unless its health was already poor
            ],
        }
    )
    health = pd.DataFrame(
        {"asset": ["C", "C"], "ts": [t0, t0 + pd.Timedelta(days=4)], "health": [0.1, 0.7]}
    )
    result = evaluate_alerts(
        episodes,
        failures,
        observed_from=t0,
        observed_to=t0 + pd.Timedelta(days=20),
        assets=3,
        developing=health,
    )
    assert (result.failures, result.detected) == (2, 1)
    assert result.false_alarms == 1 and result.false_asset_days == 1
    assert result.recall == 0.5
    assert result.false_alarm_rate == pytest.approx(1 / 60)
