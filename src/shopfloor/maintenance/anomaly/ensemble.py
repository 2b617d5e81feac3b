"""Mean of several detectors' normalised scores, calibrated again as one detector.

Detectors fail differently: the per-signal :class:`RobustBaseline` misses a fault that
keeps every signal inside its own normal range but breaks their relations, while
:class:`MsetDetector` (relations) can overreact where normal operation wanders outside
the training states.  Averaging their scores, each divided by the median of its own
out-of-fold scores on normal data so that neither dominates by scale, keeps what both
agree on.  The average is then calibrated on those same held-out normal scores.

The ensemble smooths the signals once with its own ``window`` (the members' ``window``
and calibration settings are not used) and gives every member the same context
columns.  The explanation (expected values, deviations in sigmas) is the first
member's: with the default members, the robust per-signal normal an operator can read.
"""

from __future__ import annotations

import numpy as np

from shopfloor.errors import ModelError
from shopfloor.maintenance.anomaly._base import AnomalyDetector, Evaluation
from shopfloor.maintenance.results import FloatArray


class EnsembleDetector(AnomalyDetector):
    """Average of members' scores, each in units of its median score on normal data."""

    def __init__(
        self,
        *,
        members: tuple[AnomalyDetector, ...] | None = None,
        window: int = 1,
        false_alarm_rate: float = 0.01,
        margin: float = 1.0,
        calibration_folds: int = 5,
    ) -> None:
        self.members = members
        self.window = window
        self.false_alarm_rate = false_alarm_rate
        self.margin = margin
        self.calibration_folds = calibration_folds

    def _blueprints(self) -> tuple[AnomalyDetector, ...]:
        if self.members is None:
            from shopfloor.maintenance.anomaly.mset import MsetDetector
            from shopfloor.maintenance.anomaly.robust import RobustBaseline

            return (RobustBaseline(), MsetDetector())
        if not self.members:
            raise ModelError("EnsembleDetector needs at least one member")
        return tuple(self.members)

    def _context_columns(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for member in self._blueprints():
            seen.update(dict.fromkeys(member._context_columns()))
        return tuple(seen)

    def _min_rows(self) -> int:
        return max(member._min_rows() for member in self._blueprints())

    def _fit_model(self, Z: FloatArray, C: FloatArray | None) -> None:
        fitted: list[AnomalyDetector] = []
        scales: list[float] = []
        held_out: list[FloatArray] = []
        for blueprint in self._blueprints():
            member = blueprint.clone()
            # Members calibrate out of fold with the ensemble's folds, whatever theirs.
            member.calibration_folds = int(self.calibration_folds)
            member._fit_model(Z, C)
            normal = member._calibration_scores(Z, C)
            finite = normal[np.isfinite(normal)]
            scale = float(np.median(finite)) if finite.size else 1.0
            scale = scale if scale > 0 else 1.0
            fitted.append(member)
            scales.append(scale)
            held_out.append(normal / scale)
        self.members_ = tuple(fitted)
        self.scales_ = np.asarray(scales, dtype=np.float64)
        self._held_out = np.mean(np.vstack(held_out), axis=0)

    def _calibration_scores(self, Z: FloatArray, C: FloatArray | None) -> FloatArray:
        # The members' scores were already out of fold: their mean is too.
        return np.asarray(self._held_out, dtype=np.float64)

    def _evaluate(self, Z: FloatArray, C: FloatArray | None) -> Evaluation:
        results = [member._evaluate(Z, C) for member in self.members_]
        normalised = np.vstack([r[0] / s for r, s in zip(results, self.scales_, strict=True)])
        score = np.mean(normalised, axis=0)
        _, expected, deviation = results[0]
        return np.asarray(score, dtype=np.float64), expected, deviation
