"""AI4I 2020 machine-failure benchmark (see the dataset README under shared/datasets/ai4i2020).

Protocol: stratified 5-fold cross validation on ``Machine failure`` (shuffled, seeded);
out-of-fold probabilities of the five folds are pooled for ROC-AUC and PR-AUC; F1 uses,
for each row, the decision threshold its fold's model chose on inner folds of its own
training data (never on the evaluated fold).  ``UDI`` and ``Product ID`` are dropped,
and the failure-mode flags (TWF, HDF, PWF, OSF, RNF) are training targets only, never
inputs.  The baseline, in the same run and folds, is LightGBM with its default
hyperparameters on the raw columns, trained on ``Machine failure`` alone, with the same
threshold protocol, so that the difference measures the features and modes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError

FAILURE = "Machine failure"
MODES: tuple[str, ...] = ("TWF", "HDF", "PWF", "OSF", "RNF")
TYPE = "Type"
NUMERIC: tuple[str, ...] = (
    "Air temperature [K]",
    "Process temperature [K]",
    "Rotational speed [rpm]",
    "Torque [Nm]",
    "Tool wear [min]",
)
FILE_NAME = "ai4i2020.csv"
FOLDS = 5

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Scores:
    """Figures of one model's pooled out-of-fold predictions of ``Machine failure``."""

    f1: float
    roc_auc: float
    pr_auc: float
    precision: float
    recall: float

    def as_dict(self) -> dict[str, float]:
        return {
            "f1": self.f1,
            "roc_auc": self.roc_auc,
            "pr_auc": self.pr_auc,
            "precision": self.precision,
            "recall": self.recall,
        }


@dataclass(frozen=True)
class ModeScores:
    """Ranking quality of one failure mode's out-of-fold probabilities."""

    positives: int
    roc_auc: float
    pr_auc: float


@dataclass(frozen=True)
class Ai4iReport:
    model: Scores
    baseline: Scores
    modes: dict[str, ModeScores] = field(default_factory=dict)
    thresholds: tuple[float, ...] = ()  # one per outer fold, chosen on its inner folds
    n_rows: int = 0
    n_failures: int = 0
    fit_seconds: float = 0.0  # our model, all outer folds (inner folds included)
    baseline_fit_seconds: float = 0.0
    seed: int = 0

    @property
    def f1(self) -> float:
        return self.model.f1

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.model.as_dict(),
            "baseline": self.baseline.as_dict(),
            "modes": {
                name: {"positives": m.positives, "roc_auc": m.roc_auc, "pr_auc": m.pr_auc}
                for name, m in self.modes.items()
            },
            "thresholds": list(self.thresholds),
            "n_rows": self.n_rows,
            "n_failures": self.n_failures,
            "folds": FOLDS,
            "fit_seconds": self.fit_seconds,
            "baseline_fit_seconds": self.baseline_fit_seconds,
            "seed": self.seed,
        }


def load_ai4i(data: Path) -> pd.DataFrame:
    """The AI4I CSV (or ``data/ai4i2020.csv`` for a directory), checked column by column."""
    path = Path(data)
    if path.is_dir() and (path / FILE_NAME).is_file():
        path = path / FILE_NAME
    source = str(path)
    if not path.is_file():
        raise InputError("no such file (expected the AI4I 2020 CSV)", source=source)
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV file ({exc})", source=source) from exc
    for column in (TYPE, *NUMERIC, FAILURE, *MODES):
        if column not in frame.columns:
            raise InputError("required column is missing", source=source, field=column)
    if len(frame) == 0:
        raise InputError("the file has no data rows", source=source)

    def first_bad(mask: pd.Series) -> int:
        # 1-based data row, as a person counts rows below the header
        return int(np.flatnonzero(mask.to_numpy())[0]) + 1

    out = pd.DataFrame(index=frame.index)
    types = frame[TYPE].astype("string").str.strip()
    if types.isna().any() or (types == "").any():
        raise InputError(
            "missing product type",
            source=source,
            field=TYPE,
            row=first_bad(types.isna() | (types == "")),
        )
    out[TYPE] = types.astype(str)
    for column in NUMERIC:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.astype(np.float64))
        if bad.any():
            raise InputError(
                f"not a number: {frame[column].iloc[first_bad(bad) - 1]!r}",
                source=source,
                field=column,
                row=first_bad(bad),
            )
        out[column] = values.astype(np.float64)
    for column in (FAILURE, *MODES):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = ~values.isin([0, 1])
        if bad.any():
            raise InputError(
                f"expected 0 or 1, got {frame[column].iloc[first_bad(bad) - 1]!r}",
                source=source,
                field=column,
                row=first_bad(bad),
            )
        out[column] = values.astype(np.int64)
    failures = int(out[FAILURE].sum())
    if min(failures, len(out) - failures) < 2 * FOLDS:
        raise InputError(
            f"too few failures ({failures}) or non-failures for {FOLDS}-fold cross validation",
            source=source,
            field=FAILURE,
        )
    return out


def _scores(y: FloatArray, p: FloatArray, called: npt.NDArray[np.bool_]) -> Scores:
    from sklearn.metrics import (
        average_precision_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    return Scores(
        f1=float(f1_score(y, called, zero_division=0)),
        roc_auc=float(roc_auc_score(y, p)),
        pr_auc=float(average_precision_score(y, p)),
        precision=float(precision_score(y, called, zero_division=0)),
        recall=float(recall_score(y, called, zero_division=0)),
    )


def run_ai4i(
    data: Path,
    *,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    model_params: Mapping[str, Any] | None = None,
) -> Ai4iReport:
    """Run the AI4I 2020 protocol on the CSV at ``data``; see the module docstring.

    ``model_params`` override the failure-mode model's hyperparameters (smaller models
    in tests, experiments); the reported figures use the defaults.
    """
    from sklearn.model_selection import StratifiedKFold

    from shopfloor.maintenance.failure_modes import FailureModeClassifier

    say = progress or (lambda _message: None)
    say("reading the AI4I 2020 CSV")
    frame = load_ai4i(data)
    X = frame[[TYPE, *NUMERIC]]
    y = frame[FAILURE].to_numpy(dtype=np.float64)
    targets = frame[[*MODES, FAILURE]]

    n = len(frame)
    p_model = np.zeros(n)
    called_model = np.zeros(n, dtype=np.bool_)
    p_modes = np.zeros((n, len(MODES)))
    p_base = np.zeros(n)
    called_base = np.zeros(n, dtype=np.bool_)
    thresholds: list[float] = []
    fit_seconds = base_seconds = 0.0

    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for k, (train, test) in enumerate(folds.split(X, y), start=1):
        say(f"fold {k}/{FOLDS}: failure-mode model")
        started = time.perf_counter()
        model = FailureModeClassifier(
            **{"failure_column": FAILURE, "seed": seed + k, **(model_params or {})}
        )
        model.fit(X.iloc[train], targets.iloc[train])
        fit_seconds += time.perf_counter() - started
        risk = model.predict_proba(X.iloc[test])
        p_model[test] = risk.probability
        called_model[test] = risk.predicted
        p_modes[test] = risk.modes[list(MODES)].to_numpy()
        thresholds.append(risk.threshold)

        say(f"fold {k}/{FOLDS}: baseline LightGBM")
        started = time.perf_counter()
        # LightGBM's defaults on the raw columns, overall flag only: no modes, no features
        baseline = FailureModeClassifier(
            failure_column=FAILURE,
            engineer_features=False,
            n_estimators=100,
            learning_rate=0.1,
            num_leaves=31,
            min_child_samples=20,
            max_bin=255,
            seed=seed + k,
        )
        baseline.fit(X.iloc[train], targets.iloc[train][[FAILURE]])
        base_seconds += time.perf_counter() - started
        base_risk = baseline.predict_proba(X.iloc[test])
        p_base[test] = base_risk.probability
        called_base[test] = base_risk.predicted

    say("scoring")
    from sklearn.metrics import average_precision_score, roc_auc_score

    modes = {}
    for j, name in enumerate(MODES):
        truth = frame[name].to_numpy()
        positives = int(truth.sum())
        both = 0 < positives < n
        modes[name] = ModeScores(
            positives=positives,
            roc_auc=float(roc_auc_score(truth, p_modes[:, j])) if both else float("nan"),
            pr_auc=float(average_precision_score(truth, p_modes[:, j])) if both else float("nan"),
        )
    return Ai4iReport(
        model=_scores(y, p_model, called_model),
        baseline=_scores(y, p_base, called_base),
        modes=modes,
        thresholds=tuple(thresholds),
        n_rows=n,
        n_failures=int(y.sum()),
        fit_seconds=fit_seconds,
        baseline_fit_seconds=base_seconds,
        seed=seed,
    )
