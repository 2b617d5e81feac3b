"""`shopfloor value`: the table, the JSON figures, and bad settings as exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopfloor.lake import Lake
from shopfloor.workflows.value import value_report
from tests.workflows.supply_lake import ingest_csv


def _run(args: list[str]) -> int:
    from shopfloor.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0)


def test_json_gives_the_workflows_figures(
    demo_week: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["value", "--lake", str(demo_week.path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    expected = value_report(demo_week)
    assert [lv["name"] for lv in payload["levers"]] == [lv.name for lv in expected.levers]
    assert [lv["status"] for lv in payload["levers"]] == ["measured"] * 4
    for got, lever in zip(payload["levers"], expected.levers, strict=True):
        assert got["money"] == pytest.approx(lever.money)
        assert got["metric"] == lever.metric and got["source"] == lever.source
    assert payload["annual_benefit"] == pytest.approx(expected.annual_benefit)
    assert payload["payback_months"] == pytest.approx(expected.payback_months)
    assert payload["currency"] == "USD" and payload["assumptions"]


def test_the_table_says_what_is_not_measured(
    lake: Lake, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    ingest_csv(
        lake,
        "events",
        "asset,start,end,kind,code\nM1,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,state,running\n",
        "events",
    )
    assert _run(["value", "--lake", str(lake.path)]) == 0
    out = capsys.readouterr().out
    assert out.count("not measured") >= 4
    assert "no failure in the history" in out and "no inventory policy" in out
    assert "never (the net is not positive)" in out
    assert "Investment = 0 monitored machines" in out


def test_a_bad_cost_setting_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPFLOOR_VALUE__HOLDING_RATE", "-0.1")
    assert _run(["value", "--lake", str(tmp_path / "lake")]) == 2
    err = capsys.readouterr().err
    assert "value.holding_rate" in err and err.count("\n") == 1
