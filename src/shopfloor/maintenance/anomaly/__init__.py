"""Anomaly detection per asset: learn normal behaviour, score new rows, explain alerts.

Detectors (each an :class:`~shopfloor.estimators.Estimator`; ``fit(X) -> self``,
``score(X) -> AnomalyScores``, ``X`` a frame of numeric signals indexed by time):

- :class:`RobustBaseline`: per-signal median / MAD, optionally per operating context;
- :class:`PcaT2Q`: PCA Hotelling T² + Q, the classical multivariate monitor;
- :class:`IsolationForestDetector`: scikit-learn's isolation forest;
- :class:`MsetDetector`: MSET-style nearest-normal-state estimation;
- :class:`EnsembleDetector`: mean of members' normalised scores (robust + MSET).

:mod:`~shopfloor.maintenance.anomaly.streaming` scores batches with carried state and
turns scores into alert episodes; :mod:`~shopfloor.maintenance.anomaly.changepoint`
finds change points.  No module here imports torch.
"""

from __future__ import annotations

from shopfloor.maintenance.anomaly._base import AnomalyDetector, robust_scale, trailing_mean
from shopfloor.maintenance.anomaly.changepoint import cusum, pelt
from shopfloor.maintenance.anomaly.ensemble import EnsembleDetector
from shopfloor.maintenance.anomaly.forest import IsolationForestDetector
from shopfloor.maintenance.anomaly.mset import MsetDetector
from shopfloor.maintenance.anomaly.pca import PcaT2Q
from shopfloor.maintenance.anomaly.robust import RobustBaseline
from shopfloor.maintenance.anomaly.streaming import (
    AlertEpisode,
    Hysteresis,
    StreamingScorer,
    StreamUpdate,
    episodes,
)

__all__ = [
    "AlertEpisode",
    "AnomalyDetector",
    "EnsembleDetector",
    "Hysteresis",
    "IsolationForestDetector",
    "MsetDetector",
    "PcaT2Q",
    "RobustBaseline",
    "StreamUpdate",
    "StreamingScorer",
    "cusum",
    "episodes",
    "pelt",
    "robust_scale",
    "trailing_mean",
]
