"""A schedule as a Gantt chart: interactive HTML (Plotly) and a PNG (matplotlib).

One row per machine; operations coloured by item, their changeover hatched in front of
them; downtimes (off shift, maintenance, breakdowns) shaded behind.  The HTML carries
plotly.js inside the file, so it opens on a plant PC without internet access.  The PNG
is drawn with matplotlib (``Agg``, no display): Plotly's own image export needs kaleido
and a Chrome binary at run time, which a headless plant server may not have (see
docs/decisions.md).

Inputs are the frames :class:`~shopfloor.workflows.planning_problem.PlanningProblem`
produces: operations (order, item, op_seq, operation, machine, start, end, setup_end)
and downtimes (machine, start, end, reason), timestamps in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

# Qualitative palette (Plotly's "D3" / matplotlib's tab10 colours): items cycle through it.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
SETUP_COLOUR = "#555555"
DOWNTIME_COLOUR = "#b0b0b0"
MS_PER_MINUTE = 60_000


@dataclass(frozen=True)
class GanttFiles:
    html: Path
    png: Path


def _colours(items: Sequence[str]) -> dict[str, str]:
    return {item: PALETTE[i % len(PALETTE)] for i, item in enumerate(sorted(set(items)))}


def _ms(start: pd.Series, end: pd.Series) -> list[float]:
    return [1000.0 * float(x) for x in (end - start).dt.total_seconds()]


def _hover(row: dict[Any, Any]) -> str:
    setup = row["setup_end"] > row["start"]
    lines = [
        f"order {row['order']} ({row['item']})",
        f"op {row['op_seq']} {row['operation']} on {row['machine']}",
        f"{row['start']:%a %d %b %H:%M} - {row['end']:%a %d %b %H:%M} UTC",
    ]
    if setup:
        lines.append(f"changeover until {row['setup_end']:%H:%M}")
    return "<br>".join(lines)


def gantt_figure(
    operations: pd.DataFrame,
    downtimes: pd.DataFrame,
    machines: Sequence[str],
    title: str = "schedule",
) -> Any:
    """The Plotly figure (horizontal bars on a date axis, the first machine on top)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if not downtimes.empty:
        fig.add_trace(
            go.Bar(
                name="unavailable",
                orientation="h",
                y=list(downtimes["machine"]),
                base=[t.isoformat() for t in downtimes["start"]],
                x=_ms(downtimes["start"], downtimes["end"]),
                marker={"color": DOWNTIME_COLOUR, "line": {"width": 0}},
                opacity=0.45,
                hovertext=[
                    f"{r['reason']}<br>{r['start']:%a %d %b %H:%M} - {r['end']:%a %d %b %H:%M} UTC"
                    for r in downtimes.to_dict("records")
                ],
                hoverinfo="text",
            )
        )
    colours = _colours(list(operations["item"].astype(str)))
    for item, rows in operations.groupby("item", sort=True):
        fig.add_trace(
            go.Bar(
                name=str(item),
                orientation="h",
                y=list(rows["machine"]),
                base=[t.isoformat() for t in rows["setup_end"]],
                x=_ms(rows["setup_end"], rows["end"]),
                marker={"color": colours[str(item)], "line": {"width": 0.5, "color": "white"}},
                text=list(rows["order"]),
                textposition="inside",
                insidetextanchor="middle",
                hovertext=[_hover(r) for r in rows.to_dict("records")],
                hoverinfo="text",
            )
        )
    setups = operations[operations["setup_end"] > operations["start"]]
    if not setups.empty:
        fig.add_trace(
            go.Bar(
                name="changeover",
                orientation="h",
                y=list(setups["machine"]),
                base=[t.isoformat() for t in setups["start"]],
                x=_ms(setups["start"], setups["setup_end"]),
                marker={
                    "color": "white",
                    "line": {"width": 0.5, "color": SETUP_COLOUR},
                    "pattern": {"shape": "/", "fgcolor": SETUP_COLOUR},
                },
                hovertext=[_hover(r) for r in setups.to_dict("records")],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title=title,
        barmode="overlay",
        xaxis={"type": "date", "title": "UTC"},
        yaxis={
            "categoryorder": "array",
            "categoryarray": list(reversed(machines)),
            "title": "machine",
        },
        height=160 + 36 * len(machines),
        legend={"title": "item"},
        bargap=0.25,
    )
    return fig


def write_html(figure: Any, path: Path) -> Path:
    # include_plotlyjs=True embeds plotly.js (about 4.5 MB): no CDN, works offline.
    figure.write_html(str(path), include_plotlyjs=True, full_html=True)
    return path


def write_png(
    operations: pd.DataFrame,
    downtimes: pd.DataFrame,
    machines: Sequence[str],
    path: Path,
    title: str = "schedule",
) -> Path:
    """The same chart as a static PNG, drawn with matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server; must precede pyplot
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    row = {m: len(machines) - 1 - i for i, m in enumerate(machines)}  # first machine on top
    fig, ax = plt.subplots(figsize=(14, 1.5 + 0.45 * len(machines)), dpi=110)
    try:

        def bars(frame: pd.DataFrame, a: str, b: str) -> dict[str, list[tuple[float, float]]]:
            out: dict[str, list[tuple[float, float]]] = {}
            for r in frame.to_dict("records"):
                lo = float(mdates.date2num(r[a].to_pydatetime()))  # type: ignore[no-untyped-call]
                hi = float(mdates.date2num(r[b].to_pydatetime()))  # type: ignore[no-untyped-call]
                out.setdefault(str(r["machine"]), []).append((lo, hi - lo))
            return out

        for machine, spans in bars(downtimes, "start", "end").items():
            ax.broken_barh(
                spans, (row[machine] - 0.45, 0.9), facecolors=DOWNTIME_COLOUR, alpha=0.45
            )
        colours = _colours(list(operations["item"].astype(str)))
        for item, rows in operations.groupby("item", sort=True):
            for machine, spans in bars(rows, "setup_end", "end").items():
                ax.broken_barh(
                    spans,
                    (row[machine] - 0.35, 0.7),
                    facecolors=colours[str(item)],
                    edgecolor="white",
                    linewidth=0.4,
                )
        setups = operations[operations["setup_end"] > operations["start"]]
        for machine, spans in bars(setups, "start", "setup_end").items():
            ax.broken_barh(
                spans,
                (row[machine] - 0.35, 0.7),
                facecolors="white",
                edgecolor=SETUP_COLOUR,
                hatch="////",
                linewidth=0.4,
            )
        ax.set_yticks(range(len(machines)), list(reversed(machines)))
        ax.set_ylim(-0.6, len(machines) - 0.4)
        ax.xaxis_date()
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b\n%H:%M"))  # type: ignore[no-untyped-call]
        ax.set_xlabel("UTC")
        ax.set_title(title)
        handles = [Patch(facecolor=c, label=i) for i, c in colours.items()]
        handles += [
            Patch(facecolor="white", edgecolor=SETUP_COLOUR, hatch="////", label="changeover"),
            Patch(facecolor=DOWNTIME_COLOUR, alpha=0.45, label="unavailable"),
        ]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def write_gantt(
    directory: Path | str,
    name: str,
    operations: pd.DataFrame,
    downtimes: pd.DataFrame,
    machines: Sequence[str],
    title: str = "schedule",
) -> GanttFiles:
    """``<directory>/<name>.html`` and ``<name>.png``; the directory is created."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    html = write_html(gantt_figure(operations, downtimes, machines, title), folder / f"{name}.html")
    png = write_png(operations, downtimes, machines, folder / f"{name}.png", title)
    return GanttFiles(html, png)
