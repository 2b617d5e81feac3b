"""Scoring detected issues against planted ground truth."""

from __future__ import annotations

import pandas as pd
import pytest

from shopfloor.data_quality import QualityIssue, score_against_truth

T0 = pd.Timestamp("2025-01-06 00:00", tz="UTC")


def issue(check: str, minutes: float, length: float = 1.0, signal: str = "temp") -> QualityIssue:
    start = T0 + pd.Timedelta(minutes=minutes)
    return QualityIssue(
        check, "M1", signal, start, start + pd.Timedelta(minutes=length), "warning", 1, "x"
    )


def truth(*rows: tuple[str, float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"check": c, "asset": "M1", "signal": "temp",
             "start": T0 + pd.Timedelta(minutes=m), "end": T0 + pd.Timedelta(minutes=m + n),
             "rows": 1}
            for c, m, n in rows
        ]
    )  # fmt: skip


def test_precision_and_recall_per_check() -> None:
    planted = truth(("spike", 10, 0), ("spike", 100, 0), ("gap", 50, 5))
    found = [issue("spike", 10, 0), issue("spike", 300, 0), issue("gap", 56.5, 1)]
    scores = score_against_truth(found, planted)
    assert scores["spike"].recall == 0.5 and scores["spike"].precision == 0.5
    assert (scores["spike"].detected, scores["spike"].truth, scores["spike"].matched) == (2, 2, 1)
    # 1.5 minutes after the gap's end is within the 2-minute tolerance.
    assert scores["gap"].recall == 1.0 and scores["gap"].precision == 1.0


def test_tolerance_check_and_signal_must_agree() -> None:
    planted = truth(("stuck", 0, 10))
    late = [issue("stuck", 15, 1)]
    assert score_against_truth(late, planted)["stuck"].recall == 0.0
    assert score_against_truth(late, planted, pd.Timedelta(minutes=3))["stuck"].recall == 1.0
    assert score_against_truth([issue("stuck", 5, signal="other")], planted)["stuck"].recall == 0
    assert score_against_truth([issue("gap", 5)], planted)["gap"].precision == 0.0


def test_empty_sides_score_perfectly_where_nothing_is_claimed() -> None:
    scores = score_against_truth([], truth(("stale", 0, 60)))
    assert scores["stale"].recall == 0.0 and scores["stale"].precision == pytest.approx(1.0)
    assert score_against_truth([issue("spike", 1)], truth())["spike"].recall == 1.0
