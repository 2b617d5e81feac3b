"""Render data-quality issues and scores: a rich table, JSON and a self-contained HTML page."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pandas as pd
from jinja2 import Environment
from rich.table import Table

from shopfloor.data_quality.model import SEVERITIES, QualityIssue

_SEVERITY_STYLE = {"info": "cyan", "warning": "yellow", "critical": "bold red"}


def _ordered(issues: Sequence[QualityIssue]) -> list[QualityIssue]:
    rank = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    return sorted(issues, key=lambda i: (rank[i.severity], i.asset, i.signal or "", i.start))


def issues_table(issues: Sequence[QualityIssue], title: str = "Data-quality issues") -> Table:
    """Issues as a rich Table, most severe first."""
    table = Table(title=title, show_lines=False)
    for column, justify in (
        ("severity", "left"),
        ("check", "left"),
        ("asset", "left"),
        ("signal", "left"),
        ("start (UTC)", "left"),
        ("end (UTC)", "left"),
        ("rows", "right"),
        ("detail", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for issue in _ordered(issues):
        table.add_row(
            f"[{_SEVERITY_STYLE[issue.severity]}]{issue.severity}[/]",
            issue.check,
            issue.asset,
            issue.signal or "",
            issue.start.strftime("%Y-%m-%d %H:%M:%S"),
            issue.end.strftime("%Y-%m-%d %H:%M:%S"),
            str(issue.rows),
            issue.detail,
        )
    return table


def scores_table(scores: pd.DataFrame, title: str = "Signal quality (0-100)") -> Table:
    """Scores (as from :func:`quality_scores`) as a rich Table, worst first."""
    table = Table(title=title)
    for column in scores.columns:
        table.add_column(str(column), justify="left" if column in ("asset", "signal") else "right")
    for record in scores.sort_values("score").itertuples(index=False):
        table.add_row(*(str(v) for v in record))
    return table


def issues_records(issues: Sequence[QualityIssue]) -> list[dict[str, Any]]:
    return [issue.to_dict() for issue in issues]


def issues_json(issues: Sequence[QualityIssue], indent: int | None = 2) -> str:
    """A JSON list of issue objects (check, asset, signal, start, end, severity, rows, detail)."""
    return json.dumps(issues_records(issues), indent=indent)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
 h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
 table { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
 th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left; }
 th { background: #f4f4f4; }
 td.num { text-align: right; font-variant-numeric: tabular-nums; }
 .critical { color: #b00020; font-weight: 600; }
 .warning { color: #a66300; }
 .info { color: #00668a; }
 .summary span { display: inline-block; margin-right: 1.5rem; }
 .bar { background: #e9e9e9; width: 8rem; height: 0.7rem; display: inline-block; }
 .bar > div { height: 100%; background: #2e7d32; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="summary">
 <span><b>{{ issues|length }}</b> issue(s)</span>
{% for severity, count in by_severity %}
 <span class="{{ severity }}">{{ count }} {{ severity }}</span>
{% endfor %}
</p>
<p class="summary">
{% for check, count in by_check %}
 <span>{{ check }}: {{ count }}</span>
{% endfor %}
</p>
{% if scores %}
<h2>Signal quality</h2>
<table>
<tr>{% for c in score_columns %}<th>{{ c }}</th>{% endfor %}<th></th></tr>
{% for s in scores %}
<tr>
 <td>{{ s.asset }}</td><td>{{ s.signal }}</td>
 <td class="num">{{ s.expected }}</td><td class="num">{{ s.present }}</td>
 <td class="num">{{ s.valid }}</td><td class="num">{{ s.flagged }}</td>
 <td class="num">{{ "%.1f"|format(s.score) }}</td>
 <td><div class="bar"><div style="width: {{ s.score }}%"></div></div></td>
</tr>
{% endfor %}
</table>
{% endif %}
<h2>Issues</h2>
{% if issues %}
<table>
<tr>{% for c in issue_columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for i in issues %}
<tr>
 <td class="{{ i.severity }}">{{ i.severity }}</td><td>{{ i.check }}</td>
 <td>{{ i.asset }}</td><td>{{ i.signal or "" }}</td>
 <td>{{ i.start }}</td><td>{{ i.end }}</td>
 <td class="num">{{ i.rows }}</td><td>{{ i.detail }}</td>
</tr>
{% endfor %}
</table>
{% else %}
<p>No issues found.</p>
{% endif %}
</body>
</html>
"""

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def issues_html(
    issues: Sequence[QualityIssue],
    scores: pd.DataFrame | None = None,
    title: str = "Data-quality report",
) -> str:
    """A self-contained HTML page (inline CSS, no scripts, nothing fetched)."""
    ordered = _ordered(issues)
    severity_counts = Counter(i.severity for i in ordered)
    records = [
        {**i.to_dict(), "start": i.start.strftime("%Y-%m-%d %H:%M:%S"),
         "end": i.end.strftime("%Y-%m-%d %H:%M:%S")}
        for i in ordered
    ]  # fmt: skip
    score_rows = (
        scores.sort_values("score").to_dict("records") if scores is not None and len(scores) else []
    )
    return _ENV.from_string(_PAGE).render(
        title=title,
        issues=records,
        by_severity=[(s, severity_counts[s]) for s in reversed(SEVERITIES) if severity_counts[s]],
        by_check=sorted(Counter(i.check for i in ordered).items()),
        scores=score_rows,
        score_columns=("asset", "signal", "expected", "present", "valid", "flagged", "score"),
        issue_columns=(
            "severity",
            "check",
            "asset",
            "signal",
            "start (UTC)",
            "end (UTC)",
            "rows",
            "detail",
        ),
    )
