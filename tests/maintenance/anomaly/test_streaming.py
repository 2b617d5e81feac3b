"""Streaming scorer: batches == whole series, hysteresis, alert episodes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import ModelError, NotFittedError
from shopfloor.maintenance.anomaly import (
    AnomalyDetector,
    EnsembleDetector,
    Hysteresis,
    MsetDetector,
    PcaT2Q,
    RobustBaseline,
    StreamingScorer,
    episodes,
)
from shopfloor.maintenance.anomaly._base import Evaluation
from shopfloor.maintenance.results import FloatArray
from tests.maintenance.anomaly.anomaly_data import normal_frame, with_fault


def _in_batches(scorer: StreamingScorer, frame: pd.DataFrame, sizes: list[int]) -> tuple:
    scores, alarms, closed = [], [], []
    start = 0
    for size in sizes:
        update = scorer.update(frame.iloc[start : start + size])
        scores.append(update.scores.score)
        alarms.append(update.alarm)
        closed.extend(update.closed)
        start += size
    assert start == len(frame)
    return np.concatenate(scores), np.concatenate(alarms), closed


@pytest.mark.parametrize(
    "detector",
    [
        RobustBaseline(window=10),
        MsetDetector(window=7),
        PcaT2Q(window=5),
        EnsembleDetector(window=12),
    ],
    ids=lambda d: type(d).__name__,
)
def test_scoring_in_batches_equals_scoring_at_once(detector: AnomalyDetector) -> None:
    detector.fit(normal_frame(500, seed=1))
    series = with_fault(normal_frame(300, seed=2), "vibration", 1.0, 120, 200)
    hysteresis = Hysteresis(on_after=3, off_after=5)
    whole = StreamingScorer(detector, hysteresis).update(series)
    batch = detector.score(series)
    np.testing.assert_array_equal(whole.scores.score, batch.score)
    sizes = [1, 1, 5, 30, 2, 61, 1, 99, 100]
    scores, alarms, closed = _in_batches(StreamingScorer(detector, hysteresis), series, sizes)
    np.testing.assert_array_equal(scores, batch.score)
    np.testing.assert_array_equal(alarms, whole.alarm)
    assert closed == list(whole.closed)
    fault = [e for e in closed if series.index[120] <= e.end and e.start <= series.index[200]]
    assert len(fault) == 1 and fault[0].contributors[0].signal == "vibration"


class _Echo(AnomalyDetector):
    """Score = the first signal itself (to drive the hysteresis by hand)."""

    def __init__(self, *, window: int = 1, false_alarm_rate: float = 0.0) -> None:
        self.window = window
        self.false_alarm_rate = false_alarm_rate
        self.margin = 1.0
        self.calibration_folds = 0

    def _fit_model(self, Z: FloatArray, C: FloatArray | None) -> None:
        self.level_ = 0.0

    def _evaluate(self, Z: FloatArray, C: FloatArray | None) -> Evaluation:
        return Z[:, 0].copy(), np.zeros_like(Z), Z.copy()


def _echo(values: list[float]) -> pd.DataFrame:
    index = pd.date_range("2026-03-01", periods=len(values), freq="1s")
    return pd.DataFrame({"s": values, "t": np.zeros(len(values))}, index=index)


def test_hysteresis_needs_consecutive_exceedances_and_quiet_rows() -> None:
    detector = _Echo().fit(_echo([0.0, 0.5, 1.0]))  # threshold = max = 1.0
    assert detector.threshold_ == 1.0
    values = [0.0] * 3 + [1.5] * 2 + [0.0] * 3  # 2 rows above: not enough
    values += [1.5, 1.8, 1.6, 0.5, 1.2] + [0.0] * 4 + [1.1] + [0.0] * 6  # on, short dips
    frame = _echo(values)
    update = StreamingScorer(detector, Hysteresis(on_after=3, off_after=5)).update(frame)
    assert not update.alarm[:8].any()
    assert update.alarm[10] and not update.alarm[9]
    assert len(update.closed) == 1
    episode = update.closed[0]
    assert episode.start == frame.index[8]
    assert episode.end == frame.index[17]
    assert episode.peak_time == frame.index[9]
    assert episode.peak_score == pytest.approx(1.8)
    assert episode.contributors[0].signal == "s"
    assert "alert" in episode.describe()
    assert not update.alarm[-1] and update.open_episode is None


def test_upper_threshold_switches_on_at_once_and_open_episode_is_reported() -> None:
    detector = _Echo().fit(_echo([0.0, 1.0]))
    frame = _echo([0.0, 0.0, 2.5, 1.2, 1.1])
    scorer = StreamingScorer(detector, Hysteresis(on_after=5, off_after=3, upper_factor=2.0))
    update = scorer.update(frame)
    assert update.alarm.tolist() == [False, False, True, True, True]
    assert update.closed == ()
    assert update.open_episode is not None and update.open_episode.open
    assert update.open_episode.start == frame.index[2]
    found = episodes(detector, frame, Hysteresis(on_after=5, upper_factor=2.0))
    assert len(found) == 1 and found[0].open


def test_lower_threshold_band_keeps_the_alarm_on() -> None:
    detector = _Echo().fit(_echo([0.0, 1.0]))
    frame = _echo([1.5] * 3 + [0.8] * 10 + [0.2] * 3)
    tight = StreamingScorer(detector, Hysteresis(on_after=3, off_after=3)).update(frame)
    band = StreamingScorer(detector, Hysteresis(on_after=3, off_after=3, lower_factor=0.5)).update(
        frame
    )
    assert tight.closed[0].end == frame.index[2]
    assert band.closed[0].end == frame.index[12]


def test_streaming_errors() -> None:
    with pytest.raises(NotFittedError):
        StreamingScorer(RobustBaseline())
    with pytest.raises(ModelError):
        Hysteresis(on_after=0)
    with pytest.raises(ModelError):
        Hysteresis(lower_factor=1.5)


def test_priming_with_past_rows_gives_full_windows_from_the_first_row() -> None:
    detector = RobustBaseline(window=20).fit(normal_frame(500, seed=1))
    series = normal_frame(700, seed=5)
    past, future = series.iloc[:400], series.iloc[400:]
    scorer = StreamingScorer(detector)
    scorer.prime(past)
    update = scorer.update(future)
    np.testing.assert_array_equal(update.scores.score, detector.score(series).score[400:])
