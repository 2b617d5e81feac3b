"""Verdicts on alerts and work-order outcomes: stored append-only, validated, counted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from shopfloor.errors import InputError, NotFoundError
from shopfloor.lake import Lake
from shopfloor.schema import TABLES
from shopfloor.workflows import feedback
from shopfloor.workflows.ingest import ingest

ASSETS = (
    "asset,parent,level,name,site,line\n"
    "PLANT1,,site,Plant,PLANT1,\n"
    "M1,PLANT1,machine,press,PLANT1,L1\n"
    "M2,PLANT1,machine,saw,PLANT1,L1\n"
)
WORK_ORDERS = (
    "work_order,asset,kind,created,start,end,status,cost\n"
    "WO-1,M1,predictive,2026-10-01T08:00:00Z,2026-10-01T09:00:00Z,2026-10-01T11:00:00Z,done,500\n"
    "WO-2,M2,corrective,2026-10-02T08:00:00Z,,,open,\n"
)


def alert_rows(lake: Lake, rows: list[tuple[str, str, int]]) -> None:
    """Alerts (id, asset, condition model version) as the scoring workflow stores them."""
    now = pd.Timestamp("2026-10-01T12:00", tz="UTC")
    table = pa.Table.from_pylist(
        [
            {
                "alert_id": alert_id,
                "asset": asset,
                "start": pd.Timestamp("2026-10-01T07:00", tz="UTC"),
                "state": "open",
                "model": "condition",
                "model_version": version,
                "updated_at": now,
            }
            for alert_id, asset, version in rows
        ],
        schema=TABLES["alerts"].schema,
    )
    lake.write("alerts", table, operation="alerts")


@pytest.fixture
def plant(lake: Lake, write_file: Callable[[str, str], Path]) -> Lake:
    assert not ingest(lake, [write_file("assets.csv", ASSETS)], "assets").errors
    assert not ingest(lake, [write_file("wo.csv", WORK_ORDERS)], "work_orders").errors
    alert_rows(lake, [("A1", "M1", 1), ("A2", "M1", 1), ("A3", "M2", 1), ("B1", "M2", 2)])
    return lake


def test_verdicts_are_appended_and_the_latest_counts(plant: Lake) -> None:
    at = pd.Timestamp("2026-10-02T10:00", tz="UTC")
    row = feedback.record_feedback(plant, "A1", "FALSE", by="ana", note="sensor cable", at=at)
    assert row["verdict"] == "false" and row["model_version"] == 1 and row["asset"] == "M1"
    feedback.record_feedback(plant, "A1", "true", by="ben", at=at + pd.Timedelta(hours=1))
    history = feedback.feedback(plant, alert_id="A1")
    assert list(history["verdict"]) == ["true", "false"]  # newest first, nothing lost
    assert list(history["recorded_by"]) == ["ben", "ana"]
    current = feedback.verdicts(plant).set_index("alert_id")
    assert current.loc["A1", "verdict"] == "true" and current.loc["A1", "source"] == "operator"


def test_bad_feedback_is_refused_naming_the_field(plant: Lake) -> None:
    with pytest.raises(InputError, match="field 'alert_id': no alert 'nope'"):
        feedback.record_feedback(plant, "nope", "true", by="ana")
    with pytest.raises(InputError, match="field 'verdict': verdict must be one of"):
        feedback.record_feedback(plant, "A1", "maybe", by="ana")
    with pytest.raises(InputError, match="field 'by'"):
        feedback.record_feedback(plant, "A1", "true", by=" ")
    with pytest.raises(InputError, match="field 'note'"):
        feedback.record_feedback(plant, "A1", "true", by="ana", note="x" * 2001)
    assert plant.version("alert_feedback") is None  # nothing was written


def test_outcomes_judge_the_alert_they_answered(plant: Lake) -> None:
    row = feedback.record_outcome(
        plant,
        "WO-1",
        by="tech",
        fault_found=True,
        failure_mode="bearing",
        parts="6204 bearing",
        cost=480.0,
        downtime_h=2.0,
        alert_id="A2",
    )
    assert row["asset"] == "M1" and row["fault_found"] is True
    feedback.record_outcome(plant, "WO-2", by="tech", fault_found=False, alert_id="A3")
    stored = feedback.outcomes(plant)
    assert set(stored["work_order"]) == {"WO-1", "WO-2"}
    assert stored.set_index("work_order").loc["WO-1", "cost"] == 480.0
    current = feedback.verdicts(plant).set_index("alert_id")
    assert current.loc["A2", "verdict"] == "true" and current.loc["A2", "source"] == "work order"
    assert current.loc["A3", "verdict"] == "false"
    # An operator's word overrides the work order's on the same alert.
    feedback.record_feedback(plant, "A3", "true", by="ana", note="found it later")
    assert feedback.verdicts(plant).set_index("alert_id").loc["A3", "verdict"] == "true"


def test_bad_outcomes_are_refused_naming_the_field(plant: Lake) -> None:
    with pytest.raises(InputError, match="field 'work_order': no work order 'WO-9'"):
        feedback.record_outcome(plant, "WO-9", by="tech", fault_found=True)
    with pytest.raises(InputError, match="field 'cost'"):
        feedback.record_outcome(plant, "WO-1", by="tech", cost=-5.0)
    with pytest.raises(InputError, match="field 'downtime_h'"):
        feedback.record_outcome(plant, "WO-1", by="tech", downtime_h=float("nan"))
    with pytest.raises(InputError, match="field 'alert_id': no alert 'nope'"):
        feedback.record_outcome(plant, "WO-1", by="tech", alert_id="nope")
    with pytest.raises(InputError, match="alert 'A3' is on M2"):
        feedback.record_outcome(plant, "WO-1", by="tech", alert_id="A3")
    assert plant.version("work_order_outcomes") is None


def test_live_precision_per_model_version(plant: Lake) -> None:
    feedback.record_feedback(plant, "A1", "true", by="ana")
    feedback.record_feedback(plant, "A2", "false", by="ana")
    feedback.record_feedback(plant, "A3", "unknown", by="ana")
    feedback.record_feedback(plant, "B1", "true", by="ana")
    found = {(m.model, m.version): m.precision for m in feedback.model_precision(plant)}
    assert set(found) == {("condition", 1), ("condition", 2)}
    v1 = found[("condition", 1)]
    assert (v1.true, v1.false, v1.unknown, v1.precision) == (1, 1, 1, 0.5)
    per_asset = feedback.precision(feedback.verdicts(plant), "condition", 1)
    assert per_asset["M1"].precision == 0.5 and per_asset["M2"].judged == 0


def test_site_scoped_feedback_treats_other_sites_as_missing(plant: Lake) -> None:
    with pytest.raises(NotFoundError, match="no alert 'A1'"):
        feedback.feedback_in_sites(plant, frozenset({"PLANT2"}), "A1", "true", "", "eve")
    with pytest.raises(NotFoundError, match="no work order 'WO-1'"):
        feedback.outcome_in_sites(plant, frozenset({"PLANT2"}), "WO-1", "eve", fault_found=True)
    row = feedback.feedback_in_sites(plant, frozenset({"PLANT1"}), "A1", "true", "ok", "ana")
    assert row["recorded_by"] == "ana"
    assert feedback.outcomes_in_sites(plant, frozenset({"PLANT2"})).empty
