"""`shopfloor energy report | power` and `benchmark steel-energy` through the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from shopfloor.lake import Lake
from tests.workflows.supply_lake import ingest_csv

ASSETS = """asset,parent,level,name,site,line
S1,,site,Site,S1,
M1,S1,machine,saw,S1,L1
M2,S1,machine,pack,S1,L1
"""
# M1 measures current only; M2 also has a power meter in W, which wins over its current.
SIGNALS = """asset,signal,unit,kind,lower,upper,period_s
M1,motor_current,A,current,0,120,60
M2,motor_current,A,current,0,120,60
M2,active_power,W,power,0,100000,60
"""
EVENTS = """asset,start,end,kind,code
M1,2026-11-02T06:00:00Z,2026-11-02T08:00:00Z,state,running
M1,2026-11-02T08:00:00Z,2026-11-02T09:00:00Z,state,starved
M2,2026-11-02T06:00:00Z,2026-11-02T09:00:00Z,state,running
"""
PRODUCTION = """asset,start,end,product,order,good,scrap,ideal_cycle_s
M1,2026-11-02T06:00:00Z,2026-11-02T07:00:00Z,P1,O1,60,0,50
M1,2026-11-02T07:00:00Z,2026-11-02T09:00:00Z,P2,O2,100,2,50
M2,2026-11-02T06:00:00Z,2026-11-02T07:00:00Z,P1,O1,58,1,50
M2,2026-11-02T07:00:00Z,2026-11-02T09:00:00Z,P2,O2,99,0,50
"""
CURRENT_KW = math.sqrt(3) * 400 * 0.85 / 1000  # kW per ampere with the default settings


def _readings() -> str:
    lines = ["asset,signal,ts,value"]
    for minute in range(180):
        hour, rest = divmod(minute, 60)
        ts = f"2026-11-02T{6 + hour:02d}:{rest:02d}:00Z"
        lines.append(f"M1,motor_current,{ts},{50.0 if minute < 120 else 10.0}")
        lines.append(f"M2,motor_current,{ts},99.0")
        lines.append(f"M2,active_power,{ts},20000")
    lines.append("M1,motor_current,2026-11-02T07:30:30Z,500")  # out of range: not energy
    return "\n".join(lines) + "\n"


@pytest.fixture
def energy_lake(lake: Lake) -> Lake:
    for table, text in (
        ("assets", ASSETS),
        ("signals", SIGNALS),
        ("events", EVENTS),
        ("production", PRODUCTION),
        ("readings", _readings()),
    ):
        ingest_csv(lake, table, text, table)
    return lake


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from shopfloor.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


def test_report_by_line_and_product_json(
    energy_lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(energy_lake.path)
    code, out, _ = _run(["energy", "report", "--by", "line", "--lake", lake, "--json"], capsys)
    assert code == 0
    payload = json.loads(out)
    m1 = (2 * 50.0 + 1 * 10.0) * CURRENT_KW  # kWh over 3 h
    m2 = 3 * 20.0
    assert payload["by"] == "line" and payload["currency"] == "EUR"
    assert payload["total_kwh"] == pytest.approx(m1 + m2, rel=1e-6)
    assert payload["good"] == 58 + 99  # parts leaving the line at M2
    [line] = payload["rows"]
    assert line["line"] == "L1" and line["kwh_per_good"] == pytest.approx((m1 + m2) / 157)
    assert 0.0485 * (m1 + m2) <= payload["cost"] <= 0.06603 * (m1 + m2)
    code, out, _ = _run(["energy", "report", "--by", "product", "--lake", lake, "--json"], capsys)
    rows = {r["product"]: r for r in json.loads(out)["rows"]}
    assert rows["P1"]["good"] == 58 and rows["P2"]["good"] == 99
    assert rows["P1"]["kwh"] + rows["P2"]["kwh"] == pytest.approx(m1 + m2, rel=1e-6)
    code, out, _ = _run(["energy", "report", "--lake", lake], capsys)
    assert code == 0 and "M1" in out and "kWh per good part" in out


def test_power_json(energy_lake: Lake, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["energy", "power", "--lake", str(energy_lake.path), "--json"], capsys)
    assert code == 0
    rows = {r["asset"]: r for r in json.loads(out)}
    assert rows["M1"]["running_kw"] == pytest.approx(50.0 * CURRENT_KW)
    assert rows["M1"]["idle_kw"] == pytest.approx(10.0 * CURRENT_KW)
    assert rows["M2"]["running_kw"] == pytest.approx(20.0)  # the meter, not 99 A
    assert rows["M2"]["idle_kw"] is None  # never idle: NaN becomes null


def test_bad_input_exits_2_with_one_line(
    lake: Lake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["energy", "report", "--by", "shift", "--lake", str(lake.path)], capsys)
    assert code == 2 and "field 'by'" in err and err.count("\n") == 1
    code, _, err = _run(["energy", "power", "--lake", str(lake.path)], capsys)
    assert code == 2 and "energy.power_signal" in err and err.count("\n") == 1
    missing = tmp_path / "Steel_industry_data.csv"
    code, _, err = _run(["benchmark", "steel-energy", "--data", str(missing), "--json"], capsys)
    assert code == 2 and str(missing) in err and err.count("\n") == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("date,Usage_kWh,Load_Type\n01/01/2018 00:15,3.1,Light_Load\nsoon,3,Light_Load\n")
    code, _, err = _run(["benchmark", "steel-energy", "--data", str(bad)], capsys)
    assert code == 2 and "row 2" in err and "field 'date'" in err and "bad.csv" in err
