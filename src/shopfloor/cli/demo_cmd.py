"""`shopfloor demo`: generate the demo plant into a lake and show what shopfloor makes of it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from shopfloor.cli.dq_cmd import summary_table
from shopfloor.cli.output import (
    BackendOption,
    JsonOption,
    LakeOption,
    console,
    err_console,
    print_json,
    records,
    step_bars,
)
from shopfloor.config import load_settings
from shopfloor.errors import InputError

if TYPE_CHECKING:
    from shopfloor.workflows import Lake
    from shopfloor.workflows.demo import DemoSummary
    from shopfloor.workflows.demo_live import LiveDemo


def _prepare(lake: Path) -> None:
    """A previous demo lake is replaced; a lake holding other data is never touched."""
    if not lake.exists() or not any(lake.iterdir()):
        return
    if (lake / "demo-source").is_dir():
        shutil.rmtree(lake)
        return
    raise InputError(
        "holds data that is not a demo plant; choose another --lake", source=str(lake), field="lake"
    )


def _quality_table(summary: DemoSummary) -> Table:
    table = Table(title="data quality vs the generator's ground truth")
    for column in ("check", "planted", "detected", "recall", "precision"):
        table.add_column(column, justify="left" if column == "check" else "right")
    for check, score in summary.quality_scores.items():
        table.add_row(
            check,
            str(score.truth),
            str(score.detected),
            f"{score.recall:.2f}",
            f"{score.precision:.2f}",
        )
    return table


def _print(summary: DemoSummary) -> None:
    console.rule(
        f"demo plant: {summary.start:%Y-%m-%d} to {summary.end:%Y-%m-%d}, seed {summary.seed}"
    )
    ingested = Table(title=f"ingested into {summary.lake}")
    for column in ("table", "files", "rows accepted", "quarantined"):
        ingested.add_column(column, justify="left" if column == "table" else "right")
    for table, result in summary.ingests.items():
        ingested.add_row(
            table, str(len(result.results)), f"{result.accepted:,}", f"{result.quarantined:,}"
        )
    console.print(ingested)
    console.print(summary_table(summary.quality))
    console.print(_quality_table(summary))
    overall = summary.oee_by_line.frame.groupby("group")[
        ["planned_time_s", "run_time_s", "ideal_time_s", "good", "scrap"]
    ].sum()
    oee = Table(title="OEE by line over the whole period")
    for column in ("line", "availability", "performance", "quality", "OEE", "bottleneck"):
        oee.add_column(column, justify="left" if column in ("line", "bottleneck") else "right")
    bottleneck = dict(
        zip(
            summary.bottlenecks.frame["line"], summary.bottlenecks.frame["bottleneck"], strict=False
        )
    )
    for line, row in overall.iterrows():
        availability = row.run_time_s / row.planned_time_s if row.planned_time_s else 0.0
        performance = row.ideal_time_s / row.run_time_s if row.run_time_s else 0.0
        quality = row.good / (row.good + row.scrap) if row.good + row.scrap else 0.0
        oee.add_row(
            str(line),
            f"{availability:.1%}",
            f"{performance:.1%}",
            f"{quality:.1%}",
            f"{availability * performance * quality:.1%}",
            bottleneck.get(line, ""),
        )
    console.print(oee)
    rel = summary.reliability
    if not rel.empty:
        console.print(
            f"failures: {int(rel['failures'].sum())}, mean MTBF "
            f"{rel['mtbf_h'].mean():.0f} h, mean MTTR {rel['mttr_h'].mean():.1f} h"
        )
    _print_maintenance(summary)
    _print_spc(summary)
    _print_supply(summary)
    _print_planning(summary)
    timing = ", ".join(f"{k} {v:.0f} s" for k, v in summary.seconds.items())
    console.print(f"done in {sum(summary.seconds.values()):.0f} s ({timing})")
    console.print(
        f"next: shopfloor lake info --lake {summary.lake}; shopfloor dq check "
        f"--lake {summary.lake} --html dq.html; shopfloor oee --by line --lake "
        f"{summary.lake}; shopfloor maintenance alerts --lake {summary.lake}; shopfloor supply "
        f"reorder --lake {summary.lake}; shopfloor quality spc --lake {summary.lake} "
        "--html spc.html"
    )


def _print_planning(summary: DemoSummary) -> None:
    planned = summary.planning
    if planned is None:
        return
    plan, repair = planned.plan, planned.repair
    console.print(
        f"schedule {plan.schedule_id}: {len(plan.rows)} operations of {len(plan.orders)} "
        f"orders on {plan.rows['machine'].nunique()} machines ({plan.schedule.status}); "
        f"repaired as {repair.schedule_id} after {repair.reason}: {len(repair.moves)} "
        f"operations moved, {repair.kept_share:.0%} kept as planned"
    )


def _planning_payload(summary: DemoSummary) -> dict[str, object] | None:
    planned = summary.planning
    if planned is None:
        return None
    return {
        "schedule_id": planned.plan.schedule_id,
        "operations": len(planned.plan.rows),
        "status": planned.plan.schedule.status,
        "repair_id": planned.repair.schedule_id,
        "moved": len(planned.repair.moves),
        "kept_share": planned.repair.kept_share,
    }


def _live(store: Lake, quiet: bool) -> LiveDemo | None:
    from shopfloor.errors import ConfigError
    from shopfloor.workflows.demo_live import run_live_demo

    if not quiet:
        console.rule("live: MQTT → lake, scored as it arrives")
    try:
        return run_live_demo(store)
    except ConfigError as err:  # no mosquitto here: the batch demo stands on its own
        err_console.print(f"live part skipped: {err}")
        return None


def _print_live(demo: LiveDemo) -> None:
    s = demo.stream
    console.print(
        f"published {demo.published:,} readings to mosquitto at {demo.broker} "
        f"({demo.acknowledged:,} acknowledged); `shopfloor stream` committed "
        f"{s.committed_rows:,} exactly once ({s.duplicates} duplicates dropped, "
        f"{s.quarantined} quarantined) and raised {s.alerts} live alerts"
    )
    for alert in demo.alerts[:5]:
        top = ", ".join(f"{x['signal']} {x['sigma']:+.1f}σ" for x in alert.get("signals", []))
        console.print(f"  {alert['kind']} {alert['asset']} at {alert['ts'][11:19]}: {top}")


def _serve(lake: Path) -> None:
    """Serve the demo lake with a fresh admin login (the lake is rebuilt on every demo)."""
    import secrets

    from shopfloor.cli.serve_cmd import run_server, settings_for
    from shopfloor.workflows.access import access_store

    password = secrets.token_urlsafe(12)
    access_store(lake).add_user("admin", password, "admin", None, replace=True)
    settings = settings_for(lake, None, None, None, None)
    console.rule("web dashboard")
    console.print(
        f"log in at http://{settings.server.host}:{settings.server.port} as "
        f"[bold]admin[/bold] with password [bold]{password}[/bold] (every site, every role); "
        "add users with `shopfloor users add`"
    )
    run_server(settings)


def _print_spc(summary: DemoSummary) -> None:
    import pandas as pd

    from shopfloor.cli.quality_cmd import capability_table

    report = summary.spc.report
    overview = report.summary()
    violations = report.violations()
    later = violations[violations["phase"] == "II"]
    table = Table(title=f"SPC: X̄-R charts, {report.rule_set} rules, phase I = first 25 subgroups")
    for column in ("asset", "product", "characteristic", "points", "alarms", "first alarm"):
        table.add_column(column, justify="right" if column in ("points", "alarms") else "left")
    for row in overview.to_dict(orient="records"):
        alarm = row["first_alarm"]
        first = "" if pd.isna(alarm) else pd.Timestamp(alarm).strftime("%Y-%m-%d %H:%M")
        keys = ("asset", "product", "characteristic", "points", "alarms_phase_two")
        table.add_row(*(str(row[k]) for k in keys), first)
    console.print(table)
    if not later.empty:
        counts = later.groupby("rule")["point"].count().sort_values(ascending=False)
        said = ", ".join(f"{rule} x{count}" for rule, count in counts.items())
        console.print(f"phase II rule hits: {said}")
    capability = summary.spc.capability.frame()
    console.print(capability_table(capability, 0.95))


def _print_supply(summary: DemoSummary) -> None:
    from shopfloor.cli.supply_cmd import reorder_table

    s = summary.supply
    acc = s.accuracy
    table = Table(
        title=f"demand forecast backtest: last {acc.horizon} {acc.period}s of {acc.series} "
        "series held out (lower is better; coverage_90 should be near 90 %)"
    )
    for column in ("forecast", "MASE", "RMSSE", "SPL", "coverage_90"):
        table.add_column(column, justify="left" if column == "forecast" else "right")
    for score in acc.scores:
        table.add_row(
            score.method,
            f"{score.mase:.2f}",
            f"{score.rmsse:.2f}",
            f"{score.spl:.2f}",
            f"{score.coverage_90:.0%}",
        )
    console.print(table)
    p = s.policies
    orders = s.reorder.table
    console.print(
        f"{len(p.policies)} {p.kind} policies for a {p.target.kind.replace('_', ' ')} of "
        f"{p.target.level:.0%} on a {s.forecast.horizon}-{s.forecast.period} forecast; "
        f"{len(orders)} of {s.reorder.series_checked} series to reorder now"
    )
    title = f"reorder now (top {min(len(orders), 10)}, cover in {s.reorder.period}s)"
    # The columns a buyer acts on, so that the table fits an 80-column terminal too
    # (`shopfloor supply reorder` shows them all).
    brief = [
        "item",
        "location",
        "supplier",
        "position",
        "reorder_point",
        "cover_periods",
        "quantity",
    ]
    console.print(reorder_table(orders.head(10)[brief], title))


def _supply_payload(summary: DemoSummary) -> dict[str, object]:
    s = summary.supply
    return {
        "forecast_accuracy": {
            "horizon": s.accuracy.horizon,
            "series": s.accuracy.series,
            "scores": [score.__dict__ for score in s.accuracy.scores],
        },
        "forecast_id": s.forecast.forecast_id,
        "policy_id": s.policies.policy_id,
        "reorder": records(s.reorder.table),
    }


def _maintenance_payload(summary: DemoSummary) -> dict[str, object]:
    m = summary.maintenance
    ev = m.evaluation
    return {
        "failures": ev.failures,
        "alerted_24h_ahead": ev.detected,
        "recall": ev.recall,
        "episodes": ev.episodes,
        "false_alarms": ev.false_alarms,
        "false_alarm_rate_per_asset_day": ev.false_alarm_rate,
        "assets_at_risk": [
            {"asset": r.asset, "rul_h": r.rul_hours, "latest_safe": r.latest_safe}
            for r in (m.outlook.recommendations if m.outlook else ())
            if r.failure_risk_7d >= 0.2
        ],
    }


def _print_maintenance(summary: DemoSummary) -> None:
    m = summary.maintenance
    ev = m.evaluation
    at_risk = Table(title="assets at risk (remaining useful life, 90 % interval)")
    for column in ("asset", "RUL h", "interval h", "fails within 7 d", "maintain before"):
        at_risk.add_column(column, justify="left" if column == "asset" else "right")
    for r in m.outlook.recommendations if m.outlook else ():
        if r.failure_risk_7d < 0.2:
            continue
        at_risk.add_row(
            r.asset,
            f"{r.rul_hours:.0f}",
            f"{r.rul_lower:.0f}-{r.rul_upper:.0f}",
            f"{r.failure_risk_7d:.0%}",
            f"{r.latest_safe:%Y-%m-%d %H:%M}",
        )
    console.print(at_risk)
    open_alerts = m.alerts[m.alerts["end"].isna()]
    for row in open_alerts.itertuples(index=False):
        console.print(f"[bold]open alert[/bold] {row.asset} since {row.start:%Y-%m-%d %H:%M}: "
                      f"{row.explanation}")  # fmt: skip
    console.print(
        f"maintenance alerts vs the simulator's failures: {ev.detected} of {ev.failures} "
        f"failures alerted at least 24 h ahead ({ev.recall:.0%}); {ev.false_alarms} false "
        f"alarms in {ev.episodes} alerts ({ev.false_alarm_rate:.2%} of asset-days)"
    )


def demo_command(
    days: Annotated[int, typer.Option(min=3, max=366, help="Days of plant history.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the generator (same seed, same plant).")] = 7,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Do not start the web dashboard afterwards.")
    ] = False,
    live: Annotated[
        bool,
        typer.Option(
            "--live/--no-live",
            help="Also publish the plant live over a local mosquitto for 15 s, ingest and "
            "score it (needs the mosquitto package).",
        ),
    ] = True,
    lake: LakeOption = None,
    json: JsonOption = False,
    backend: BackendOption = None,
) -> None:
    """Generate a realistic demo plant, ingest it, check its data quality, report OEE.

    Two lines of six machines with six signals each every 10 s, degradation ending in
    failures, shifts, changeovers, orders, demand, inventory and deliveries, and planted
    data-quality faults whose ground truth is written beside the data.  With
    ``--backend spark`` the batch steps run on Spark (local[2] unless configured).
    """
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.demo import run_demo

    # The path only: opening the lake would create it before _prepare can look at it.
    store_path = lake if lake is not None else load_settings().lake
    _prepare(store_path)
    store = open_lake(store_path)
    with step_bars(enabled=not json) as step:
        summary = run_demo(store, days=days, seed=seed, step=step, plan=True, backend=backend)
    live_demo = _live(store, json) if live else None
    if json:
        print_json(
            {
                "live": live_demo.to_dict() if live_demo else None,
                "lake": str(summary.lake),
                "start": summary.start,
                "end": summary.end,
                "ingested": {t: r.to_dict() for t, r in summary.ingests.items()},
                "quality": {c: s.__dict__ for c, s in summary.quality_scores.items()},
                "maintenance": _maintenance_payload(summary),
                "supply": _supply_payload(summary),
                "spc": {
                    "series": records(summary.spc.report.summary()),
                    "capability": records(summary.spc.capability.frame()),
                },
                "planning": _planning_payload(summary),
                "seconds": summary.seconds,
            }
        )
    else:
        _print(summary)
        if live_demo is not None:
            _print_live(live_demo)
    # Serving blocks until Ctrl-C: only for a person at a terminal, never in CI or a pipe.
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not os.environ.get("CI")
    if interactive and not no_serve and not json:
        _serve(store.path)
    elif not json:
        console.print(f"serve the dashboard with: shopfloor serve --lake {store.path}")
