"""The dashboard's figures and tables, on small frames (no lake, no server)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopfloor.workflows import dashboard_figures as figures


def _oee_rows() -> pd.DataFrame:
    days = pd.date_range("2026-10-01", periods=3, freq="D", tz="UTC")
    rows = []
    for group, planned in (("L1", (100.0, 200.0, 300.0)), ("L2", (50.0, 50.0, 0.0))):
        for day, p in zip(days, planned, strict=True):
            run = 0.9 * p
            ideal = 0.8 * run
            good = 0.95 * ideal
            rows.append(
                {
                    "group": group,
                    "period_start": day,
                    "period_end": day + pd.Timedelta(days=1),
                    "planned_time_s": p,
                    "run_time_s": run,
                    "ideal_time_s": ideal,
                    "ideal_good_s": good,
                    "good": 10.0,
                    "scrap": 1.0,
                    "oee": good / p if p else np.nan,
                }
            )
    return pd.DataFrame(rows)


def test_oee_over_the_period_is_the_ratio_of_summed_times() -> None:
    rows = _oee_rows()
    totals = figures.oee_totals(rows).set_index("group")
    l1 = rows[rows["group"] == "L1"]
    assert totals.loc["L1", "oee"] == pytest.approx(
        l1["ideal_good_s"].sum() / l1["planned_time_s"].sum()
    )
    # The same as the planned-time weighted mean of the daily figures (what the API gives).
    weighted = (l1["oee"] * l1["planned_time_s"]).sum() / l1["planned_time_s"].sum()
    assert totals.loc["L1", "oee"] == pytest.approx(weighted)
    assert totals.loc["L1", "availability"] == pytest.approx(0.9)
    assert totals.loc["L1", "performance"] == pytest.approx(0.8)
    assert totals.loc["L1", "quality"] == pytest.approx(0.95)
    assert totals.loc["L1", "start"] == l1["period_start"].min()
    overall = figures.oee_overall(rows)
    assert overall["oee"] == pytest.approx(0.9 * 0.8 * 0.95)
    assert figures.oee_totals(pd.DataFrame()).empty and figures.oee_overall(pd.DataFrame()) == {}


def test_figure_json_cannot_end_its_script_block() -> None:
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="</script><script>alert(1)</script>"))
    text = figures.figure_json(fig)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["data"][0]["name"] == "</script><script>alert(1)</script>"
    assert "<" not in figures.data_json({"a": "</script>"})


def test_daily_oee_and_pareto_figures() -> None:
    daily = figures.oee_daily_figure(_oee_rows())
    assert [t.name for t in daily.data] == ["L1", "L2"]
    assert daily.data[0].y[0] == pytest.approx(100 * 0.9 * 0.8 * 0.95)
    losses = pd.DataFrame(
        {
            "reason": ["jam", "setup"],
            "duration_s": [7200.0, 3600.0],
            "cumulative_share": [2 / 3, 1.0],
        }
    )
    pareto = figures.pareto_figure(losses)
    assert list(pareto.data[0].y) == [2.0, 1.0]
    assert pareto.data[1].yaxis == "y2" and pareto.data[1].y[-1] == pytest.approx(100.0)


def test_readings_get_one_panel_per_signal_and_no_future() -> None:
    ts = pd.date_range("2026-10-01", periods=4, freq="h", tz="UTC")
    readings = pd.DataFrame(
        {"signal": ["a"] * 4 + ["b"] * 4, "ts": list(ts) * 2, "value": np.arange(8.0)}
    )
    signals = pd.DataFrame({"signal": ["a", "b", "c"], "unit": ["bar", "mm/s", "A"]})
    fig = figures.readings_figure(readings, signals)
    assert [t.name for t in fig.data] == ["a", "b"]  # no empty panel for 'c'
    assert fig.layout.yaxis2.title.text == "b<br>(mm/s)"
    now = pd.Timestamp("2026-11-01", tz="UTC")
    latest = pd.Timestamp("2026-10-20", tz="UTC")
    assert figures.readings_window(latest, now, 7) == (latest - pd.Timedelta(days=7), now)
    future = pd.Timestamp("2030-01-01", tz="UTC")
    assert figures.readings_window(future, now, 7)[0] == now - pd.Timedelta(days=7)
    assert figures.readings_window(None, now, 30)[0] == now - pd.Timedelta(days=30)


def test_health_and_rul_figures() -> None:
    ts = pd.date_range("2026-10-01", periods=5, freq="h", tz="UTC")
    scores = pd.DataFrame({"ts": ts, "score": [0, 1, 5, 6, 1.0], "threshold": 4.0})
    alerts = pd.DataFrame({"start": [ts[2]], "end": [pd.NaT]})
    fig = figures.health_figure(scores, alerts)
    assert [t.name for t in fig.data] == ["anomaly score", "threshold"]
    assert len(fig.layout.shapes) == 1  # the open alert, shaded to the last score
    rul = figures.rul_figure({"rul_hours": 50.0, "rul_lower": 10.0, "rul_upper": 200.0})
    bar = rul.data[0].error_x
    assert list(bar.array) == [150.0] and list(bar.arrayminus) == [40.0]


def test_forecast_fans_bands_and_pairs() -> None:
    periods = pd.date_range("2026-11-02", periods=4, freq="W-MON")
    forecast = pd.DataFrame(
        {
            "item": "RM-1",
            "location": "DC",
            "period_start": periods,
            "mean": 10.0,
            "q50": 9.0,
            "q80": 12.0,
            "q90": 14.0,
            "q95": 15.0,
        }
    )
    history = pd.DataFrame(
        {"period_start": pd.date_range("2024-01-01", periods=100, freq="W-MON"), "quantity": 8.0}
    )
    fig = figures.fan_figure(forecast, history, periods=52)
    assert len(fig.data[0].x) == 52  # the recent history only
    bands = [t for t in fig.data if t.fill == "tonexty"]
    assert [next(iter(t.y)) for t in bands] == [15.0, 14.0, 12.0]
    assert sum(bool(t.showlegend) for t in bands) == 1
    both = pd.concat([forecast, forecast.assign(item="RM-2", mean=100.0)])
    assert [p.key for p in figures.forecast_pairs(both)] == ["RM-2@DC", "RM-1@DC"]
    assert figures.forecast_pairs(pd.DataFrame()) == []


def test_inspection_verdicts_and_localisation_maps(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "r1").mkdir(parents=True)
    inside = runs / "r1" / "0-a.png"
    inside.write_bytes(b"\x89PNG")
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG")
    frame = pd.DataFrame(
        {
            "asset": ["M1", "M1", "M1", "M2"],
            "ts": pd.date_range("2026-10-01", periods=4, freq="h", tz="UTC"),
            "characteristic": ["d", "d", "image", "image"],
            "verdict": ["pass", "fail", "fail", "pass"],
            "image": [None, None, "/img/a.png", "/img/b.png"],
            "map": [None, None, str(inside), str(outside)],
        }
    )
    summary = figures.verdict_summary(frame).set_index(["asset", "characteristic"])
    assert summary.loc[("M1", "d"), "failed"] == 1
    assert summary.loc[("M1", "d"), "fail_rate"] == pytest.approx(0.5)
    images = figures.image_verdicts(frame)
    assert list(images["name"]) == ["b.png", "a.png"]  # newest first
    assert figures.map_file(frame, str(inside), runs) == inside.resolve()
    assert figures.map_file(frame, str(outside), runs) is None  # named, but not a run's
    assert figures.map_file(frame, "/etc/passwd", runs) is None  # not named at all
    assert figures.image_verdicts(pd.DataFrame()).empty
    assert figures.verdict_summary(pd.DataFrame()).empty


def test_the_gantt_shades_breakdowns_of_the_shown_machines_only() -> None:
    t0 = pd.Timestamp("2026-11-02 06:00", tz="UTC")
    hour = pd.Timedelta(hours=1)
    ops = pd.DataFrame(
        {
            "order": ["MO-1", "MO-2"],
            "item": ["P1", "P2"],
            "op_seq": [10, 10],
            "operation": ["saw", "cnc"],
            "machine": ["M2", "M1"],
            "start": [t0, t0],
            "end": [t0 + 2 * hour, t0 + 3 * hour],
            "setup_end": [t0, t0 + hour],
        }
    )
    breakdowns = (("M1", t0 - hour, t0), ("OTHER-SITE", t0, t0 + hour))
    fig = figures.gantt(ops, breakdowns, "s1")
    down = next(t for t in fig.data if t.name == "unavailable")
    assert list(down.y) == ["M1"]
    assert list(fig.layout.yaxis.categoryarray) == ["M2", "M1"]  # the first machine on top
    assert {t.name for t in fig.data} >= {"P1", "P2", "changeover"}
