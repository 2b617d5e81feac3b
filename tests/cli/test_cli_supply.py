"""`shopfloor supply ...` (its sub-app; main.py registers it as `supply`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopfloor.cli.supply_cmd import app
from shopfloor.demo_plant.supply import Supply
from shopfloor.lake import Lake
from tests.workflows.supply_lake import demo_supply_lake

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, Supply]:
    return demo_supply_lake(tmp_path_factory.mktemp("supply-cli"))


def test_suppliers_json(demo: tuple[Lake, Supply]) -> None:
    lake, supply = demo
    result = runner.invoke(
        app, ["suppliers", "--lake", str(lake.path), "--tolerance", "0.1", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["tolerance"] == 0.1 and payload["deliveries_version"] == 0
    rows = payload["suppliers"]
    assert [r["supplier"] for r in rows] == sorted(supply.deliveries["supplier"].unique())
    assert set(rows[0]) == {
        "supplier", "lines", "open_lines", "on_time", "in_full", "otif", "lead_time_mean_d",
        "lead_time_sd_d", "lead_time_p90_d", "quantity_accuracy",
    }  # fmt: skip
    received = supply.deliveries["received"].notna()
    assert sum(r["lines"] for r in rows) == received.sum()
    assert sum(r["open_lines"] for r in rows) == (~received).sum()
    assert all(0.0 <= r["otif"] <= r["on_time"] <= 1.0 for r in rows)


def test_suppliers_table(demo: tuple[Lake, Supply]) -> None:
    lake, _ = demo
    result = runner.invoke(app, ["suppliers", "--lake", str(lake.path)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "supplier scorecards" in result.stdout and "in full: exact quantity" in result.stdout
    assert "SUP-ACME" in result.stdout and "%" in result.stdout


def test_the_group_lists_its_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("suppliers", "forecast", "policy", "reorder"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["suppliers"], "error: field 'deliveries': the lake has no supplier deliveries yet: "
         "ingest it into 'deliveries'"),
        (["suppliers", "--tolerance", "1.5"],
         "error: field 'tolerance': must lie in [0, 1), not 1.5"),
        (["forecast"], "error: field 'demand': the lake has no demand yet: ingest it into "
         "'demand'"),
        (["forecast", "--horizon", "0"], "error: field 'horizon': must be at least 1, not 0"),
        (["forecast", "--backend", "dask"],
         "error: field 'backend': backend must be local or spark, not 'dask'"),
        (["policy", "--kind", "EOQ"], "error: field 'kind': must be one of sQ, sS, RS, not 'EOQ'"),
        (["policy", "--fill-rate", "1.2"], "error: field 'fill_rate': must lie in (0, 1), not 1.2"),
        (["policy", "--service-level", "0"],
         "error: field 'service_level': must lie in (0, 1), not 0"),
        (["policy", "--fill-rate", "0.9", "--service-level", "0.9"],
         "error: field 'service_level': give a fill rate or a service level, not both"),
        (["policy"], "error: field 'demand': the lake has no demand yet: ingest it into "
         "'demand'"),
        (["reorder"], "error: field 'policies': no inventory policy in the lake yet: run "
         "`shopfloor supply policy`"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    from shopfloor.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(["supply", *args, "--lake", str(tmp_path / "lake")])
    assert info.value.code == 2
    assert capsys.readouterr().err.strip() == message


def test_forecast_policy_reorder(demo: tuple[Lake, Supply]) -> None:
    lake, supply = demo
    where = ["--lake", str(lake.path)]
    series = len(supply.demand[["item", "location"]].drop_duplicates())
    result = runner.invoke(
        app, ["forecast", *where, "--horizon", "3", "--backend", "local", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["horizon"] == 3 and payload["period"] == "week"
    assert len(payload["series"]) == series and len(payload["rows"]) == 3 * series
    assert set(payload["series"][0]) == {
        "item", "location", "demand_class", "abc", "xyz", "model", "silence", "mean", "q90",
    }  # fmt: skip
    result = runner.invoke(app, ["forecast", *where, "--horizon", "2"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "demand forecast: 2 weeks from 2026-10-26" in result.stdout
    assert lake.sql("SELECT count(DISTINCT forecast_id) AS n FROM forecasts")["n"][0] == 2

    result = runner.invoke(
        app, ["policy", *where, "--kind", "sS", "--service-level", "0.9", "--horizon", "3",
              "--json"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["kind"] == "sS" and payload["target"] == {"kind": "csl", "level": 0.9}
    assert len(payload["policies"]) == series and payload["fallback_suppliers"] == []
    assert all(p["expected_csl"] >= 0.9 - 1e-9 for p in payload["policies"])
    result = runner.invoke(app, ["policy", *where, "--horizon", "3"], env={"COLUMNS": "140"})
    assert result.exit_code == 0, result.output
    assert "sQ policies for fill rate 95.0%" in result.stdout

    result = runner.invoke(app, ["reorder", *where, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    stored = lake.sql("SELECT DISTINCT policy_id, created_at FROM policies ORDER BY created_at")
    assert payload["policy_id"] == stored["policy_id"].iloc[-1]
    for order in payload["orders"]:
        assert order["quantity"] > 0 and order["position"] <= order["reorder_point"]
    result = runner.invoke(app, ["reorder", *where], env={"COLUMNS": "140"})
    assert result.exit_code == 0, result.output
    assert f"reorder now: {len(payload['orders'])} of {series} series" in result.stdout


@pytest.mark.slow
def test_suppliers_on_the_demo_plant(demo_plant) -> None:  # type: ignore[no-untyped-def]
    from shopfloor.workflows import supply as workflow

    lake, _ = demo_plant
    result = runner.invoke(app, ["suppliers", "--lake", str(lake.path), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["suppliers"]
    assert {r["supplier"] for r in rows} == {"SUP-ACME", "SUP-BOLT", "SUP-CAST", "SUP-DYNA"}
    # The workflows the next commands build on read the same lake.
    weekly = workflow.demand_matrix(lake)
    assert weekly.n_periods >= 104 and not (weekly.values < 0).any()
    assert workflow.inventory_position(lake).missing_items == ()
