"""Acceptance: the checks against the planted faults of a simulated demo plant."""

from __future__ import annotations

import pandas as pd
import pytest
from dq_plant_timeline import plant_timeline

from shopfloor.data_quality import ALL_CHECKS, QualityIssue, run_checks, score_against_truth
from shopfloor.demo_plant.faults import plant_faults
from shopfloor.demo_plant.layout import default_layout
from shopfloor.demo_plant.sensors import simulate_readings

START = pd.Timestamp("2025-03-03", tz="UTC")
END = START + pd.Timedelta(days=3)


def _plant(faults: bool) -> tuple[list[QualityIssue], pd.DataFrame]:
    layout = default_layout()
    events, health = plant_timeline(layout, START, END, seed=1)
    signals = layout.signals_frame()
    issues: list[QualityIssue] = []
    truths = []
    for asset, clean in simulate_readings(layout, events, health, START, END, seed=8):
        readings = clean
        if faults:
            readings, truth = plant_faults(clean, layout, START, END, seed=12)
            truths.append(truth)
            assert set(truth["asset"]) == {asset}
        # The data is received at END: rows stamped days later come from a skewed clock.
        issues += run_checks(readings, signals, now=END)
    return issues, pd.concat(truths, ignore_index=True) if truths else pd.DataFrame()


@pytest.mark.slow
def test_every_check_finds_its_planted_faults() -> None:
    issues, truth = _plant(faults=True)
    assert set(truth["check"]) == set(ALL_CHECKS)
    scores = score_against_truth(issues, truth)
    report = {c: (round(s.recall, 3), round(s.precision, 3)) for c, s in scores.items()}
    for check in ALL_CHECKS:
        assert scores[check].truth >= 10, (check, scores[check])
        assert scores[check].recall >= 0.95, report
        assert scores[check].precision >= 0.90, report


@pytest.mark.slow
def test_a_clean_plant_raises_almost_nothing() -> None:
    issues, _ = _plant(faults=False)
    assert len(issues) <= 2, [i.detail for i in issues]
