"""Planning on the lake: the problem built from the tables, plans stored, repairs.

A small hand-made lake checks every rule of the problem build exactly; the shared 30-day
demo plant (``tests/conftest.py``) checks the whole loop at plant size.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from shopfloor.config import PlanningSettings, Settings
from shopfloor.errors import InputError, ModelError
from shopfloor.lake import Lake
from shopfloor.planning.calendar import interval_minutes
from shopfloor.planning.checker import check_schedule
from shopfloor.planning.problem import (
    Alternative,
    Assignment,
    Downtime,
    Job,
    Operation,
    Problem,
)
from shopfloor.planning.schedule import Schedule
from shopfloor.workflows import maintenance
from shopfloor.workflows import planning as workflow
from shopfloor.workflows.ingest import ingest
from shopfloor.workflows.planning import OperationRef, PlanningProblem
from tests.conftest import DEMO_END

WriteFile = Callable[[str, str | bytes], Path]
H = 60
DAY = 24 * H
ORIGIN = "2026-11-02T00:00:00+00:00"  # a Monday: the default calendar opens at 06:00

ROUTINGS = """item,op_seq,operation,machine,processing_s,setup_s,min_lag_s
A,10,saw,M1,60,600,120
A,20,press,M1,30,,
A,20,press,M2,36,300,
B,10,saw,M1,90,1200,60.5
B,20,press,M2,45,0,
"""
ORDERS = """order,item,quantity,release,due,priority,status
O1,A,60,2026-11-01T00:00:00+00:00,2026-11-02T12:00:00+00:00,2.5,released
O2,B,40,2026-11-02T07:30:10+00:00,2026-11-01T12:00:00+00:00,0.4,planned
O3,A,20,,2026-11-04T00:00:00+00:00,,planned
O4,B,10,2026-10-20T00:00:00+00:00,2026-10-21T00:00:00+00:00,1,done
O5,B,10,2026-11-02T00:00:00+00:00,2026-11-03T00:00:00+00:00,0,released
O6,B,10,2026-10-30T00:00:00+00:00,2026-11-03T00:00:00+00:00,1,running
"""
PRODUCTION = """asset,start,end,product,order,good,scrap,ideal_cycle_s
M1,2026-11-01T10:00:00+00:00,2026-11-01T11:00:00+00:00,A,O1,60,1,60
M2,2026-11-01T11:00:00+00:00,2026-11-01T12:00:00+00:00,A,O1,20,0,36
M1,2026-10-31T10:00:00+00:00,2026-10-31T11:00:00+00:00,B,O6,10,0,90
M2,2026-10-31T11:00:00+00:00,2026-10-31T12:00:00+00:00,B,O6,10,0,45
M1,2026-11-02T10:00:00+00:00,2026-11-02T11:00:00+00:00,A,O3,20,0,60
"""
WORK_ORDERS = """work_order,asset,kind,created,start,end,status
W1,M2,preventive,2026-10-30T00:00:00+00:00,2026-11-02T08:00:00+00:00,2026-11-02T10:00:00+00:00,open
W2,M9,preventive,2026-10-30T00:00:00+00:00,2026-11-02T08:00:00+00:00,2026-11-02T10:00:00+00:00,open
W3,M1,corrective,2026-11-01T00:00:00+00:00,2026-11-02T13:00:00+00:00,,in_progress
W4,M1,corrective,2026-10-01T00:00:00+00:00,2026-11-02T14:00:00+00:00,2026-11-02T15:00:00+00:00,done
W5,M2,preventive,2026-10-30T00:00:00+00:00,2026-12-01T08:00:00+00:00,2026-12-01T10:00:00+00:00,open
"""


def small_lake(root: Path, write_file: WriteFile, orders: str = ORDERS) -> Lake:
    lake = Lake(root, Settings(lake=root))
    for table, text in [
        ("routings", ROUTINGS),
        ("orders", orders),
        ("production", PRODUCTION),
        ("work_orders", WORK_ORDERS),
    ]:
        summary = ingest(lake, [write_file(f"{root.name}-{table}.csv", text)], table)
        assert summary.quarantined == 0, (table, summary)
    return lake


@pytest.fixture
def small(tmp_path: Path, write_file: WriteFile) -> Lake:
    return small_lake(tmp_path / "small", write_file)


def test_problem_from_orders_routings_progress_and_work_orders(small: Lake) -> None:
    built = workflow.build_problem(small, origin=ORIGIN, horizon_days=3)
    problem = built.problem
    assert built.origin == pd.Timestamp(ORIGIN)
    assert built.machines == ("M1", "M2")  # M9 has a work order but no routing
    # O4 is done; O6's counts show both its steps made: left out and reported.
    assert built.orders == ("O1", "O2", "O3", "O5") and built.complete == ("O6",)
    assert built.items == ("A", "B", "A", "B")
    o1, o2, o3, o5 = problem.jobs
    # O1: 60 of 60 sawn (step 10 done); 20 pressed on M2 -> 40 left on step 20.
    assert built.operations[0] == (OperationRef(20, "press"),)
    assert o1.operations == (Operation((Alternative(0, 20, 0), Alternative(1, 24, 5)), True, 0),)
    assert (o1.release, o1.due, o1.weight, o1.family) == (0, 12 * H, 3, "A")  # 2.5 -> 3
    # O2: release 07:30:10 -> minute 451 (up); due a day before the origin -> negative.
    assert (o2.release, o2.due, o2.weight) == (451, -12 * H, 1)  # 0.4 -> 1, never 0
    assert o2.operations == (
        Operation((Alternative(0, 60, 20),), True, 2),  # 60.5 s lag -> 2 minutes
        Operation((Alternative(1, 30, 0),), True, 0),
    )
    # O3's production after the origin does not count; no priority weighs 1.
    assert [op.alternatives[0].duration for op in o3.operations] == [20, 10]
    assert (o3.release, o3.weight) == (0, 1)
    assert o5.weight == 0  # priority 0: lateness is free
    assert problem.horizon == 3 * DAY and problem.name == "lake@2026-11-02T00:00Z"
    assert problem.initial_family == ((0, "A"), (1, "A"))  # last item before the origin
    maintenance_windows = [d for d in problem.downtimes if d.reason.startswith("maintenance")]
    assert maintenance_windows == [
        Downtime(1, 8 * H, 10 * H, "maintenance: M2 (work order W1)"),
        Downtime(0, 13 * H, 17 * H, "maintenance: M1 (work order W3)"),  # no end: 4 h
    ]
    off = [
        (d.start, d.end) for d in problem.downtimes if d.machine == 0 and d.reason == "off shift"
    ]
    assert off == [(0, 6 * H), (22 * H, DAY + 6 * H), (DAY + 22 * H, 2 * DAY + 6 * H),
                   (2 * DAY + 22 * H, 3 * DAY)]  # fmt: skip
    frame = built.downtime_frame()
    assert frame.iloc[0].to_dict() == {
        "machine": "M1",
        "start": pd.Timestamp(ORIGIN),
        "end": pd.Timestamp("2026-11-02T06:00Z"),
        "reason": "off shift",
    }


def test_settings_shape_the_problem(small: Lake) -> None:
    settings = Settings(
        lake=small.path,
        planning=PlanningSettings(
            working_days=["mon"],
            working_hours=["00:00-24:00"],
            may_span_break=False,
            maintenance_window_h=1,
        ),
    )
    built = workflow.build_problem(Lake(small.path, settings), origin=ORIGIN, horizon_days=2)
    assert all(not op.may_span_break for _, _, op in built.problem.operations())
    off = {(d.start, d.end) for d in built.problem.downtimes if d.reason == "off shift"}
    assert off == {(DAY, 2 * DAY)}  # Tuesday is not a working day
    w3 = [d for d in built.problem.downtimes if "W3" in d.reason]
    assert [(d.start, d.end) for d in w3] == [(13 * H, 14 * H)]


def test_plan_stores_a_checked_schedule_and_reads_it_back(small: Lake) -> None:
    result = workflow.plan(small, origin=ORIGIN, horizon_days=3, time_limit_s=5, workers=1)
    assert result.schedule.feasible and result.schedule.status in ("optimal", "feasible")
    stored = workflow.latest_schedule(small)
    assert stored is not None and stored.schedule_id == result.schedule_id
    assert stored.parent_id is None and stored.reason == "plan"
    assert stored.origin == pd.Timestamp(ORIGIN) and stored.objective == "mix"
    assert len(stored.rows) == result.planning.problem.n_operations == 7
    assert stored.orders == ("O1", "O2", "O3", "O5")
    rebuilt = workflow.build_problem(small, origin=stored.origin, horizon_days=3)
    back = rebuilt.assignments_from(stored.rows)
    key = lambda a: (a.job, a.op)  # noqa: E731
    assert sorted(back, key=key) == sorted(result.schedule.assignments, key=key)
    assert check_schedule(rebuilt.problem, back).feasible
    # Each order's summary row and each machine's load.
    assert list(result.orders["order"]) == ["O1", "O2", "O3", "O5"]
    assert (result.orders["late_min"] >= 0).all()
    loads = result.utilisation.set_index("machine")
    # Three days minus 6 + 8 + 8 + 2 hours off shift and the 2-hour work order W1.
    assert loads.loc["M2", "available_min"] == 3 * DAY - 24 * H - 2 * H
    assert ((loads["utilisation"] >= 0) & (loads["utilisation"] <= 1)).all()


def test_orders_without_routing_fail_in_one_line_and_store_nothing(
    tmp_path: Path, write_file: WriteFile
) -> None:
    bad = ORDERS + (
        "O8,ZZ,5,2026-11-02T00:00:00+00:00,2026-11-03T00:00:00+00:00,1,planned\n"
        "O9,YY,5,2026-11-02T00:00:00+00:00,2026-11-03T00:00:00+00:00,1,released\n"
    )
    lake = small_lake(tmp_path / "bad", write_file, bad)
    with pytest.raises(InputError) as info:
        workflow.plan(lake, origin=ORIGIN, time_limit_s=5)
    message = str(info.value)
    assert message == (
        "field 'routings': no routing for 2 open order(s): O8 (item ZZ), O9 (item YY)"
    )
    assert lake.version("schedules") is None and workflow.latest_schedule(lake) is None


def test_a_plan_that_cannot_fit_stores_nothing(tmp_path: Path, write_file: WriteFile) -> None:
    big = ORDERS.replace("O3,A,20,", "O3,A,20000,")  # 20000 min of sawing
    lake = small_lake(tmp_path / "big", write_file, big)
    with pytest.raises(InputError, match=r"horizon|availability window"):
        workflow.plan(lake, origin=ORIGIN, horizon_days=1, time_limit_s=5, workers=1)
    assert lake.version("schedules") is None


def test_a_schedule_the_checker_refuses_is_not_stored(
    small: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shopfloor.planning.checker import Violation

    class Broken:
        def __init__(self, **_: object) -> None:
            pass

        def solve(self, problem: Problem) -> Schedule:
            return Schedule(
                problem.name, "mix", (), None, None, None, None, "feasible", 0.0, False,
                (Violation("overlap", 0, 0, 0, "two at once"),),
            )  # fmt: skip

    monkeypatch.setattr(workflow, "CpSatScheduler", Broken)
    with pytest.raises(InputError, match="no schedule: none found within 0 s"):
        workflow.plan(small, origin=ORIGIN, horizon_days=3)

    class Unchecked(Broken):
        def solve(self, problem: Problem) -> Schedule:
            broken = super().solve(problem)
            from dataclasses import replace

            return replace(broken, assignments=(Assignment(0, 0, 0, 0, 1),))

    monkeypatch.setattr(workflow, "CpSatScheduler", Unchecked)
    with pytest.raises(ModelError, match=r"fails the independent check .* two at once"):
        workflow.plan(small, origin=ORIGIN, horizon_days=3)
    assert small.version("schedules") is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"objective": "profit"}, "objective"),
        ({"time_limit_s": 0}, "time_limit"),
        ({"workers": 0}, "workers"),
        ({"origin": "yesterday-ish"}, "origin"),
        ({"horizon_days": 0}, "horizon_days"),
    ],
)
def test_bad_plan_arguments_name_the_field(
    small: Lake, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InputError, match=f"field '{field}'"):
        workflow.plan(small, **kwargs)  # type: ignore[arg-type]


def test_an_empty_lake_says_what_is_missing(lake: Lake) -> None:
    with pytest.raises(InputError, match="no orders yet"):
        workflow.build_problem(lake)
    with pytest.raises(InputError, match="no schedule in the lake yet"):
        workflow.load_schedule(lake)
    assert workflow.latest_schedule(lake) is None


def test_export_round_trips_through_the_shopfloor_format(small: Lake, tmp_path: Path) -> None:
    from shopfloor.planning.instances import read_instance

    built = workflow.build_problem(small, origin=ORIGIN, horizon_days=3)
    path = workflow.write_problem(built, tmp_path / "sub" / "problem.json")
    again = read_instance(path)
    assert again == built.problem
    assert '"name": "20 press"' in path.read_text(encoding="utf-8")
    assert '"origin": "2026-11-02T00:00:00+00:00"' in path.read_text(encoding="utf-8")


# --- repair ------------------------------------------------------------------------------


def test_reschedule_for_a_breakdown_and_a_rush_order(small: Lake, write_file: WriteFile) -> None:
    first = workflow.plan(small, origin=ORIGIN, horizon_days=3, time_limit_s=5, workers=1)
    # A new order arrives after the plan.
    rush = ORDERS.splitlines()[0] + "\nO7,B,20,,2026-11-02T20:00:00+00:00,3,released\n"
    ingest(small, [write_file("rush.csv", rush)], "orders")
    result = workflow.reschedule_lake(
        small,
        machine_down=("M1", "2026-11-02T07:00:00Z", "2h"),
        rush_orders=["O7"],
        now="2026-11-02T06:30:00Z",
        time_limit_s=5,
        workers=1,
    )
    assert result.parent_id == first.schedule_id != result.schedule_id
    assert result.reason == "reschedule: M1 down 2026-11-02 07:00 for 2 h; rush O7"
    planning = result.planning
    assert planning.orders[-1] == "O7"
    breakdown = [d for d in planning.problem.downtimes if d.reason == "breakdown"]
    assert [(d.machine, d.start, d.end) for d in breakdown] == [(0, 7 * H, 9 * H)]
    back = planning.assignments_from(result.rows)
    assert len(back) == planning.problem.n_operations == 9
    assert check_schedule(planning.problem, back).feasible
    new = result.moves[result.moves["order"] == "O7"]
    assert set(new["change"]) == {"new"} and new["old_machine"].isna().all()
    assert set(result.moves["new_machine"]) <= {"M1", "M2"}
    assert 0.0 <= result.kept_share <= 1.0
    stored = workflow.load_schedule(small)
    assert (stored.schedule_id, stored.parent_id, stored.reason) == (
        result.schedule_id,
        first.schedule_id,
        result.reason,
    )
    assert workflow.load_schedule(small, first.schedule_id).reason == "plan"  # kept


def test_a_repair_of_a_repair_keeps_the_first_breakdown(small: Lake) -> None:
    workflow.plan(small, origin=ORIGIN, horizon_days=3, time_limit_s=5, workers=1)
    first = workflow.reschedule_lake(
        small, machine_down=("M1", "2026-11-02T07:00Z", "2h"), now="2026-11-02T06:30Z",
        time_limit_s=5, workers=1,
    )  # fmt: skip
    second = workflow.reschedule_lake(
        small, machine_down=("M2", "2026-11-02T12:00Z", "1h"), now="2026-11-02T11:00Z",
        time_limit_s=5, workers=1,
    )  # fmt: skip
    assert second.parent_id == first.schedule_id
    downs = {(d.machine, d.start, d.end) for d in second.planning.problem.downtimes
             if d.reason == "breakdown"}  # fmt: skip
    assert downs == {(0, 7 * H, 9 * H), (1, 12 * H, 13 * H)}
    stored = workflow.load_schedule(small)
    assert stored.breakdowns == (
        ("M1", pd.Timestamp("2026-11-02T07:00Z"), pd.Timestamp("2026-11-02T09:00Z")),
        ("M2", pd.Timestamp("2026-11-02T12:00Z"), pd.Timestamp("2026-11-02T13:00Z")),
    )
    back = second.planning.assignments_from(second.rows)
    assert check_schedule(second.planning.problem, back).feasible
    assert workflow.load_schedule(small, first.schedule_id).breakdowns[0][0] == "M1"


def test_a_changeover_paused_over_a_break_is_stored_with_its_real_end() -> None:
    op = Operation((Alternative(0, 30, 20),), may_span_break=True)
    problem = Problem((Job((op,), name="O"),), 1, (Downtime(0, 60, 120),), horizon=600)
    origin = pd.Timestamp(ORIGIN)
    planning = PlanningProblem(
        problem, origin, ("O",), ("A",), ((OperationRef(10, "saw"),),), ("M1",)
    )
    # 10 minutes of changeover, the break, 10 more, then 30 of processing.
    a = Assignment(0, 0, 0, 50, 160, 20)
    assert check_schedule(problem, [a]).feasible
    frame = planning.assignments_frame([a])
    assert frame.loc[0, "setup_end"] == origin + pd.Timedelta(minutes=130)
    assert planning.assignments_from(frame) == (a,)


def test_reschedule_faults_are_input_errors(small: Lake) -> None:
    with pytest.raises(InputError, match="no schedule in the lake yet"):
        workflow.reschedule_lake(small, rush_orders=["O1"])
    workflow.plan(small, origin=ORIGIN, horizon_days=3, time_limit_s=5, workers=1)
    now = "2026-11-02T06:00Z"
    cases: list[tuple[dict[str, object], str]] = [
        ({}, "nothing to repair"),
        ({"rush_orders": ["O1"]}, "O1 is already in schedule"),
        ({"rush_orders": ["O4"]}, "no open order O4"),
        ({"rush_orders": ["nope"]}, "no open order nope"),
        ({"machine_down": ("M7", now, "1h")}, "machine 'M7' is not in schedule"),
        ({"machine_down": ("M1", now, "soon")}, "field 'for'.*cannot read 'soon'"),
        ({"machine_down": ("M1", now, "-1h")}, "not a positive duration"),
        ({"machine_down": ("M1", "then", "1h")}, "field 'at'"),
        ({"machine_down": ("M1", "2026-10-01", "1h")}, "ends before"),
    ]
    for kwargs, match in cases:
        with pytest.raises(InputError, match=match):
            workflow.reschedule_lake(small, now=now, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"outside schedule .*'s horizon"):
        workflow.reschedule_lake(small, machine_down=("M1", now, "1h"), now="2026-12-24")


def test_a_later_orders_file_supersedes_an_earlier_one(small: Lake, write_file: WriteFile) -> None:
    workflow.plan(small, origin=ORIGIN, horizon_days=3, time_limit_s=5, workers=1)
    header, *rows = ORDERS.splitlines()
    done = [row.rsplit(",", 1)[0] + ",done" for row in rows]
    ingest(small, [write_file("all-done.csv", "\n".join([header, *done]) + "\n")], "orders")
    with pytest.raises(InputError, match="no open orders to plan"):
        workflow.build_problem(small, origin=ORIGIN)
    with pytest.raises(InputError, match="is done since: nothing to repair"):
        workflow.reschedule_lake(small, machine_down=("M1", ORIGIN, "1h"), now=ORIGIN)


# --- the demo plant ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_plan(demo_plant):  # type: ignore[no-untyped-def]
    lake, _ = demo_plant
    return lake, workflow.plan(lake, origin=DEMO_END, time_limit_s=5, workers=2)


def _worked(start: int, end: int, breaks: tuple[tuple[int, int], ...]) -> int:
    return (end - start) - sum(max(0, min(end, b) - max(start, a)) for a, b in breaks)


def _inside(t: int, breaks: tuple[tuple[int, int], ...]) -> bool:
    return any(a <= t < b for a, b in breaks)


@pytest.mark.slow
def test_demo_plan_is_stored_and_passes_the_checker(demo_plan) -> None:  # type: ignore[no-untyped-def]
    lake, result = demo_plan
    planned: PlanningProblem = result.planning
    assert planned.origin == pd.Timestamp(DEMO_END, tz="UTC")
    stored = workflow.load_schedule(lake, result.schedule_id)
    assert len(stored.rows) == planned.problem.n_operations > 0
    rebuilt = workflow.build_problem(lake, origin=stored.origin)
    assert rebuilt.problem.jobs == planned.problem.jobs
    assert rebuilt.problem.downtimes == planned.problem.downtimes
    back = rebuilt.assignments_from(stored.rows)
    assert len(back) == rebuilt.problem.n_operations
    assert check_schedule(rebuilt.problem, back).feasible


@pytest.mark.slow
def test_demo_plan_respects_every_calendar_and_maintenance_downtime(demo_plan) -> None:  # type: ignore[no-untyped-def]
    lake, result = demo_plan
    problem = result.planning.problem
    reasons = {d.reason for d in problem.downtimes}
    assert "off shift" in reasons
    # The demo registers condition and RUL models: each machine's recommendation is a
    # 4-hour window ending at its latest safe date (or 4 hours after the origin).
    outlook = maintenance.rul(lake)
    origin = result.planning.origin
    width = pd.Timedelta(hours=lake.settings.planning.maintenance_window_h)
    for rec in outlook.recommendations:
        end = max(pd.Timestamp(rec.latest_safe), origin + width)
        span = interval_minutes(end - width, end, origin, problem.horizon)
        found = [
            (d.start, d.end) for d in problem.downtimes if d.reason == f"maintenance: {rec.asset}"
        ]
        assert found == ([span] if span else [])
    stored = workflow.load_schedule(lake, result.schedule_id).rows
    setup_ends = {
        (r["order"], r["op_seq"]): result.planning.minutes(r["setup_end"])
        for r in stored.to_dict("records")
    }
    for a in result.schedule.assignments:
        breaks = problem.breaks(a.machine)
        op = problem.jobs[a.job].operations[a.op]
        duration = next(alt.duration for alt in op.alternatives if alt.machine == a.machine)
        # The machine works exactly the changeover and the processing; what it is held
        # over a break adds no work, and only an operation allowed to may pause.
        assert _worked(a.start, a.end, breaks) == a.setup + duration
        if a.end > a.start:
            assert not _inside(a.start, breaks) and not _inside(a.end - 1, breaks)
        if not op.may_span_break:
            assert a.end - a.start == a.setup + duration
        # The stored end of the changeover is `setup` working minutes after the start.
        setup_end = setup_ends[
            (result.planning.orders[a.job], result.planning.operations[a.job][a.op].op_seq)
        ]
        assert _worked(a.start, setup_end, breaks) == a.setup
        assert a.setup == 0 or not _inside(setup_end - 1, breaks)


@pytest.mark.slow
def test_demo_utilisation_is_a_share_of_available_time(demo_plan) -> None:  # type: ignore[no-untyped-def]
    _, result = demo_plan
    loads = result.utilisation
    assert list(loads["machine"]) == list(result.planning.machines)
    assert ((loads["utilisation"] >= 0) & (loads["utilisation"] <= 1)).all()
    assert ((loads["setup_share"] >= 0) & (loads["setup_share"] <= 1)).all()
    assert (loads["busy_min"] > 0).any()
    assert (loads["available_min"] < result.planning.problem.horizon).all()  # nights, weekends
    assert (loads["busy_min"] - loads["setup_min"] >= 0).all()


@pytest.mark.slow
def test_a_second_plan_appends(demo_plan) -> None:  # type: ignore[no-untyped-def]
    lake, first = demo_plan
    before = lake.sql("SELECT schedule_id, count(*) AS n FROM schedules GROUP BY ALL")
    second = workflow.plan(lake, origin=DEMO_END, time_limit_s=5, workers=2)
    after = lake.sql("SELECT schedule_id, count(*) AS n FROM schedules GROUP BY ALL")
    assert set(after["schedule_id"]) == set(before["schedule_id"]) | {second.schedule_id}
    assert len(after) == len(before) + 1
    kept = workflow.load_schedule(lake, first.schedule_id)
    pd.testing.assert_frame_equal(
        kept.rows[["order", "op_seq", "machine", "start", "end"]].reset_index(drop=True),
        first.rows.sort_values(["machine", "start"])[
            ["order", "op_seq", "machine", "start", "end"]
        ].reset_index(drop=True),
        check_dtype=False,
    )
    latest = workflow.latest_schedule(lake)
    assert latest is not None and latest.schedule_id == second.schedule_id


@pytest.mark.slow
def test_demo_breakdown_repair(demo_plan) -> None:  # type: ignore[no-untyped-def]
    lake, _ = demo_plan
    before = workflow.load_schedule(lake)
    result = workflow.reschedule_lake(
        lake,
        machine_down=("L1-M03", "2026-11-02T08:00Z", "6h"),
        now="2026-11-02T09:00Z",
        time_limit_s=5,
        workers=2,
    )
    assert result.parent_id == before.schedule_id
    planning = result.planning
    back = planning.assignments_from(result.rows)
    assert check_schedule(planning.problem, back).feasible
    # What started before `now` and was not hit by the breakdown stayed exactly as it was.
    previous = planning.assignments_from(before.rows)
    now = planning.minutes(pd.Timestamp("2026-11-02T09:00Z"))
    down = planning.machines.index("L1-M03")
    lo, hi = planning.minutes(pd.Timestamp("2026-11-02T08:00Z")), now + 5 * H
    started = [
        a
        for a in previous
        if a.start < now and not (a.machine == down and a.start < hi and a.end > lo)
    ]
    assert set(started) <= set(back) and len(started) == result.frozen
    assert set(result.moves["change"]) <= {"machine", "sequence", "time", "new"}
