"""Typed results of the maintenance models (DESIGN section 6: never string-keyed dicts)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SignalDeviation:
    """One signal's part in an alert, in its own units and in sigmas of its normal."""

    signal: str
    value: float  # observed, in the signal's unit
    expected: float  # normal value for the operating regime, same unit
    sigma: float  # signed (value - expected) / normal spread
    unit: str = ""

    def describe(self) -> str:
        """ "vibration_rms 3.1 σ above its normal (4.20 mm/s vs 1.35 mm/s)"."""
        side = "above" if self.sigma >= 0 else "below"
        unit = f" {self.unit}" if self.unit else ""
        return (
            f"{self.signal} {abs(self.sigma):.1f} σ {side} its normal "
            f"({self.value:.3g}{unit} vs {self.expected:.3g}{unit})"
        )


@dataclass(frozen=True)
class AnomalyScores:
    """Scores of one batch of rows (timestamps in ``index``), higher = more anomalous.

    ``threshold`` was calibrated on normal data to the detector's target false-alarm
    rate; ``is_anomaly`` is ``score > threshold`` row by row (no hysteresis: that is the
    alerting layer's job).  ``deviation_sigma`` / ``expected`` hold, per row and signal,
    the signed deviation from normal in sigmas and the normal value in units: the
    explanation an operator reads.
    """

    index: pd.Index
    score: FloatArray
    threshold: float
    is_anomaly: BoolArray
    deviation_sigma: pd.DataFrame
    expected: pd.DataFrame

    def explain(
        self, row: int, observed: pd.DataFrame, top: int = 3, units: dict[str, str] | None = None
    ) -> tuple[SignalDeviation, ...]:
        """The ``top`` signals that deviate most at ``row`` (position), largest first."""
        sig = self.deviation_sigma.iloc[row]
        order = sig.abs().sort_values(ascending=False).index[:top]
        units = units or {}
        return tuple(
            SignalDeviation(
                signal=str(name),
                value=float(observed.iloc[row][name]),
                expected=float(self.expected.iloc[row][name]),
                sigma=float(sig[name]),
                unit=units.get(str(name), ""),
            )
            for name in order
        )


@dataclass(frozen=True)
class RulPrediction:
    """Remaining useful life per unit at its last observation, with an interval."""

    unit: npt.NDArray[np.object_]
    rul: FloatArray  # point prediction (cycles or hours, the training target's unit)
    lower: FloatArray
    upper: FloatArray
    level: float  # nominal coverage of [lower, upper], e.g. 0.9

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"unit": self.unit, "rul": self.rul, "lower": self.lower, "upper": self.upper}
        )


@dataclass(frozen=True)
class FailureRisk:
    """Probability of a machine failure and of each failure mode, row by row."""

    probability: FloatArray  # P(any failure)
    modes: pd.DataFrame  # one column per failure mode, probabilities
    threshold: float  # decision threshold on ``probability``

    @property
    def predicted(self) -> BoolArray:
        return np.asarray(self.probability >= self.threshold, dtype=np.bool_)
