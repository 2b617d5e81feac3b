"""SPC and capability over the lake's inspections (workflows.spc, spc_plots)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.quality import capability, xbar_r_chart
from shopfloor.workflows.spc import capability_study, spc
from shopfloor.workflows.spc_plots import write_spc_html
from tests.workflows.inspections_lake import (
    SHIFT_AT,
    START,
    STEP,
    inspections_lake,
    measurement_frame,
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return inspections_lake(tmp_path_factory.mktemp("spc"))


def test_one_chart_per_asset_product_characteristic(lake: Lake) -> None:
    report = spc(lake)
    keys = [(s.asset, s.product, s.characteristic) for s in report.series]
    assert keys == [("M1", "P1", "length_mm"), ("M1", "P2", "length_mm"), ("M2", "P1", "weight_g")]
    p2 = report.series[1]
    # Each product against its own nominal: pooled, P1 and P2 would be 30 mm apart.
    assert p2.phase_one.mean == pytest.approx(80.0, abs=0.01)
    assert p2.chart == "Xbar-R" and p2.points == 120 and p2.baseline == 25 and p2.dropped == 0


def test_phase_one_limits_are_the_charts_of_the_baseline(lake: Lake) -> None:
    series = spc(lake, asset="M1", product="P2").series[0]
    values = measurement_frame().query("asset == 'M1' and product == 'P2'")["value"].to_numpy()
    direct = xbar_r_chart(values[:125].reshape(25, 5), remove_out_of_control=True)
    assert series.phase_one.mean == pytest.approx(direct.mean)
    assert series.phase_one.sigma == pytest.approx(direct.sigma)
    assert series.charted.location.upper[-1] == pytest.approx(direct.location.upper[0])


def test_the_planted_shift_raises_phase_two_alarms_where_it_starts(lake: Lake) -> None:
    report = spc(lake, asset="M1")
    shifted, steady = report.series
    summary = report.summary().set_index("product")
    shift_ts = START + STEP * SHIFT_AT
    late = shifted.violations().query("phase == 'II'")
    alarms = late["ts"]
    # A 3-sigma shift of the mean is 6.7 sigma of a subgroup mean of 5: the first subgroup
    # wholly after it goes beyond 3 sigma; before it, only chance hits of the run rules.
    assert shift_ts <= alarms[alarms >= shift_ts].min() <= shift_ts + STEP * 10
    # A chance pattern fires at every point it lasts: count episodes, not points.
    early = np.unique(late.loc[alarms < shift_ts, "point"].to_numpy())
    episodes = 0 if early.size == 0 else 1 + np.count_nonzero(np.diff(early) > 1)
    assert episodes <= 2
    v = shifted.violations()
    assert set(v["phase"]) <= {"I", "II"} and (v["rule"] == "WE1").any()
    assert summary.loc["P1", "alarms_phase_two"] >= 35  # most of the 40 shifted subgroups
    assert summary.loc["P2", "alarms_phase_two"] <= 3  # in control: chance hits only
    assert steady.rules.rule_set == "western_electric"


def test_individuals_nelson_and_a_baseline_by_time(lake: Lake) -> None:
    until = START + STEP * 100
    report = spc(
        lake, subgroup_size=1, rule_set="nelson", baseline_until=until, product="P1", asset="M1"
    )
    series = report.series[0]
    assert series.chart == "I-MR" and series.baseline == 100 and series.points == 600
    assert series.rules.rule_set == "nelson" and len(series.rules.hits) == 8
    rules = set(series.violations()["rule"])
    assert "N2" in rules  # nine in a row above the center after the shift


def test_a_short_window_and_the_trailing_partial_subgroup(lake: Lake) -> None:
    report = spc(lake, asset="M1", product="P2", until=START + STEP * 203)
    series = report.series[0]
    assert series.points == 40 and series.dropped == 3


def test_capability_matches_the_analytics_and_skips_series_without_limits(lake: Lake) -> None:
    study = capability_study(lake)
    assert [r.product for r in study.rows] == ["P1", "P2"]
    assert study.skipped == ("M2/P1/weight_g: no specification limits",)
    values = measurement_frame().query("asset == 'M1' and product == 'P2'")["value"].to_numpy()
    direct = capability(values.reshape(-1, 5), lsl=80.0 - 0.12, usl=80.0 + 0.12)
    row = study.rows[1].result
    assert row.cpk.estimate == pytest.approx(direct.cpk.estimate)
    assert row.cp is not None and direct.cp is not None
    assert row.cp.lower == pytest.approx(direct.cp.lower)
    frame = study.frame().set_index("product")
    # The shift makes P1 worse overall (Ppk) than within subgroups (Cpk).
    assert frame.loc["P1", "ppk"] < frame.loc["P1", "cpk"] - 0.2
    assert frame.loc["P2", "cp"] == pytest.approx(2.0, rel=0.1)  # spec is +-6 sigma
    assert frame.loc["P2", "out_of_spec"] == 0.0


def test_the_latest_limits_of_a_series_count(tmp_path: Path) -> None:
    frame = measurement_frame().query("product == 'P2'").copy()
    frame.loc[frame.index[-1], ["lsl", "usl"]] = [79.0, 81.0]  # revised drawing
    study = capability_study(inspections_lake(tmp_path, frame))
    assert (study.rows[0].lsl, study.rows[0].usl) == (79.0, 81.0)


def test_html_charts(lake: Lake, tmp_path: Path) -> None:
    path = write_spc_html(spc(lake), tmp_path / "charts" / "spc.html")
    text = path.read_text(encoding="utf-8").replace("\\u002f", "/")  # JSON escapes "/"
    assert "M1 / P1 / length_mm (Xbar-R)" in text and "M2 / P1 / weight_g" in text
    assert text.count("<script") >= 3 and "cdn.plot.ly" not in text.split("<body>")[1][:200]


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"subgroup_size": 30}, "subgroup_size", "must be 1"),
        ({"baseline": 1}, "baseline", "at least 2"),
        ({"rule_set": "weco"}, "rule_set", "western_electric or nelson"),
        ({"asset": "M9"}, "inspections", "asset=M9"),
        ({"baseline_until": "yesterday-ish"}, "until", "cannot read"),
    ],
)
def test_bad_requests(lake: Lake, kwargs: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        spc(lake, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_an_empty_lake_says_what_to_ingest(tmp_path: Path) -> None:
    from shopfloor.config import Settings

    empty = Lake(tmp_path / "lake", Settings(lake=tmp_path / "lake"))
    with pytest.raises(InputError, match="ingest measurements into 'inspections'"):
        capability_study(empty)


def test_too_few_measurements_to_chart(tmp_path: Path) -> None:
    frame = measurement_frame(n=8)
    with pytest.raises(InputError, match="enough measurements"):
        spc(inspections_lake(tmp_path, frame))


def test_nan_and_inf_values_are_not_charted(tmp_path: Path) -> None:
    frame = measurement_frame().query("product == 'P2'").copy()
    frame.loc[frame.index[:5], "value"] = [np.nan, np.inf, -np.inf, np.nan, np.nan]
    # inf is quarantined by ingest (a reading must be finite); NaN is a missing value
    series = spc(inspections_lake(tmp_path, frame, quarantined=2)).series[0]
    assert series.points == 119 and series.dropped == 0
    assert np.isfinite(series.charted.location.statistic).all()
    assert isinstance(series.ts[0], np.datetime64) and pd.Timestamp(
        series.ts[0]
    ) > START.tz_localize(None)
