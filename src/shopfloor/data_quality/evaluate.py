"""Score detected issues against planted ground truth (precision and recall per check)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopfloor.data_quality.model import QualityIssue, issues_frame


@dataclass(frozen=True)
class CheckScore:
    """How one check did: ``matched`` truth episodes were found among ``truth``.

    Precision is 1.0 when nothing was detected and recall 1.0 when nothing was planted,
    so that an idle check on a clean frame scores perfectly.
    """

    precision: float
    recall: float
    detected: int
    truth: int
    matched: int


def _key(frame: pd.DataFrame) -> pd.Series:
    signal = frame["signal"].astype(object).where(frame["signal"].notna(), "")
    return (
        frame["check"].astype(str)
        + "\x1f"
        + frame["asset"].astype(str)
        + "\x1f"
        + signal.astype(str)
    )


def _us(column: pd.Series) -> np.ndarray:
    return np.asarray(
        pd.DatetimeIndex(pd.to_datetime(column, utc=True)).as_unit("us").asi8, dtype=np.int64
    )


def score_against_truth(
    issues: Iterable[QualityIssue],
    truth: pd.DataFrame,
    tolerance: pd.Timedelta = pd.Timedelta(minutes=2),  # noqa: B008
) -> dict[str, CheckScore]:
    """Per-check precision and recall of ``issues`` against ``truth`` episodes.

    A detection matches a truth episode when check, asset and signal are equal and the
    two intervals overlap once both are widened by ``tolerance`` on each side.
    """
    found = issues_frame(issues)
    truth = truth.reindex(columns=["check", "asset", "signal", "start", "end"])
    slack = int(tolerance / pd.Timedelta(microseconds=1))
    found_key, truth_key = _key(found), _key(truth)
    found_start, found_end = _us(found["start"]) - slack, _us(found["end"]) + slack
    truth_start, truth_end = _us(truth["start"]) - slack, _us(truth["end"]) + slack

    detected_ok = np.zeros(len(found), dtype=bool)
    truth_ok = np.zeros(len(truth), dtype=bool)
    truth_groups = pd.Series(np.arange(len(truth))).groupby(truth_key.to_numpy()).indices
    for key, f_idx in (
        pd.Series(np.arange(len(found))).groupby(found_key.to_numpy()).indices.items()
    ):
        t_idx = truth_groups.get(key)
        if t_idx is None:
            continue
        overlap = (found_start[f_idx, None] <= truth_end[None, t_idx]) & (
            truth_start[None, t_idx] <= found_end[f_idx, None]
        )
        detected_ok[f_idx] = overlap.any(axis=1)
        truth_ok[t_idx] |= overlap.any(axis=0)

    checks = sorted(set(found["check"].astype(str)) | set(truth["check"].astype(str)))
    scores = {}
    found_check = found["check"].astype(str).to_numpy()
    truth_check = truth["check"].astype(str).to_numpy()
    for check in checks:
        mine_found = found_check == check
        mine_truth = truth_check == check
        detected, planted = int(mine_found.sum()), int(mine_truth.sum())
        hits, matched = int(detected_ok[mine_found].sum()), int(truth_ok[mine_truth].sum())
        scores[check] = CheckScore(
            precision=hits / detected if detected else 1.0,
            recall=matched / planted if planted else 1.0,
            detected=detected,
            truth=planted,
            matched=matched,
        )
    return scores
