"""NASA C-MAPSS turbofan RUL benchmark, following the dataset README's protocol.

Train on ``train_FD00X.txt`` (target: cycles to the unit's last cycle, capped at
125 for training), predict one RUL per test unit at its last cycle, compare with
``RUL_FD00X.txt``.  ``rmse`` and ``nasa_score`` use the true RUL capped at 125 (the
literature's convention); ``rmse_raw`` the uncapped truth.  The same code, with no
per-subset settings, runs every subset: regimes, channels and intervals are learned.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.maintenance.results import RulPrediction
from shopfloor.maintenance.rul import (
    DEFAULT_RUL_CAP,
    RulEnsemble,
    run_to_failure_rul,
)

FloatArray = npt.NDArray[np.float64]

COLUMNS = (
    "unit",
    "cycle",
    "setting1",
    "setting2",
    "setting3",
    *(f"s{i}" for i in range(1, 22)),
)
SUBSET = re.compile(r"^FD00[1-9]$")


@dataclass(frozen=True)
class CmapssReport:
    subset: str
    rmse: float  # against the true RUL capped at 125
    rmse_raw: float  # against the uncapped true RUL
    nasa_score: float  # PHM08 score against the capped truth
    coverage_90: float  # share of test units whose capped true RUL lies in the 90 % interval
    fit_seconds: float  # training of the main model
    n_units: int
    baseline_rmse: float  # regime-normalised LightGBM on window features, same protocol
    baseline_nasa_score: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "subset": self.subset,
            "rmse": self.rmse,
            "rmse_raw": self.rmse_raw,
            "nasa_score": self.nasa_score,
            "coverage_90": self.coverage_90,
            "fit_seconds": self.fit_seconds,
            "n_units": self.n_units,
            "baseline": {"rmse": self.baseline_rmse, "nasa_score": self.baseline_nasa_score},
        }


def nasa_score(predicted: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """PHM08 scoring function: late predictions (d >= 0) cost more than early ones."""
    d = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    return float(np.sum(np.where(d < 0, np.expm1(-d / 13.0), np.expm1(d / 10.0))))


def rmse(predicted: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    d = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    return float(np.sqrt(np.mean(d * d)))


def read_trajectories(path: Path) -> pd.DataFrame:
    """One C-MAPSS train/test file: 26 space-separated numeric columns per line."""
    if not path.is_file():
        raise InputError("file not found", source=str(path))
    try:
        frame = pd.read_csv(path, sep=r"\s+", header=None, dtype=np.float64)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"not a C-MAPSS file ({first_line})", source=str(path)) from exc
    if frame.shape[1] != len(COLUMNS):
        raise InputError(
            f"expected {len(COLUMNS)} columns, found {frame.shape[1]}", source=str(path)
        )
    frame.columns = list(COLUMNS)
    bad = ~np.isfinite(frame.to_numpy()).all(axis=1)
    if bad.any():
        raise InputError(
            "missing or non-numeric value", source=str(path), row=int(np.argmax(bad)) + 1
        )
    frame["unit"] = frame["unit"].astype(np.int64)
    return frame


def read_true_rul(path: Path, n_units: int) -> FloatArray:
    if not path.is_file():
        raise InputError("file not found", source=str(path))
    try:
        values = pd.read_csv(path, sep=r"\s+", header=None, dtype=np.float64)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError("not a list of RUL values", source=str(path)) from exc
    if values.shape[1] != 1 or len(values) != n_units:
        raise InputError(
            f"expected {n_units} lines of one RUL value each, found {values.shape}",
            source=str(path),
        )
    truth = values[0].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(truth)) or np.any(truth < 0):
        raise InputError("RUL values must be finite and non-negative", source=str(path))
    return truth


def _check_units(frame: pd.DataFrame, path: Path) -> None:
    units = frame["unit"].to_numpy()
    if np.any(units < 1):
        raise InputError("unit numbers must start at 1", source=str(path))
    duplicated = frame.duplicated(["unit", "cycle"])
    if duplicated.any():
        raise InputError(
            "repeated (unit, cycle)", source=str(path), row=int(np.argmax(duplicated)) + 1
        )


def _evaluate(prediction: RulPrediction, truth: FloatArray) -> tuple[float, float, float, float]:
    capped = np.minimum(truth, DEFAULT_RUL_CAP)
    covered = (capped >= prediction.lower) & (capped <= prediction.upper)
    return (
        rmse(prediction.rul, capped),
        rmse(prediction.rul, truth),
        nasa_score(prediction.rul, capped),
        float(np.mean(covered)),
    )


def run_cmapss(
    data: Path,
    subset: str,
    *,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    model_params: Mapping[str, Any] | None = None,
) -> CmapssReport:
    """Train on ``train_<subset>``, score the last cycle of each test unit against ``RUL_<subset>``.

    ``model_params`` override :class:`RulEnsemble` hyperparameters (tests use small
    ones); the published figures use the defaults.
    """
    say = progress or (lambda _message: None)
    name = subset.upper()
    if not SUBSET.match(name):
        raise InputError(f"unknown C-MAPSS subset {subset!r}: expected FD001..FD004")
    folder = Path(data)
    if not folder.is_dir():
        raise InputError("dataset directory not found", source=str(folder))
    say(f"reading {name}")
    train_path = folder / f"train_{name}.txt"
    test_path = folder / f"test_{name}.txt"
    train = read_trajectories(train_path)
    _check_units(train, train_path)
    test = read_trajectories(test_path)
    _check_units(test, test_path)
    n_units = int(test["unit"].nunique())
    truth = read_true_rul(folder / f"RUL_{name}.txt", n_units)
    target = run_to_failure_rul(train, unit="unit", time="cycle")

    say("fitting the main model (CNN + LightGBM, cross-fitted over units)")
    started = time.perf_counter()
    model = RulEnsemble(**{**(model_params or {}), "seed": seed}).fit(train, target)
    fit_seconds = time.perf_counter() - started
    say("predicting the test units")
    prediction = model.predict(test)
    # The baseline is the ensemble's own LightGBM member (regime-normalised window
    # features, fold-averaged): the same model RulGbm fits, without training it twice.
    baseline = model.predict_members(test)["gbm"]
    # RulPrediction rows come in unit order; RUL_FD00X line i belongs to unit i.
    order = np.argsort(prediction.unit.astype(np.int64))
    if not np.array_equal(prediction.unit[order].astype(np.int64), np.arange(1, n_units + 1)):
        raise InputError(f"test units must be numbered 1..{n_units}", source=str(test_path))
    capped = np.minimum(truth, DEFAULT_RUL_CAP)
    base_rmse = rmse(baseline[order], capped)
    base_score = nasa_score(baseline[order], capped)
    prediction = RulPrediction(
        unit=prediction.unit[order],
        rul=prediction.rul[order],
        lower=prediction.lower[order],
        upper=prediction.upper[order],
        level=prediction.level,
    )
    main_rmse, main_raw, main_score, coverage = _evaluate(prediction, truth)
    return CmapssReport(
        subset=name,
        rmse=main_rmse,
        rmse_raw=main_raw,
        nasa_score=main_score,
        coverage_90=coverage,
        fit_seconds=round(fit_seconds, 1),
        n_units=n_units,
        baseline_rmse=base_rmse,
        baseline_nasa_score=base_score,
    )
