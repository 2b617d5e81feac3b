"""The closed loop on a demo plant with a planted sensor drift (issue 10, acceptance).

The condition model learns the plant's first week; then the plant is replayed into the
lake one simulated day at a time and drift is checked after each day.  The pressure
sensor of L1-M02 starts drifting at 00:00 on day 10 (0.2 bar a day): the check at the
end of that day must flag it (detection delay: one simulated day, 24 h, the granularity
of a daily check), and no check before must flag anything.  The drift leads to a
challenger, which is promoted only if it beats the champion on a held-out day: trained
on the drifted days it does; trained on a stale window before the drift it does not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from shopfloor.config import Settings
from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.schema import TABLES
from shopfloor.workflows import feedback, maintenance, model_loop
from tests.workflows.drift_lake import DAY, DRIFT, END, START, TRAINED_UNTIL, DriftLake, drift_lake

Reports = dict[pd.Timestamp, model_loop.DriftReport]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[DriftLake, Reports]:
    plant = drift_lake(tmp_path_factory.mktemp("drift"))
    reports: Reports = {}
    day = TRAINED_UNTIL
    while day < END:
        plant.replay(day, day + DAY)
        day += DAY
        reports[day] = model_loop.monitor_drift(plant.lake, until=day, backend="local")
    return plant, reports


def test_the_planted_drift_is_found_within_one_simulated_day(
    replayed: tuple[DriftLake, Reports],
) -> None:
    _, reports = replayed
    before = {end: r for end, r in reports.items() if end <= DRIFT.start}
    assert len(before) == 4  # Saturday, Sunday (idle), Monday, Tuesday
    for end, report in before.items():
        assert report.drifted_assets == (), f"false alarm on the day before {end}: {report}"
    working = [
        r for r in before.values() if any(f.recent_rows for a in r.assets for f in a.features)
    ]
    assert len(working) == 2  # the weekend has no running data: nothing to judge, no alarm
    weekend = reports[TRAINED_UNTIL + DAY]
    assert {f.status for a in weekend.assets for f in a.features} == {"insufficient"}

    flagged = [end for end, r in reports.items() if DRIFT.asset in r.drifted_assets]
    first = min(flagged)
    delay = first - DRIFT.start
    assert delay <= pd.Timedelta(hours=24), f"found after {delay}"
    report = reports[first]
    assert report.drifted_assets == (DRIFT.asset,)  # and on no other machine
    drifted = next(a for a in report.assets if a.asset == DRIFT.asset)
    pressure = next(f for f in drifted.features if f.feature == DRIFT.signal)
    assert pressure.status == "drift" and pressure.shift > 0
    assert pressure.psi >= 0.25 and pressure.ks >= 0.3
    assert any("pressure drifted" in reason for reason in drifted.reasons)
    # Every later day is flagged too: the drift goes on.
    assert all(DRIFT.asset in r.drifted_assets for end, r in reports.items() if end >= first)


def test_the_reference_is_the_data_the_model_learned(replayed: tuple[DriftLake, Reports]) -> None:
    plant, reports = replayed
    report = reports[END]
    champion = maintenance.registry(plant.lake).get("condition", 1)
    assert report.model.version == champion.version
    for asset in report.assets:
        # The snapshot the registry recorded: the first week, even though the lake has
        # grown since; its last `reference_days` (7) end with the week's last bucket.
        assert asset.reference.version == champion.training_data["readings"]
        assert asset.reference.end <= TRAINED_UNTIL
        assert asset.reference.start <= START + DAY


def test_drift_leads_to_a_challenger_promoted_only_if_better(
    replayed: tuple[DriftLake, Reports],
) -> None:
    plant, reports = replayed
    lake, report = plant.lake, reports[END]
    registry = maintenance.registry(lake)
    with pytest.raises(InputError, match="training window must end"):
        model_loop.propose_retraining(lake, report, train_end=END)
    # A challenger trained on a stale window (before the drift) is no better.
    stale = model_loop.propose_retraining(
        lake, report, train_start=START, train_end=START + 2 * DAY, backend="local"
    )
    assert stale.assets == (DRIFT.asset,) and stale.candidate.stage == "candidate"
    assert stale.evaluation.holdout_start == END - DAY  # later than both training windows
    assert not stale.evaluation.better
    kept = model_loop.promote_if_better(lake, stale)
    assert not kept.promoted and kept.model.stage == "candidate"
    assert "stays candidate" in kept.model.notes
    assert registry.get("condition").version == 1
    # Trained on the drifted days before the held-out day, it is better: promoted.
    fresh = model_loop.propose_retraining(lake, report, backend="local")
    assert (fresh.train_start, fresh.train_end) == (DRIFT.start, END - DAY)
    ev = fresh.evaluation
    assert ev.better and ev.challenger < ev.champion - ev.margin
    print(f"held-out NLL: champion {ev.champion:.3f}, challenger {ev.challenger:.3f}")
    made = model_loop.promote_if_better(lake, fresh)
    assert made.promoted and made.model.stage == "production"
    assert registry.get("condition").version == fresh.candidate.version
    assert registry.get("condition", 1).stage == "archived"
    assert registry.get("condition", stale.candidate.version).stage == "candidate"
    # The new model's reference is its own training window for the retrained machine,
    # the old one's for the others.
    again = model_loop.monitor_drift(lake, until=END, backend="local")
    windows = {a.asset: a.reference for a in again.assets}
    assert (windows[DRIFT.asset].start, windows[DRIFT.asset].end) == (DRIFT.start, END - DAY)
    assert windows["L1-M01"].end <= TRAINED_UNTIL
    # A proposal made against a champion that is no longer in production is not promoted.
    late = model_loop.promote_if_better(lake, stale)
    assert not late.promoted and "went into production" in late.reason


def _alerts(lake: Lake, asset: str, count: int, version: int) -> list[str]:
    """``count`` alerts of ``asset`` as condition model ``version`` raises them."""
    ids = [f"{asset}@2026100{i}T1000" for i in range(1, count + 1)]
    now = pd.Timestamp.now(tz="UTC")
    rows = [
        {
            "alert_id": i,
            "asset": asset,
            "start": pd.Timestamp("2026-10-05T10:00", tz="UTC"),
            "state": "open",
            "model": "condition",
            "model_version": version,
            "updated_at": now,
        }
        for i in ids
    ]
    schema = TABLES["alerts"].schema
    lake.write("alerts", pa.Table.from_pylist(rows, schema=schema), operation="alerts")
    return ids


def test_false_alarms_reported_by_operators_are_decay(
    replayed: tuple[DriftLake, Reports], tmp_path: Path
) -> None:
    plant, _ = replayed
    copy = tmp_path / "lake"
    shutil.copytree(plant.lake.path, copy)
    lake = Lake(copy, Settings(lake=copy))
    current = maintenance.registry(lake).get("condition").version
    ids = _alerts(lake, "L1-M03", 6, current)
    for alert_id in ids[:5]:
        feedback.record_feedback(lake, alert_id, "false", by="op", note="nothing found")
    feedback.record_feedback(lake, ids[5], "true", by="op")
    report = model_loop.monitor_drift(lake, name="condition", until=DRIFT.start, backend="local")
    mine = next(a for a in report.assets if a.asset == "L1-M03")
    assert (mine.precision.true, mine.precision.false) == (1, 5)
    assert mine.drifted and mine.reasons == ("live precision 17% of 6 judged alerts (< 50%)",)
    # Only the judged machine decayed (a retrained one may differ from its reference).
    assert all(not a.precision.judged for a in report.assets if a.asset != "L1-M03")
