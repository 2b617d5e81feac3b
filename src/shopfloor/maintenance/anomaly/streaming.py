"""Streaming scoring with carried state, and alert hysteresis into episodes.

:class:`StreamingScorer` wraps one fitted detector of one asset.  ``update(batch)``
scores the new rows and returns them with the alarm state and the alert episodes that
closed.  Between batches it keeps the last ``detector.memory_rows`` raw rows (the
detector's rolling windows) and the hysteresis state, so scoring a series in batches
gives the same scores, alarms and episodes as scoring it at once.

Hysteresis (why: one noisy row must not page anyone, and an alarm must not flap): the
alarm goes on after ``on_after`` consecutive rows above the threshold, or at once on a
row above ``upper_factor × threshold``; it goes off after ``off_after`` consecutive rows
at or below ``lower_factor × threshold``.  An episode runs from the first row of the run
that switched it on to the last row above the lower threshold; its explanation is the
top contributing signals (:class:`SignalDeviation`) at its peak score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shopfloor.maintenance.anomaly._base import AnomalyDetector
from shopfloor.maintenance.live import AlarmRules
from shopfloor.maintenance.results import AnomalyScores, BoolArray, SignalDeviation

# One definition of the rules for batch episodes, live alarms and the edge runner: the
# dataclass lives in the light live module (numpy only) that the edge runner imports.
Hysteresis = AlarmRules


@dataclass(frozen=True)
class AlertEpisode:
    """One alarm from switch-on to switch-off (``open`` while it is still on)."""

    start: Any  # index label (timestamp) of the first row of the episode
    end: Any  # last row above the lower threshold (so far, when open)
    peak_time: Any
    peak_score: float
    contributors: tuple[SignalDeviation, ...]
    open: bool = False

    def describe(self) -> str:
        signals = "; ".join(c.describe() for c in self.contributors)
        return f"alert {self.start} .. {self.end}, peak {self.peak_score:.3g}: {signals}"


@dataclass(frozen=True)
class StreamUpdate:
    """What one batch produced."""

    scores: AnomalyScores
    alarm: BoolArray  # hysteresis state after each row
    closed: tuple[AlertEpisode, ...]  # episodes that ended in this batch
    open_episode: AlertEpisode | None  # the episode still running after the batch


@dataclass
class _State:
    on: bool = False
    run: int = 0  # consecutive exceedances while off
    quiet: int = 0  # consecutive rows at or below the lower threshold while on
    start: Any = None
    end: Any = None
    peak_time: Any = None
    peak_score: float = -np.inf
    contributors: tuple[SignalDeviation, ...] = field(default_factory=tuple)


def _tail(scores: AnomalyScores, skip: int) -> AnomalyScores:
    if skip == 0:
        return scores
    return AnomalyScores(
        index=scores.index[skip:],
        score=scores.score[skip:],
        threshold=scores.threshold,
        is_anomaly=scores.is_anomaly[skip:],
        deviation_sigma=scores.deviation_sigma.iloc[skip:],
        expected=scores.expected.iloc[skip:],
    )


class StreamingScorer:
    """Scores batches of one asset's signals with a fitted detector, keeping state."""

    def __init__(
        self,
        detector: AnomalyDetector,
        hysteresis: Hysteresis | None = None,
        *,
        top: int = 3,
        units: dict[str, str] | None = None,
    ) -> None:
        detector._check_fitted()
        self.detector = detector
        self.hysteresis = hysteresis or Hysteresis()
        self.top = top
        self.units = dict(units or {})
        self._history: pd.DataFrame | None = None
        self._state = _State()

    def prime(self, past: pd.DataFrame) -> None:
        """Remember the tail of rows already seen (e.g. the training data) without scoring
        them, so the first streamed rows get full rolling windows instead of short ones.
        """
        keep = self.detector.memory_rows
        self._history = past.iloc[max(len(past) - keep, 0) :] if keep > 0 else past.iloc[:0]

    def update(self, batch: pd.DataFrame) -> StreamUpdate:
        """Score ``batch`` (rows after every row seen so far) and advance the alarms."""
        keep = self.detector.memory_rows
        history = self._history
        frame = batch if history is None or history.empty else pd.concat([history, batch])
        scores = _tail(self.detector.score(frame), len(frame) - len(batch))
        self._history = frame.iloc[max(len(frame) - keep, 0) :] if keep > 0 else frame.iloc[:0]
        alarm, closed = self._advance(scores, batch)
        return StreamUpdate(scores, alarm, tuple(closed), self._open_episode())

    def _open_episode(self) -> AlertEpisode | None:
        s = self._state
        if not s.on:
            return None
        return AlertEpisode(s.start, s.end, s.peak_time, s.peak_score, s.contributors, True)

    def _track_peak(self, scores: AnomalyScores, batch: pd.DataFrame, row: int) -> None:
        s = self._state
        value = float(scores.score[row])
        if value > s.peak_score:
            s.peak_score = value
            s.peak_time = scores.index[row]
            s.contributors = scores.explain(row, batch, top=self.top, units=self.units)

    def _advance(
        self, scores: AnomalyScores, batch: pd.DataFrame
    ) -> tuple[BoolArray, list[AlertEpisode]]:
        h = self.hysteresis
        threshold = scores.threshold
        upper = h.upper_factor * threshold
        lower = h.lower_factor * threshold
        values = np.nan_to_num(scores.score, nan=-np.inf)
        alarm = np.zeros(values.size, dtype=np.bool_)
        closed: list[AlertEpisode] = []
        s = self._state
        for row, value in enumerate(values):
            label = scores.index[row]
            if not s.on:
                if value > threshold:
                    if s.run == 0:
                        # A new candidate episode: forget the last one's peak.
                        s.start, s.peak_score, s.contributors = label, -np.inf, ()
                    s.run += 1
                    s.end = label
                    self._track_peak(scores, batch, row)
                    if s.run >= h.on_after or value > upper:
                        s.on, s.quiet = True, 0
                else:
                    s.run = 0
            elif value > lower:
                s.quiet = 0
                s.end = label
                self._track_peak(scores, batch, row)
            else:
                s.quiet += 1
                if s.quiet >= h.off_after:
                    closed.append(
                        AlertEpisode(s.start, s.end, s.peak_time, s.peak_score, s.contributors)
                    )
                    self._state = s = _State()
            alarm[row] = s.on
        return alarm, closed


def episodes(
    detector: AnomalyDetector,
    X: pd.DataFrame,
    hysteresis: Hysteresis | None = None,
    *,
    top: int = 3,
    units: dict[str, str] | None = None,
) -> tuple[AlertEpisode, ...]:
    """Every alert episode of a whole series (an open one at the end included)."""
    update = StreamingScorer(detector, hysteresis, top=top, units=units).update(X)
    tail = (update.open_episode,) if update.open_episode is not None else ()
    return update.closed + tail
