"""What the dashboard draws: Plotly figures and small tables shaped from the views' frames.

The server turns each figure into JSON (:func:`figure_json`) inside a
``<script type="application/json">`` block; the page's own script draws it with the
plotly.js of the installed ``plotly`` package (no CDN, no inline script).  Nothing here
reads the lake: every function takes what a view in :mod:`shopfloor.workflows.views`
returned, already cut to the principal's sites.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Calm colours that print well; the first is the dashboard's accent.
COLOURS = (
    "#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2",
    "#ca8a04", "#db2777", "#4b5563", "#65a30d", "#7c3aed",
)  # fmt: skip
ALARM = "#dc2626"
THRESHOLD = "#6b7280"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
RESAMPLE = ("10min", "1h", "1d")  # the asset page's choices
WINDOWS = (7, 30, 90)  # days of readings it draws


def _layout(fig: Any, height: int, **extra: Any) -> Any:
    settings: dict[str, Any] = {
        "template": "plotly_white",
        "height": height,
        "margin": {"l": 56, "r": 24, "t": 36, "b": 40},
        "font": {"family": FONT, "size": 12, "color": "#1f2937"},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "hovermode": "x unified",
    }
    fig.update_layout(**{**settings, **extra})
    return fig


def figure_json(figure: Any) -> str:
    """A figure as JSON that is safe inside ``<script type="application/json">``."""
    import plotly.io as pio

    text = str(pio.to_json(figure, validate=False, remove_uids=True))
    # No '</script>' or HTML comment can end the block early; JSON.parse reads these back.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def data_json(value: Any) -> str:
    """Any JSON value, escaped the same way (for the page's script)."""
    text = json.dumps(value, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# -- production --------------------------------------------------------------------------
def _ratio(num: pd.Series | float, den: pd.Series | float) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(num, den)
    return np.where(np.asarray(den) > 0, out, np.nan) if isinstance(out, np.ndarray) else out


_SUMS = ("planned_time_s", "run_time_s", "ideal_time_s", "ideal_good_s", "good", "scrap")


def oee_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """OEE over the whole period per group, from per-period rows (``views.oee``).

    The ratios are those of the summed times, as in the per-period rows: availability =
    run / planned, performance = ideal / run, quality = ideal good / ideal, OEE = ideal
    good / planned (so a period's OEE weighs with its planned time).
    """
    columns = ["group", "start", "end", *_SUMS, "availability", "performance", "quality", "oee"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    sums = frame.groupby("group", sort=True).agg(
        start=("period_start", "min"),
        end=("period_end", "max"),
        **{c: (c, "sum") for c in _SUMS},
    )
    return _with_ratios(sums.reset_index())[columns]


def oee_overall(frame: pd.DataFrame) -> dict[str, float]:
    """The same ratios over every group together (the plant's figure)."""
    if frame.empty:
        return {}
    sums = frame[list(_SUMS)].sum()
    row = _with_ratios(pd.DataFrame([sums]))
    return {k: float(row.iloc[0][k]) for k in ("availability", "performance", "quality", "oee")}


def _with_ratios(t: pd.DataFrame) -> pd.DataFrame:
    t = t.copy()
    t["availability"] = _ratio(t["run_time_s"], t["planned_time_s"])
    t["performance"] = _ratio(t["ideal_time_s"], t["run_time_s"])
    t["quality"] = _ratio(t["ideal_good_s"], t["ideal_time_s"])
    t["oee"] = _ratio(t["ideal_good_s"], t["planned_time_s"])
    return t


def oee_daily_figure(frame: pd.DataFrame) -> Any:
    """Daily OEE per group (percent), one line each."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (group, rows) in enumerate(frame.groupby("group", sort=True)):
        rows = rows.sort_values("period_start")
        fig.add_trace(
            go.Scatter(
                x=rows["period_start"],
                y=100.0 * rows["oee"],
                mode="lines+markers",
                name=str(group),
                line={"color": COLOURS[i % len(COLOURS)], "width": 2},
                marker={"size": 5},
                hovertemplate="%{y:.1f} %",
            )
        )
    return _layout(fig, 300, yaxis={"title": "OEE %", "rangemode": "tozero"}, xaxis={"title": None})


def pareto_figure(losses: pd.DataFrame, top: int = 10) -> Any:
    """Downtime by reason (hours, bars) with the cumulative share (line, right axis)."""
    import plotly.graph_objects as go

    shown = losses.head(top)
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=shown["reason"],
            y=shown["duration_s"] / 3600.0,
            name="downtime (h)",
            marker={"color": COLOURS[0]},
            hovertemplate="%{y:,.1f} h<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=shown["reason"],
            y=100.0 * shown["cumulative_share"],
            name="cumulative %",
            yaxis="y2",
            mode="lines+markers",
            line={"color": COLOURS[1]},
            hovertemplate="%{y:.1f} %<extra></extra>",
        )
    )
    return _layout(
        fig,
        300,
        hovermode="closest",
        yaxis={"title": "hours"},
        yaxis2={
            "title": "cumulative",
            "overlaying": "y",
            "side": "right",
            "range": [0, 104],
            "tickmode": "array",
            "tickvals": [0, 25, 50, 75, 100],
            "ticktext": ["0 %", "25 %", "50 %", "75 %", "100 %"],
            "showgrid": False,
        },
    )


# -- assets ------------------------------------------------------------------------------
def readings_window(
    latest: pd.Timestamp | None, now: pd.Timestamp, days: int
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of the readings to draw: ``days`` up to the latest scored hour (else
    now), and nothing after now (a future timestamp is a data fault, shown on /data)."""
    last = latest if latest is not None and not pd.isna(latest) and latest <= now else now
    return last - pd.Timedelta(days=days), now


def readings_figure(readings: pd.DataFrame, signals: pd.DataFrame) -> Any:
    """One panel per signal (shared time axis), with its unit and valid range."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = [s for s in signals["signal"] if s in set(readings["signal"])] or sorted(
        set(readings["signal"])
    )
    units = dict(zip(signals["signal"], signals["unit"], strict=False))
    fig = make_subplots(
        rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.035, subplot_titles=None
    )
    for i, name in enumerate(names, start=1):
        rows = readings[readings["signal"] == name]
        unit = units.get(name) or ""
        fig.add_trace(
            go.Scatter(
                x=rows["ts"],
                y=rows["value"],
                mode="lines",
                name=name,
                line={"color": COLOURS[(i - 1) % len(COLOURS)], "width": 1.4},
                hovertemplate=f"%{{y:.4g}} {unit}",
            ),
            row=i,
            col=1,
        )
        fig.update_yaxes(title_text=f"{name}<br>({unit})" if unit else name, row=i, col=1)
    _layout(fig, 110 + 130 * len(names), showlegend=False)
    fig.update_yaxes(title_font={"size": 11})
    return fig


def health_figure(scores: pd.DataFrame, alerts: pd.DataFrame | None = None) -> Any:
    """Anomaly score over time against its threshold; the asset's alerts shaded."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=scores["ts"],
            y=scores["score"],
            mode="lines",
            name="anomaly score",
            line={"color": COLOURS[0], "width": 1.6},
            hovertemplate="%{y:.2f}",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=scores["ts"],
            y=scores["threshold"],
            mode="lines",
            name="threshold",
            line={"color": ALARM, "dash": "dash", "width": 1.2},
            hovertemplate="%{y:.2f}",
        )
    )
    if alerts is not None and not alerts.empty:
        last = scores["ts"].max() if not scores.empty else None
        for row in alerts.to_dict("records"):
            end = row["end"] if not pd.isna(row["end"]) else last
            if end is None or pd.isna(end):
                continue
            fig.add_vrect(x0=row["start"], x1=end, fillcolor=ALARM, opacity=0.08, line_width=0)
    return _layout(fig, 280, yaxis={"title": "score", "rangemode": "tozero"})


def rul_figure(recommendation: dict[str, Any]) -> Any:
    """Remaining useful life: the estimate on its interval (hours)."""
    import plotly.graph_objects as go

    rul = float(recommendation["rul_hours"])
    lower = float(recommendation.get("rul_lower", rul))
    upper = float(recommendation.get("rul_upper", rul))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[rul],
            y=["RUL"],
            mode="markers",
            name="estimate",
            marker={"size": 14, "color": ALARM if recommendation.get("urgent") else COLOURS[2]},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [upper - rul],
                "arrayminus": [rul - lower],
                "thickness": 6,
                "width": 0,
                "color": "#93c5fd",
            },
            hovertemplate=f"{rul:,.0f} h (interval {lower:,.0f} - {upper:,.0f} h)<extra></extra>",
        )
    )
    return _layout(
        fig,
        150,
        showlegend=False,
        hovermode="closest",
        margin={"l": 48, "r": 24, "t": 16, "b": 40},
        xaxis={"title": "hours from now", "rangemode": "tozero"},
    )


# -- quality -----------------------------------------------------------------------------
def spc_figure(series: Any) -> Any:
    """The control chart pair of one series (location above, spread below)."""
    from shopfloor.workflows.spc_plots import chart_panels

    fig = chart_panels(series)
    _layout(fig, 460, hovermode="closest")
    fig.update_layout(title=None)
    return fig


def verdict_summary(inspections: pd.DataFrame) -> pd.DataFrame:
    """Per asset and characteristic: inspections, failures, failure rate, latest."""
    columns = ["asset", "characteristic", "inspections", "failed", "fail_rate", "latest"]
    if inspections.empty:
        return pd.DataFrame(columns=columns)
    frame = inspections.assign(
        characteristic=inspections["characteristic"].fillna("-"),
        failed=(inspections["verdict"] == "fail").astype(int),
    )
    out = frame.groupby(["asset", "characteristic"], sort=True).agg(
        inspections=("verdict", "size"), failed=("failed", "sum"), latest=("ts", "max")
    )
    out["fail_rate"] = out["failed"] / out["inspections"]
    return out.reset_index()[columns]


def image_verdicts(inspections: pd.DataFrame) -> pd.DataFrame:
    """The inspections of images (a classifier's verdict), newest first."""
    if inspections.empty or "image" not in inspections.columns:
        return pd.DataFrame(columns=["asset", "ts", "image", "label", "score", "verdict", "map"])
    frame = inspections[inspections["image"].notna()].copy()
    frame["name"] = frame["image"].map(lambda p: Path(str(p)).name)
    return frame.sort_values("ts", ascending=False).reset_index(drop=True)


def map_file(inspections: pd.DataFrame, wanted: str, root: Path) -> Path | None:
    """The localisation map ``wanted`` if a visible image verdict names it and it lies
    under ``root`` (the lake's inspection runs); else None."""
    if inspections.empty or "map" not in inspections.columns:
        return None
    if wanted not in set(inspections["map"].dropna().astype(str)):
        return None
    path = Path(wanted).resolve()
    if path.suffix.lower() != ".png" or not path.is_relative_to(root.resolve()):
        return None
    return path if path.is_file() else None


# -- planning ----------------------------------------------------------------------------
def gantt(operations: pd.DataFrame, breakdowns: Sequence[Any], title: str) -> Any:
    """The schedule's Gantt (machines of the visible sites; breakdowns shaded)."""
    from shopfloor.workflows.gantt import gantt_figure

    machines = sorted(set(operations["machine"].astype(str)))
    down = pd.DataFrame(
        [
            {"machine": b[0], "start": b[1], "end": b[2], "reason": "breakdown"}
            for b in breakdowns
            if str(b[0]) in machines
        ],
        columns=["machine", "start", "end", "reason"],
    )
    fig = gantt_figure(operations, down, machines, title)
    height = fig.layout.height
    _layout(fig, int(height) if height else 400, hovermode="closest")
    fig.update_layout(title=None, legend={"title": "item"})
    return fig


# -- supply ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    item: str
    location: str

    @property
    def key(self) -> str:
        return f"{self.item}@{self.location}"


def forecast_pairs(forecasts: pd.DataFrame) -> list[Pair]:
    """Every (item, location) of a forecast, largest mean demand first."""
    if forecasts.empty:
        return []
    size = forecasts.groupby(["item", "location"], sort=True)["mean"].sum()
    ordered = size.sort_values(ascending=False, kind="stable").index
    return [Pair(str(i), str(loc)) for i, loc in ordered]


BANDS = (("q90", "q95", 0.15), ("q80", "q90", 0.28), ("q50", "q80", 0.42))


def fan_figure(forecast: pd.DataFrame, history: pd.DataFrame, periods: int = 52) -> Any:
    """The last ``periods`` of demand, then the forecast: mean, median, q50-q95 as a fan."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if not history.empty:
        recent = history.sort_values("period_start").tail(periods)
        fig.add_trace(
            go.Scatter(
                x=recent["period_start"],
                y=recent["quantity"],
                mode="lines",
                name="demand",
                line={"color": "#374151", "width": 1.6},
                hovertemplate="%{y:,.0f}",
            )
        )
    rows = forecast.sort_values("period_start")
    x = rows["period_start"]
    for i, (low, high, alpha) in enumerate(BANDS):
        fig.add_trace(
            go.Scatter(x=x, y=rows[low], mode="lines", line={"width": 0}, showlegend=False,
                       hoverinfo="skip")
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=x,
                y=rows[high],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=f"rgba(37, 99, 235, {alpha})",
                name="q50-q95",
                legendgroup="bands",
                showlegend=i == len(BANDS) - 1,
                hovertemplate=f"{high} %{{y:,.0f}}",
            )
        )
    fig.add_trace(
        go.Scatter(x=x, y=rows["q50"], mode="lines", name="median",
                   line={"color": COLOURS[0], "width": 1.5}, hovertemplate="%{y:,.0f}")
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=x, y=rows["mean"], mode="lines", name="mean",
                   line={"color": COLOURS[1], "dash": "dash", "width": 2},
                   hovertemplate="%{y:,.0f}")
    )  # fmt: skip
    return _layout(fig, 300, yaxis={"title": "quantity", "rangemode": "tozero"})


__all__ = [
    "RESAMPLE",
    "WINDOWS",
    "Pair",
    "data_json",
    "fan_figure",
    "figure_json",
    "forecast_pairs",
    "gantt",
    "health_figure",
    "image_verdicts",
    "map_file",
    "oee_daily_figure",
    "oee_overall",
    "oee_totals",
    "pareto_figure",
    "readings_figure",
    "readings_window",
    "rul_figure",
    "spc_figure",
    "verdict_summary",
]
