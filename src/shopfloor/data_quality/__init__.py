"""Data quality: checks on readings, scores, reports and repairs (pure analytics).

Each check takes a long readings frame and the signals table and returns typed
:class:`QualityIssue` episodes; :func:`run_checks` runs them all over one sort of the
frame.  :func:`score_against_truth` scores them against planted ground truth.
"""

from shopfloor.data_quality.checks import (
    ALL_CHECKS,
    duplicate,
    future_timestamp,
    gap,
    missing,
    out_of_order,
    out_of_range,
    run_checks,
    spike,
    stale,
    stuck,
    unit_shift,
)
from shopfloor.data_quality.evaluate import CheckScore, score_against_truth
from shopfloor.data_quality.model import QualityIssue, Severity, issues_frame
from shopfloor.data_quality.repair import POLICIES, RepairResult, repair, suspected_units
from shopfloor.data_quality.report import (
    issues_html,
    issues_json,
    issues_records,
    issues_table,
    scores_table,
)
from shopfloor.data_quality.score import quality_scores
from shopfloor.data_quality.units import compatible, convert

__all__ = [
    "ALL_CHECKS",
    "POLICIES",
    "CheckScore",
    "QualityIssue",
    "RepairResult",
    "Severity",
    "compatible",
    "convert",
    "duplicate",
    "future_timestamp",
    "gap",
    "issues_frame",
    "issues_html",
    "issues_json",
    "issues_records",
    "issues_table",
    "missing",
    "out_of_order",
    "out_of_range",
    "quality_scores",
    "repair",
    "run_checks",
    "score_against_truth",
    "scores_table",
    "spike",
    "stale",
    "stuck",
    "suspected_units",
    "unit_shift",
]
