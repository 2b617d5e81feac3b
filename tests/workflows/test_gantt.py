"""Gantt charts: self-contained HTML (no CDN) and a PNG drawn without a display."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from shopfloor.workflows.gantt import gantt_figure, write_gantt

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    operations = pd.DataFrame(
        [
            ("MO-1", "P1", 10, "saw", "M1", "06:00", "06:20", "08:00"),
            ("MO-2", "P2", 10, "saw", "M1", "08:00", "08:00", "09:30"),
            ("MO-1", "P1", 20, "press", "M2", "08:10", "08:30", "23:30"),
        ],
        columns=["order", "item", "op_seq", "operation", "machine", "start", "setup_end", "end"],
    )
    for column in ("start", "setup_end", "end"):
        operations[column] = [utc(f"2026-11-02 {t}") for t in operations[column]]
    downtimes = pd.DataFrame(
        {
            "machine": ["M1", "M2", "M2"],
            "start": [utc("2026-11-02 22:00"), utc("2026-11-02 22:00"), utc("2026-11-02 12:00")],
            "end": [utc("2026-11-03 06:00"), utc("2026-11-03 06:00"), utc("2026-11-02 16:00")],
            "reason": ["off shift", "off shift", "maintenance: M2"],
        }
    )
    return operations, downtimes


def test_html_embeds_plotly_and_loads_nothing_from_the_network(tmp_path: Path) -> None:
    operations, downtimes = frames()
    files = write_gantt(tmp_path / "out", "S1", operations, downtimes, ["M1", "M2", "M3"], "plan")
    html = files.html.read_text(encoding="utf-8")
    assert files.html == tmp_path / "out" / "S1.html"
    assert not re.search(r"<script[^>]*\bsrc\s*=\s*[\"']?(https?:)?//", html, re.IGNORECASE)
    assert "Plotly.newPlot" in html and len(html) > 1_000_000  # plotly.js is inside
    assert "maintenance: M2" in html and "changeover until 06:20" in html


def test_png_is_a_png(tmp_path: Path) -> None:
    operations, downtimes = frames()
    files = write_gantt(tmp_path, "S1", operations, downtimes, ["M1", "M2"])
    data = files.png.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000


def test_figure_layers_downtime_items_and_changeovers() -> None:
    operations, downtimes = frames()
    figure = gantt_figure(operations, downtimes, ["M1", "M2"], "plan")
    names = [trace.name for trace in figure.data]
    assert names == ["unavailable", "P1", "P2", "changeover"]
    changeovers = figure.data[-1]
    assert list(changeovers.y) == ["M1", "M2"]  # MO-2 has no changeover
    assert list(changeovers.x) == [20 * 60_000.0, 20 * 60_000.0]
    # The first machine is drawn on top.
    assert list(figure.layout.yaxis.categoryarray) == ["M2", "M1"]


def test_a_schedule_without_downtime_or_changeover_draws(tmp_path: Path) -> None:
    operations, _ = frames()
    plain = operations.assign(setup_end=operations["start"])
    empty = pd.DataFrame(columns=["machine", "start", "end", "reason"])
    figure = gantt_figure(plain, empty, ["M1", "M2"])
    assert [trace.name for trace in figure.data] == ["P1", "P2"]
    files = write_gantt(tmp_path, "S2", plain, empty, ["M1", "M2"])
    assert files.png.read_bytes().startswith(PNG_SIGNATURE)
