"""SPC charts as one self-contained HTML page (Plotly, plotly.js inside: no CDN).

One pair of panels per series: the location chart (X̄ or I) with its center line and
phase I limits, points where a run rule fired in red, the phase I / phase II boundary as
a dashed line; below it the spread chart (R, S or MR) with its limits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shopfloor.workflows.gantt import write_html
from shopfloor.workflows.spc import SpcReport, SpcSeries

# Plotly draws every panel of a page: beyond this many series the page gets slow to open.
MAX_SERIES = 40


def chart_panels(series: SpcSeries) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    loc, spr = series.charted.location, series.charted.spread
    ts = series.ts
    spread_ts = ts[ts.size - spr.statistic.size :]
    flagged = series.rules.flagged
    title = f"{series.asset} / {series.product} / {series.characteristic} ({series.chart})"
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35])
    figure.add_trace(
        go.Scatter(x=ts, y=loc.statistic, mode="lines+markers", name=loc.name, marker_size=4),
        row=1,
        col=1,
    )
    for y, dash, name in ((loc.upper, "dash", "UCL"), (loc.lower, "dash", "LCL")):
        figure.add_trace(
            go.Scatter(x=ts, y=y, mode="lines", name=name, line={"dash": dash, "color": "grey"}),
            row=1,
            col=1,
        )
    figure.add_hline(y=loc.center, line_color="green", row=1, col=1)
    if flagged.size:
        figure.add_trace(
            go.Scatter(
                x=ts[flagged],
                y=loc.statistic[flagged],
                mode="markers",
                name=f"{series.rules.rule_set} rule",
                marker={"color": "red", "size": 8},
            ),
            row=1,
            col=1,
        )
    figure.add_trace(
        go.Scatter(x=spread_ts, y=spr.statistic, mode="lines+markers", name=spr.name),
        row=2,
        col=1,
    )
    figure.add_trace(
        go.Scatter(x=spread_ts, y=spr.upper, mode="lines", name=f"{spr.name} UCL",
                   line={"dash": "dash", "color": "grey"}),
        row=2,
        col=1,
    )  # fmt: skip
    if series.baseline < ts.size:
        figure.add_vline(x=ts[series.baseline], line_dash="dot", line_color="black")
    figure.update_layout(title=title, height=520, showlegend=True)
    return figure


def write_spc_html(report: SpcReport, path: Path) -> Path:
    """Write the charts of the report's series (at most ``MAX_SERIES``) to ``path``."""
    shown = report.series[:MAX_SERIES]
    path.parent.mkdir(parents=True, exist_ok=True)
    if len(shown) == 1:
        return write_html(chart_panels(shown[0]), path)
    # One page: the first figure carries plotly.js, the others reuse it.
    parts = [
        chart_panels(s).to_html(include_plotlyjs=i == 0, full_html=False)
        for i, s in enumerate(shown)
    ]
    note = ""
    if len(report.series) > len(shown):
        note = f"<p>{len(report.series) - len(shown)} more series not drawn: filter them.</p>"
    html = "<html><head><meta charset='utf-8'><title>SPC</title></head><body>"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(html + "".join(parts) + note + "</body></html>", encoding="utf-8")
    tmp.replace(path)
    return path
