"""Every estimator of shopfloor, in one list (DESIGN section 6).

Entries name their class by import path so that reading the catalogue imports no
heavy library.  ``tests/test_catalogue.py`` runs every entry through the estimator
contract with the small ``fast_params`` given here, using the task's calling
convention:

- ``anomaly``: ``fit(X: DataFrame of numeric signals) -> self``;
  ``score(X) -> AnomalyScores``.
- ``rul``: ``fit(frame: DataFrame with unit, time and signal columns, rul: ndarray per row)
  -> self``; ``predict(frame) -> RulPrediction`` (one row per unit, at its last time).
- ``failure_modes``: ``fit(X: DataFrame, y: DataFrame of 0/1 mode columns) -> self``;
  ``predict_proba(X) -> FailureRisk``.
- ``scheduling``: nothing to learn; ``solve(problem: Problem) -> Schedule`` (the last
  one kept in ``schedule_``), deterministic for a given seed with one worker or with
  ``deterministic=True``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from shopfloor.estimators import Estimator


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    target: str  # "package.module:Class"
    task: str
    fast_params: dict[str, Any] = field(default_factory=dict)
    summary: str = ""

    def load(self) -> type[Estimator]:
        module, _, attr = self.target.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        if not (isinstance(cls, type) and issubclass(cls, Estimator)):
            raise TypeError(f"{self.target} is not an Estimator")
        return cls

    def build(self, **overrides: Any) -> Estimator:
        return self.load()(**{**self.fast_params, **overrides})


CATALOGUE: tuple[CatalogueEntry, ...] = (
    # --- anomaly detection (shopfloor.maintenance.anomaly) ---
    CatalogueEntry(
        name="anomaly.robust",
        target="shopfloor.maintenance.anomaly.robust:RobustBaseline",
        task="anomaly",
        fast_params={"window": 5},
        summary="Per-signal median / MAD of normal, optionally per operating-context bin.",
    ),
    CatalogueEntry(
        name="anomaly.pca_t2q",
        target="shopfloor.maintenance.anomaly.pca:PcaT2Q",
        task="anomaly",
        fast_params={},
        summary="PCA Hotelling T² + Q (squared prediction error) of normal operation.",
    ),
    CatalogueEntry(
        name="anomaly.isolation_forest",
        target="shopfloor.maintenance.anomaly.forest:IsolationForestDetector",
        task="anomaly",
        fast_params={"n_estimators": 50},
        summary="scikit-learn isolation forest on robustly standardised signals.",
    ),
    CatalogueEntry(
        name="anomaly.mset",
        target="shopfloor.maintenance.anomaly.mset:MsetDetector",
        task="anomaly",
        fast_params={"window": 5},
        summary="MSET-style similarity: expected values from the nearest normal states.",
    ),
    CatalogueEntry(
        name="anomaly.ensemble",
        target="shopfloor.maintenance.anomaly.ensemble:EnsembleDetector",
        task="anomaly",
        fast_params={"window": 5},
        summary="Mean of robust baseline and MSET normalised scores (the SKAB detector).",
    ),
    # --- condition monitoring of the plant's machines (shopfloor.maintenance) ---
    CatalogueEntry(
        name="condition.monitor",
        target="shopfloor.maintenance.condition:ConditionMonitor",
        task="anomaly",
        fast_params={"context": "speed", "min_rows": 20},
        summary="Per-machine normal per speed band (after repairs); hourly median deviation.",
    ),
    CatalogueEntry(
        name="condition.fleet",
        target="shopfloor.maintenance.condition:FleetConditionMonitor",
        task="anomaly_fleet",
        summary="One condition monitor per asset (what `shopfloor maintenance train` fits).",
    ),
    CatalogueEntry(
        name="rul.degradation",
        target="shopfloor.maintenance.degradation:DegradationRul",
        task="rul",
        fast_params={"time": "cycle", "score": "s1", "window": 10},
        summary="Health-score trend extrapolated to the fleet's failure level; conformal interval.",
    ),
    # --- remaining useful life (shopfloor.maintenance.rul) ---
    CatalogueEntry(
        name="rul_gbm",
        target="shopfloor.maintenance.rul.gbm:RulGbm",
        task="rul",
        fast_params={"n_folds": 2, "n_estimators": 20, "windows": (3, 6)},
        summary="LightGBM on regime-normalised window features, cross-fitted over units",
    ),
    CatalogueEntry(
        name="rul_cnn",
        target="shopfloor.maintenance.rul.sequence:RulSequenceNet",
        task="rul",
        fast_params={"n_folds": 2, "epochs": 2, "samples_per_epoch": 256, "window": 8},
        summary="dilated 1-D CNN over recent cycles of regime-normalised signals",
    ),
    CatalogueEntry(
        name="rul_ensemble",
        target="shopfloor.maintenance.rul.ensemble:RulEnsemble",
        task="rul",
        fast_params={
            "n_folds": 2,
            "epochs": 2,
            "samples_per_epoch": 256,
            "window": 8,
            "n_estimators": 20,
            "gbm_windows": (3, 6),
        },
        summary="CNN + LightGBM blended by out-of-fold RMSE, conformal intervals",
    ),
    # --- failure modes (shopfloor.maintenance.failure_modes) ---
    CatalogueEntry(
        name="failure_modes_lgbm",
        target="shopfloor.maintenance.failure_modes:FailureModeClassifier",
        task="failure_modes",
        fast_params={"n_estimators": 30, "max_bin": 255, "inner_folds": 2},
        summary="LightGBM per failure mode and overall on physical features (power, "
        "temperature difference, strain vs type limit); F1 threshold from inner folds",
    ),
    # --- scheduling (shopfloor.planning) ---
    CatalogueEntry(
        name="scheduling.cpsat",
        target="shopfloor.planning.cpsat:CpSatScheduler",
        task="scheduling",
        fast_params={"time_limit_s": 5.0, "workers": 1},
        summary="CP-SAT flexible job shop: calendars, setups, lags, dispatch warm start, "
        "stronger disjunctive reasoning; makespan, weighted tardiness or a mix",
    ),
    CatalogueEntry(
        name="scheduling.plain_cpsat",
        target="shopfloor.planning.cpsat:PlainCpSatScheduler",
        task="scheduling",
        fast_params={"time_limit_s": 5.0, "workers": 1},
        summary="The textbook interval + no-overlap model, default parameters (the baseline)",
    ),
)


def entry(name: str) -> CatalogueEntry:
    for item in CATALOGUE:
        if item.name == name:
            return item
    raise KeyError(f"no estimator named {name!r}; known: {', '.join(e.name for e in CATALOGUE)}")
