"""The value report on the lake: what the analytics are worth, per lever, in money.

Reads the plant's own history and each model's measured performance, and hands them to
:mod:`shopfloor.twin.value` (the formulas; docs/value.md):

- **downtime** and **maintenance**: the stored alerts (``alerts``) backtested against the
  failures in ``events`` with :func:`~shopfloor.maintenance.alerting.evaluate_alerts`
  (an alert counts when raised between 7 days and ``maintenance.lead_time_h`` before
  the failure); failure downtime from the failure events, planned-repair downtime and
  the repair costs from ``work_orders`` (``value.repair_costs``);
- **scrap**: the SPC charts of :func:`~shopfloor.workflows.spc.spc` against the
  out-of-spec measurements of ``inspections``, and the counts of ``production``;
- **inventory**: the latest stored ``policies`` replayed on the last year of ``demand``
  against the mean stock on hand of the ``inventory`` snapshots over the same periods
  (:mod:`~shopfloor.workflows.policy_replay`).

A lever whose model or data is missing is reported as not measured, with the reason.
Nothing is written: the report is a read of the lake.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from shopfloor.config import Settings
from shopfloor.errors import InputError, ModelError, NotFoundError
from shopfloor.lake import Lake
from shopfloor.maintenance.alerting import evaluate_alerts
from shopfloor.schema import TABLES as SCHEMA_TABLES
from shopfloor.twin.value import (
    AlertBacktest,
    AssetScrap,
    FailureHistory,
    Lever,
    ScrapEvidence,
    ValueCosts,
    ValueReport,
    inventory_lever,
    maintenance_levers,
    nonconforming_caught,
    not_measured,
    scrap_lever,
    summarise,
)
from shopfloor.workflows import maintenance, views
from shopfloor.workflows.policy_replay import replay_stock
from shopfloor.workflows.spc import measurements, spc

__all__ = [
    "ASSUMPTIONS", "TABLES", "ValueReport", "value_report", "value_stamp", "value_view",
    "waterfall",
]  # fmt: skip

# An alert up to a week before a failure is its warning (evaluate_alerts' horizon); an
# SPC alarm up to a week before a nonconforming part is the warning of its drift.
LOOKBACK_H = 7 * 24.0
PLANNED_KINDS = ("preventive", "predictive")
# The Delta tables whose change changes the report (the server's cache key; the registry
# adds a stamp).  Not ``readings``: they only place the alerts' window, and a live plant
# appends them every few seconds, which would recompute the report on every request.
TABLES = (
    "events", "work_orders", "alerts", "inspections", "production", "inventory",
    "policies", "demand", "deliveries",
)  # fmt: skip
ASSUMPTIONS = (
    "Counts over a history are scaled to a year linearly (no seasonality, no growth).",
    "A failure alerted at least the lead time ahead becomes a planned repair with the "
    "history's mean planned downtime and cost; a missed failure stays as it was; every "
    "false alarm costs one planned repair. Preventive maintenance already done stays.",
    "Downtime is counted in machine hours at value.downtime_cost_per_hour; repair costs "
    "exclude lost production.",
    "A nonconforming part made at least value.spc_reaction_h after an SPC alarm on its "
    "asset and characteristic (within a week) could have been prevented.",
    "The inventory reduction is a one-off release of cash: only its yearly holding cost "
    "counts as a benefit.",
    "Models measured on the history they learned from are measured in sample, which "
    "flatters them; held-out windows measure them out of sample.",
    "Only measured levers count in the total; a lever not measured adds nothing.",
)


def _days(start: Any, end: Any) -> float:
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return 0.0
    return float((pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(days=1))


def _costs(lake: Lake, settings: Settings) -> tuple[ValueCosts, str]:
    value = settings.value
    machines = 0
    signals = lake.table("signals").to_pandas()
    if not signals.empty:
        machines = int(signals["asset"].nunique())
    investment = value.sensors_per_asset * machines + value.integration_cost + value.software_cost
    costs = ValueCosts(
        currency=value.currency,
        downtime_per_hour=value.downtime_cost_per_hour,
        scrap_per_part=value.scrap_cost_per_part,
        holding_rate=value.holding_rate,
        investment=investment,
        running_per_year=value.running_cost_per_year,
    )
    said = (
        f"Investment = {machines} monitored machines × {value.sensors_per_asset:,.0f} + "
        f"integration {value.integration_cost:,.0f} + software {value.software_cost:,.0f} "
        f"{value.currency}."
    )
    return costs, said


# -- maintenance -------------------------------------------------------------------------
def _failures(lake: Lake) -> pd.DataFrame:
    if lake.version("events") is None:
        return pd.DataFrame(columns=["asset", "ts", "end"])
    frame = lake.sql(
        "SELECT asset, start AS ts, \"end\" FROM events WHERE kind = 'failure' ORDER BY start"
    )
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    return frame


def _history_days(lake: Lake) -> float:
    """Days the plant's history spans: its events (states are recorded round the clock,
    production counts only while it runs, which would scale a year of weekdays only)."""
    for table, query in (
        ("events", 'SELECT min(start) AS a, max(coalesce("end", start)) AS b FROM events'),
        ("production", 'SELECT min(start) AS a, max("end") AS b FROM production'),
    ):
        if lake.version(table) is not None:
            row = lake.sql(query)
            return _days(row["a"].iloc[0], row["b"].iloc[0])
    return 0.0


def _mean_hours(frame: pd.DataFrame) -> float:
    return float((frame["end"] - frame["start"]).dt.total_seconds().mean() / 3600.0)


def _repair_history(lake: Lake, settings: Settings, failures: pd.DataFrame) -> FailureHistory:
    """Failure count and downtime, planned-repair downtime, repair costs (and sources)."""
    ended = failures.dropna(subset=["end"])
    if ended.empty:
        raise InputError("no failure in events has an end: its downtime is unknown", field="end")
    down_h = float((ended["end"] - ended["ts"]).dt.total_seconds().mean() / 3600.0)
    orders = pd.DataFrame(columns=["kind", "start", "end", "cost"])
    if lake.version("work_orders") is not None:
        orders = lake.sql(
            "SELECT kind, start, \"end\", cost FROM work_orders WHERE status = 'done'"
        )
    planned = orders[orders["kind"].isin(PLANNED_KINDS)]
    timed = planned.dropna(subset=["start", "end"])
    upkeep = settings.maintenance
    if not timed.empty:
        planned_h = _mean_hours(timed)
        downtime_source = (
            f"failure events ({len(ended)} with an end); {len(timed)} done planned work orders"
        )
    else:
        planned_h = settings.planning.maintenance_window_h
        downtime_source = (
            f"failure events ({len(ended)} with an end); no timed planned work order: "
            f"planning.maintenance_window_h = {planned_h:g} h assumed"
        )
    fail_cost, plan_cost = upkeep.cost_failure, upkeep.cost_planned
    fail_from, plan_from = "maintenance.cost_failure", "maintenance.cost_planned"
    if settings.value.repair_costs == "work_orders":
        corrective = orders.loc[orders["kind"] == "corrective", "cost"].dropna()
        preventive = planned["cost"].dropna()
        if len(corrective):
            fail_cost, fail_from = float(corrective.mean()), f"{len(corrective)} work orders"
        if len(preventive):
            plan_cost, plan_from = float(preventive.mean()), f"{len(preventive)} work orders"
    cost_source = (
        f"repair costs: corrective {fail_cost:,.0f} ({fail_from}), planned {plan_cost:,.0f} "
        f"({plan_from})"
    )
    return FailureHistory(
        days=_history_days(lake),
        failures=len(failures),
        failure_downtime_h=down_h,
        planned_downtime_h=planned_h,
        failure_cost=fail_cost,
        planned_cost=plan_cost,
        downtime_source=downtime_source,
        cost_source=cost_source,
    )


def _readings_span(
    lake: Lake, table: str = "readings", version: int | None = None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last reading of the days the sensors really recorded (of ``table`` at
    ``version``, default the latest): a clock fault's few readings stamped years away
    (the data-quality check flags them) would stretch the window, so days with under
    1 % of a median day's readings, and the future, are left out."""
    if lake.version(table) is None:
        return None, None
    con = lake.connect({table: version} if version is not None else None)
    try:
        days = con.execute(
            f"SELECT day, count(*) AS n, min(ts) AS a, max(ts) AS b FROM {table} "
            "WHERE ts <= ? GROUP BY day",
            [pd.Timestamp.now(tz="UTC")],
        ).df()
    finally:
        con.close()
    if days.empty:
        return None, None
    kept = days[days["n"] >= 0.01 * days["n"].median()]
    return pd.Timestamp(kept["a"].min()), pd.Timestamp(kept["b"].max())


def _in_sample(lake: Lake, models: list[tuple[str, int]], scored: pd.Series) -> str:
    """How many of the ``scored`` failure times lie in the readings the alerting models
    learned from (the Delta version each recorded): those are measured in sample."""
    registry = maintenance.registry(lake)
    learned_to = None
    for name, version in models:
        try:
            trained = registry.get(name, version).training_data
        except ModelError:  # no longer in the registry: nothing to tell
            continue
        for table in ("readings_clean", "readings"):
            learned = trained.get(table)
            if learned is not None:
                _, end = _readings_span(lake, table, int(learned))
                if end is not None and (learned_to is None or end > learned_to):
                    learned_to = end
                break
    if learned_to is None:
        return "whether in or out of sample is unknown: the models' training data is not recorded"
    inside = int((scored <= learned_to).sum())
    if inside == len(scored):
        return "in sample: the model learned from the readings of every failure scored"
    if inside == 0:
        return "out of sample: the model learned from readings before the failures scored"
    return (
        f"partly in sample: {inside} of {len(scored)} failures lie in the readings it learned from"
    )


def _judged_true(lake: Lake) -> set[str]:
    """Alerts whose latest operator verdict (``alert_feedback``, when the lake has that
    table) says a real fault: maintenance may have removed it before it failed."""
    if "alert_feedback" not in SCHEMA_TABLES or lake.version("alert_feedback") is None:
        return set()
    said = lake.sql(
        "SELECT alert_id, verdict FROM alert_feedback QUALIFY row_number() OVER "
        "(PARTITION BY alert_id ORDER BY recorded_at DESC) = 1"
    )
    return {str(a) for a in said.loc[said["verdict"] == "true", "alert_id"]}


def _false_alarms(
    episodes: pd.DataFrame, failures: pd.DataFrame, true: set[str]
) -> tuple[int, int]:
    """Alerts with no failure of their asset within the week after they were raised (the
    rule of evaluate_alerts), less those judged true; and how many were judged true."""
    horizon = pd.Timedelta(hours=LOOKBACK_H)
    false = excused = 0
    raised = pd.to_datetime(episodes["start"], utc=True)
    for alert_id, asset, start in zip(episodes["alert_id"], episodes["asset"], raised, strict=True):
        mine = failures[failures["asset"] == asset]
        if ((mine["ts"] >= start) & (mine["ts"] <= start + horizon)).any():
            continue
        if str(alert_id) in true:
            excused += 1
        else:
            false += 1
    return false, excused


def _backtest(lake: Lake, settings: Settings, failures: pd.DataFrame) -> AlertBacktest | str:
    """The stored alerts against the failures, or why that cannot be measured."""
    if lake.version("alerts") is None:
        return "no alerts stored: train and score a condition model (shopfloor maintenance)"
    episodes = maintenance.alerts(lake)
    start, end = _readings_span(lake)
    if start is None or end is None:
        return "no readings: the alerts cannot be placed in time"
    lead = settings.maintenance.lead_time_h
    scored = evaluate_alerts(
        episodes,
        failures[["asset", "ts"]],
        observed_from=pd.Timestamp(start).tz_convert("UTC"),
        observed_to=pd.Timestamp(end).tz_convert("UTC"),
        assets=max(int(episodes["asset"].nunique()), 1),
        lead=pd.Timedelta(hours=lead),
        horizon=pd.Timedelta(hours=LOOKBACK_H),
    )
    lead_time = pd.Timedelta(hours=lead)
    eligible = failures["ts"][
        (failures["ts"] >= start + lead_time + pd.Timedelta(days=1)) & (failures["ts"] <= end)
    ]  # evaluate_alerts' rule: seen at least a lead time and a day of warm-up after the start
    if scored.failures == 0:
        return (
            f"no failure late enough in the readings to be alerted {lead:g} h ahead: the "
            "model's recall is not measured"
        )
    models = sorted(
        {
            (str(m), int(v))
            for m, v in zip(episodes["model"], episodes["model_version"], strict=True)
            if pd.notna(v)
        }
    )
    label = ", ".join(f"{m}:{v}" for m, v in models) or "stored alerts"
    false, excused = _false_alarms(episodes, failures, _judged_true(lake))
    note = _in_sample(lake, models, eligible)
    if excused:
        note += f"; {excused} alerts without a failure judged true by operators"
    return AlertBacktest(
        model=f"alerts of {label}",
        failures=scored.failures,
        caught=scored.detected,
        false_alarms=false,
        alerts=scored.episodes,
        lead_h=lead,
        days=_days(start, end),
        note=note,
    )


def _maintenance(lake: Lake, settings: Settings, costs: ValueCosts) -> tuple[Lever, Lever]:
    failures = _failures(lake)
    why = ""
    if lake.version("events") is None:
        why = "no events in the lake: no failure history"
    elif failures.empty:
        why = "no failure in the history: nothing to measure the condition model on"
    backtest = why or _backtest(lake, settings, failures)
    if isinstance(backtest, str):
        return not_measured("downtime", backtest), not_measured("maintenance", backtest)
    try:
        history = _repair_history(lake, settings, failures)
    except InputError as exc:
        return not_measured("downtime", exc.message), not_measured("maintenance", exc.message)
    return maintenance_levers(history, backtest, costs)


# -- scrap -------------------------------------------------------------------------------
def _scrap(lake: Lake, settings: Settings, costs: ValueCosts) -> Lever:
    if lake.version("inspections") is None:
        return not_measured("scrap", "no inspections in the lake: no SPC to measure")
    if lake.version("production") is None:
        return not_measured("scrap", "no production counts: no scrap history")
    try:
        report = spc(lake)
        measured = measurements(lake)
    except InputError as exc:
        return not_measured("scrap", f"no SPC chart: {exc.message}")
    alarms = report.violations()
    measured["ts"] = pd.to_datetime(measured["ts"], utc=True)
    outside = (measured["value"] < measured["lsl"]) | (measured["value"] > measured["usl"])
    bad = measured[outside.fillna(False)].reset_index(drop=True)
    reaction = settings.value.spc_reaction_h
    caught = nonconforming_caught(bad, alarms, reaction_h=reaction, lookback_h=LOOKBACK_H)
    later = alarms[alarms["phase"] == "II"] if not alarms.empty else alarms
    strict = nonconforming_caught(bad, later, reaction_h=reaction, lookback_h=LOOKBACK_H)
    charted = sorted({s.asset for s in report.series})
    marks = ", ".join("?" for _ in charted)
    counts = lake.sql(
        "SELECT asset, sum(good) + sum(scrap) AS parts, sum(scrap) AS scrap FROM production "
        f"WHERE asset IN ({marks}) GROUP BY asset",
        list(charted),
    ).set_index("asset")
    if counts.empty:
        return not_measured("scrap", f"no production counts of the charted assets {charted}")
    inspected = measured[measured["asset"].isin(charted)].groupby("asset").size()
    bad["caught"] = caught
    found = bad.groupby("asset")["caught"]
    nonconforming, hits = found.size().to_dict(), found.sum().to_dict()
    parts, scrapped = counts["parts"].to_dict(), counts["scrap"].to_dict()
    assets = tuple(
        AssetScrap(
            asset=str(a),
            parts=int(parts[a]),
            scrap=int(scrapped[a]),
            inspected=int(inspected.get(a, 0)),
            nonconforming=int(nonconforming.get(a, 0)),
            caught=int(hits.get(a, 0)),
        )
        for a in counts.index
    )
    if alarms.empty:
        note = "no SPC alarm in the history"
    elif (alarms["phase"] == "I").any():
        note = (
            f"in sample: alarms of the phase I limits count; {int(strict.sum())} caught by "
            "phase II alarms alone"
        )
    else:
        note = "phase II alarms only: limits set before the parts were made"
    evidence = ScrapEvidence(
        days=_history_days(lake),
        assets=assets,
        reaction_h=reaction,
        source=f"SPC ({report.rule_set}, {len(report.series)} charts) on inspections; production",
        note=note,
    )
    return scrap_lever(evidence, costs)


# -- inventory ---------------------------------------------------------------------------
def _inventory(lake: Lake, costs: ValueCosts) -> Lever:
    try:
        found = replay_stock(lake)
    except InputError as exc:  # e.g. negative demand: the supply pages say the same
        return not_measured("inventory", f"the policies cannot be replayed: {exc}")
    if isinstance(found, str):
        return not_measured("inventory", found)
    return inventory_lever(found, costs)


# -- the report --------------------------------------------------------------------------
def value_report(lake: Lake, settings: Settings | None = None) -> ValueReport:
    """Every lever from the lake's history and models, in money, with the payback."""
    chosen = settings or lake.settings
    costs, investment = _costs(lake, chosen)
    levers = [
        *_maintenance(lake, chosen, costs),
        _scrap(lake, chosen, costs),
        _inventory(lake, costs),
    ]
    return summarise(levers, costs, (*ASSUMPTIONS, investment))


def value_stamp(lake: Lake) -> tuple[int, int]:
    """Changes when a model is registered or promoted (the registry has no Delta version)."""
    models = maintenance.registry(lake).list()
    return len(models), sum(m.version * (m.stage == "production") for m in models)


def value_view(lake: Lake, sites: views.Sites) -> ValueReport:
    """The report for a principal: it prices the whole plant, so every site must be seen."""
    if not views.site_map(lake).sees_everything(sites):
        raise NotFoundError("the value report spans every site; ask an admin of every site")
    return value_report(lake)


def waterfall(
    levers: Sequence[tuple[str, float | None]], running_cost: float, net: float, currency: str
) -> Any:
    """A waterfall of (title, money a year) per lever, the running cost and the net a
    year; a lever without money (not measured) stands at zero, labelled so."""
    import plotly.graph_objects as go

    from shopfloor.workflows.dashboard_figures import FONT

    names = [title for title, _ in levers] + ["Running cost", "Net a year"]
    values = [money if money is not None else 0.0 for _, money in levers]
    values += [-running_cost, net]
    text = [f"{money:,.0f}" if money is not None else "not measured" for _, money in levers]
    text += [f"{-running_cost:,.0f}", f"{net:,.0f}"]
    fig = go.Figure(
        go.Waterfall(
            x=names,
            y=values,
            measure=["relative"] * (len(names) - 1) + ["total"],
            text=text,
            textposition="outside",
            connector={"line": {"color": "#9ca3af"}},
            increasing={"marker": {"color": "#16a34a"}},
            decreasing={"marker": {"color": "#dc2626"}},
            totals={"marker": {"color": "#2563eb"}},
            hovertemplate="%{x}: %{text} " + currency + "<extra></extra>",
        )
    )
    fig.update_layout(
        template="plotly_white",
        height=360,
        margin={"l": 72, "r": 24, "t": 36, "b": 48},
        font={"family": FONT, "size": 12, "color": "#1f2937"},
        yaxis={"title": f"{currency} a year"},
        showlegend=False,
    )
    return fig
