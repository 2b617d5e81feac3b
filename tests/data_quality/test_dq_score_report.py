"""Quality scores per signal, and the three renderings of a report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from dq_frames import frame, noisy, signals
from rich.console import Console

from shopfloor.data_quality import (
    QualityIssue,
    issues_html,
    issues_json,
    issues_table,
    quality_scores,
    run_checks,
    scores_table,
)

SIGNALS = signals()


def _faulty() -> pd.DataFrame:
    values = noisy(1000)
    values[100:150] = np.nan
    values[500] += 40.0
    good = frame(noisy(1000, 6.0, 0.05), signal="pressure")
    return pd.concat([frame(values), good.drop(index=range(300, 400))], ignore_index=True)


def test_scores_count_missing_invalid_and_flagged_samples() -> None:
    data = _faulty()
    scores = quality_scores(data, SIGNALS, run_checks(data, SIGNALS)).set_index("signal")
    assert list(scores.reset_index().columns) == [
        "signal", "asset", "expected", "present", "valid", "flagged", "good", "score",
    ]  # fmt: skip
    temperature, pressure = scores.loc["temperature"], scores.loc["pressure"]
    assert (temperature.expected, temperature.valid, temperature.flagged) == (1000, 950, 1)
    assert temperature.score == 94.9
    assert pressure.present == 900 and pressure.score == 90.0


def test_clean_series_scores_full_marks() -> None:
    scores = quality_scores(frame(noisy(500)), SIGNALS, [])
    assert scores["score"].tolist() == [100.0]


def test_report_renderings_agree_and_html_is_self_contained() -> None:
    data = _faulty()
    issues = run_checks(data, SIGNALS)
    issues.append(
        QualityIssue(
            "spike", "M1", "temperature", pd.Timestamp("2025-01-06", tz="UTC"),
            pd.Timestamp("2025-01-06", tz="UTC"), "warning", 1, "<script>alert(1)</script>",
        )
    )  # fmt: skip
    console = Console(record=True, width=200)
    console.print(issues_table(issues))
    console.print(scores_table(quality_scores(data, SIGNALS, issues)))
    text = console.export_text()
    assert "missing" in text and "gap" in text and "temperature" in text

    records = json.loads(issues_json(issues))
    assert len(records) == len(issues)
    assert set(records[0]) == {
        "check", "asset", "signal", "start", "end", "severity", "rows", "detail",
    }  # fmt: skip

    page = issues_html(issues, quality_scores(data, SIGNALS, issues))
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert page.count("<tr>") >= len(issues) + 2
