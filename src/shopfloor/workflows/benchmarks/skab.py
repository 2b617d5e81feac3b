"""SKAB (Skoltech Anomaly Benchmark): outlier F1 / FAR / MAR and the NAB change-point score.

Protocol (``shared/datasets/skab/README.md``, the "proposed leaderboard"): every CSV
under the data directory that has an ``anomaly`` column is one experiment; its first
400 rows train, the rest test.  Point predictions on the test parts are pooled into one
TP / FP / FN / TN count; change points are scored with NAB (60 s windows to the right
of each labelled change point).  Files without an ``anomaly`` column
(``anomaly-free.csv``) are skipped.

Models (hyperparameters fixed here, the same for every file: no per-file tuning and
no test labels used to pick a threshold):

- detector: :class:`EnsembleDetector` (robust per-signal baseline + MSET) on signals
  smoothed over 60 s, threshold = the highest out-of-fold score of the 400 normal
  training rows (``false_alarm_rate=0``);
- change points: :func:`cusum` on the signals in robust sigmas of the training rows;
- baseline: PCA T² + Q on the raw signals, thresholds at the 99 % training quantile
  (the classical set-up of the SKAB leaderboard's entry); its NAB detections are the
  rising edges of its alarms.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.maintenance.anomaly import EnsembleDetector, PcaT2Q, cusum, robust_scale

TRAIN_ROWS = 400
NAB_WINDOW_S = 60.0
# (A_tp, A_fp, A_fn) of the NAB profiles.
PROFILES = {
    "standard": (1.0, -0.11, -1.0),
    "low_fp": (1.0, -0.22, -1.0),
    "low_fn": (1.0, -0.11, -2.0),
}
LABELS = ("anomaly", "changepoint")
TIME_COLUMN = "datetime"


def make_detector(seed: int = 0) -> EnsembleDetector:
    """The benchmark's detector (``seed`` unused: it is deterministic)."""
    return EnsembleDetector(window=60, false_alarm_rate=0.0, calibration_folds=5)


def make_baseline() -> PcaT2Q:
    return PcaT2Q(variance=0.85, window=1, false_alarm_rate=0.01, calibration_folds=0)


@dataclass(frozen=True)
class SkabFigures:
    f1: float
    far: float  # %
    mar: float  # %
    nab_standard: float
    nab_low_fp: float
    nab_low_fn: float
    missed_changepoints: int
    false_positives: int  # NAB detections outside every window


@dataclass(frozen=True)
class SkabReport:
    f1: float
    far: float
    mar: float
    nab_standard: float
    nab_low_fp: float
    nab_low_fn: float
    missed_changepoints: int
    false_positives: int
    n_files: int
    baseline: SkabFigures
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "f1": self.f1,
            "far": self.far,
            "mar": self.mar,
            "nab_standard": self.nab_standard,
            "nab_low_fp": self.nab_low_fp,
            "nab_low_fn": self.nab_low_fn,
            "missed_changepoints": self.missed_changepoints,
            "false_positives": self.false_positives,
            "n_files": self.n_files,
            "baseline": asdict(self.baseline),
            "seconds": self.seconds,
        }


# -- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Experiment:
    name: str
    signals: pd.DataFrame  # index: timestamps
    anomaly: np.ndarray  # 0/1 per row
    changepoint: np.ndarray  # 0/1 per row
    seconds: np.ndarray  # time of each row, seconds from the first


def _experiments(data: Path) -> Iterator[Path]:
    if not data.is_dir():
        raise InputError("SKAB data directory not found", source=str(data))
    for path in sorted(data.rglob("*.csv")):
        if path.is_file():
            yield path


def _has_labels(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            header = handle.readline().strip().split(";")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", source=str(path)) from exc
    return "anomaly" in [h.strip() for h in header]


def read_experiment(path: Path, name: str | None = None) -> Experiment:
    """One SKAB CSV with labels; :class:`InputError` naming the file when malformed."""
    source = str(path)
    try:
        frame = pd.read_csv(path, sep=";")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"not a ';'-separated CSV: {exc}", source=source) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in (TIME_COLUMN, *LABELS):
        if column not in frame.columns:
            raise InputError("column missing", source=source, field=column)
    if len(frame) <= TRAIN_ROWS:
        raise InputError(
            f"{len(frame)} rows: needs more than the {TRAIN_ROWS} training rows", source=source
        )
    stamps = pd.to_datetime(frame[TIME_COLUMN], errors="coerce")
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise InputError("unreadable timestamp", source=source, row=row + 2, field=TIME_COLUMN)
    names = [c for c in frame.columns if c not in (TIME_COLUMN, *LABELS)]
    if not names:
        raise InputError("no signal columns", source=source)
    numeric: dict[str, np.ndarray] = {}
    for column in (*names, *LABELS):
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                "missing or non-numeric value", source=source, row=row + 2, field=column
            )
        numeric[column] = values
    for column in LABELS:
        if not np.isin(numeric[column], (0.0, 1.0)).all():
            raise InputError("labels must be 0 or 1", source=source, field=column)
    index = pd.DatetimeIndex(stamps, name=TIME_COLUMN)
    seconds = (index - index[0]).total_seconds().to_numpy(dtype=np.float64)
    if (np.diff(seconds) < 0).any():
        raise InputError("timestamps go backwards", source=source, field=TIME_COLUMN)
    return Experiment(
        name=name or path.name,
        signals=pd.DataFrame({c: numeric[c] for c in names}, index=index),
        anomaly=numeric["anomaly"].astype(np.int64),
        changepoint=numeric["changepoint"].astype(np.int64),
        seconds=seconds,
    )


# -- scoring ---------------------------------------------------------------------------------
@dataclass
class _Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: np.ndarray, actual: np.ndarray) -> None:
        p = predicted.astype(bool)
        a = actual.astype(bool)
        self.tp += int((p & a).sum())
        self.fp += int((p & ~a).sum())
        self.fn += int((~p & a).sum())
        self.tn += int((~p & ~a).sum())

    def figures(self) -> tuple[float, float, float]:
        denominator = self.tp + (self.fp + self.fn) / 2
        f1 = self.tp / denominator if denominator else 0.0
        far = 100.0 * self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0
        mar = 100.0 * self.fn / (self.fn + self.tp) if self.fn + self.tp else 0.0
        return f1, far, mar


def _sigmoid(position: float) -> float:
    return 1.0 / (1.0 + float(np.exp(10.0 * position - 5.0)))


def nab_file(
    seconds: np.ndarray,
    true_rows: np.ndarray,
    detected_rows: np.ndarray,
    profile: tuple[float, float, float],
    window_s: float = NAB_WINDOW_S,
) -> tuple[float, float, float, int, int]:
    """NAB score of one file: (S, S_null, S_perfect, missed windows, false positives).

    Each true change point opens the window [t, t + window_s].  The first detection in a
    window scores a scaled sigmoid of its relative position, A_tp at the window start
    down to A_fp at its end (later detections in the window are ignored); a window with
    no detection scores A_fn; a detection in no window scores A_fp.
    """
    a_tp, a_fp, a_fn = profile
    starts = seconds[true_rows]
    detected = seconds[detected_rows]
    in_any = np.zeros(detected.size, dtype=bool)
    score = 0.0
    missed = 0
    top, bottom = _sigmoid(0.0), _sigmoid(1.0)
    for start in starts:
        inside = (detected >= start) & (detected <= start + window_s)
        in_any |= inside
        if not inside.any():
            score += a_fn
            missed += 1
            continue
        position = (detected[inside][0] - start) / window_s
        score += a_fp + (a_tp - a_fp) * (_sigmoid(position) - bottom) / (top - bottom)
    false_positives = int((~in_any).sum())
    score += a_fp * false_positives
    return score, a_fn * starts.size, a_tp * starts.size, missed, false_positives


def nab_scores(
    files: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[dict[str, float], int, int]:
    """Normalised NAB per profile over all files, plus missed windows and FPs (Standard)."""
    result: dict[str, float] = {}
    missed = false_positives = 0
    for name, profile in PROFILES.items():
        total = null = perfect = 0.0
        for seconds, true_rows, detected_rows in files:
            s, s_null, s_perfect, m, f = nab_file(seconds, true_rows, detected_rows, profile)
            total += s
            null += s_null
            perfect += s_perfect
            if name == "standard":
                missed += m
                false_positives += f
        result[name] = 100.0 * (total - null) / (perfect - null) if perfect != null else 0.0
    return result, missed, false_positives


def rising_edges(alarm: np.ndarray) -> np.ndarray:
    """Rows where a boolean alarm switches on."""
    on = alarm.astype(np.int8)
    return np.flatnonzero(np.diff(np.concatenate([[0], on])) == 1)


def change_points(experiment: Experiment) -> np.ndarray:
    """CUSUM detections (rows) on the signals in robust sigmas of the training rows."""
    values = experiment.signals.to_numpy(dtype=np.float64)
    median, sigma = robust_scale(values[:TRAIN_ROWS])
    return cusum((values - median) / sigma, drift=1.0, threshold=20.0, rebaseline=60)


def _figures(counts: _Counts, nab: tuple[dict[str, float], int, int]) -> SkabFigures:
    f1, far, mar = counts.figures()
    scores, missed, false_positives = nab
    return SkabFigures(
        f1=round(f1, 4),
        far=round(far, 2),
        mar=round(mar, 2),
        nab_standard=round(scores["standard"], 2),
        nab_low_fp=round(scores["low_fp"], 2),
        nab_low_fn=round(scores["low_fn"], 2),
        missed_changepoints=missed,
        false_positives=false_positives,
    )


def run_skab(
    data: Path, *, seed: int = 0, progress: Callable[[str], None] | None = None
) -> SkabReport:
    """Run the SKAB protocol on every labelled CSV under ``data``."""
    started = time.perf_counter()
    note = progress or (lambda _message: None)
    data = Path(data)
    paths = [p for p in _experiments(data) if _has_labels(p)]
    if not paths:
        raise InputError(
            "no SKAB experiment file (a CSV with an 'anomaly' column)", source=str(data)
        )
    ours, base = _Counts(), _Counts()
    ours_nab: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    base_nab: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for number, path in enumerate(paths, start=1):
        name = str(path.relative_to(data))
        note(f"SKAB {number}/{len(paths)}: {name}")
        experiment = read_experiment(path, name)
        train = experiment.signals.iloc[:TRAIN_ROWS]
        test = slice(TRAIN_ROWS, None)
        # Scored over the whole file so the test part's first rows have their rolling
        # window of past rows, as a live scorer would: only rows >= 400 are counted.
        detector = make_detector(seed).fit(train)
        predicted = detector.score(experiment.signals).is_anomaly
        baseline = make_baseline().fit(train)
        base_predicted = baseline.score(experiment.signals).is_anomaly
        ours.add(predicted[test], experiment.anomaly[test])
        base.add(base_predicted[test], experiment.anomaly[test])
        seconds = experiment.seconds[test]
        true_rows = np.flatnonzero(experiment.changepoint[test] == 1)
        detected = change_points(experiment)
        ours_nab.append((seconds, true_rows, detected[detected >= TRAIN_ROWS] - TRAIN_ROWS))
        base_nab.append((seconds, true_rows, rising_edges(base_predicted[test])))
    mine = _figures(ours, nab_scores(ours_nab))
    return SkabReport(
        **asdict(mine),
        n_files=len(paths),
        baseline=_figures(base, nab_scores(base_nab)),
        seconds=round(time.perf_counter() - started, 2),
    )
