"""`shopfloor twin validate | run | compare` and `shopfloor plan`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shopfloor.cli.output import JsonOption, LakeOption, console, print_json, step_bars

app = typer.Typer(
    help="Digital twin of the lines (SimPy), calibrated from the lake: validate, what-if, "
    "compare maintenance policies.",
    no_args_is_help=True,
)

Replications = Annotated[
    int | None,
    typer.Option(min=2, help="Seeded replications (default: twin.replications)."),
]
Horizon = Annotated[
    float | None, typer.Option(min=1.0, help="Days simulated (default: twin.horizon_days).")
]
Plot = Annotated[Path | None, typer.Option(help="Write box plots and cost bars to this HTML file.")]
Seed = Annotated[int, typer.Option(help="First seed; replication k uses seed + k.")]


def _interval(iv: Any) -> dict[str, float]:
    return {"mean": iv.mean, "low": iv.low, "high": iv.high}


def _results_payload(results: Any, comparisons: Any) -> dict[str, Any]:
    import numpy as np

    return {
        "scenarios": {
            r.scenario.name: {k: float(np.mean(v)) for k, v in r.metrics.items()} for r in results
        },
        "comparisons": [
            {
                "candidate": c.candidate,
                "baseline": c.baseline,
                "difference": {k: _interval(v) for k, v in c.difference.items()},
                "relative": c.relative,
            }
            for c in comparisons
        ],
    }


def _print_results(payload: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="mean per replication")
    keys = (
        "total_cost",
        "maintenance",
        "lost_output",
        "energy_cost",
        "unplanned_downtime_h",
        "good",
    )
    table.add_column("scenario")
    for k in keys:
        table.add_column(k.replace("_", " "), justify="right")
    for name, m in payload["scenarios"].items():
        table.add_row(name, *(f"{m[k]:,.1f}" for k in keys))
    console.print(table)
    for c in payload["comparisons"]:
        d = c["difference"]
        console.print(
            f"[bold]{c['candidate']}[/bold] vs {c['baseline']} (95 % CI of the paired difference):"
        )
        for k in ("total_cost", "maintenance", "unplanned_downtime_h"):
            rel = c["relative"][k]
            console.print(
                f"  {k.replace('_', ' ')}: {d[k]['mean']:,.1f} [{d[k]['low']:,.1f}, "
                f"{d[k]['high']:,.1f}] ({rel:+.1%})"
            )


def _report(
    results: Any,
    comparisons: Any,
    plot: Path | None,
    json: bool,
    extra: dict[str, Any] | None = None,
) -> None:
    """Print a Monte Carlo study (a table, or JSON) and write its plot when asked."""
    from shopfloor.workflows.twin import write_plot

    payload = _results_payload(results, comparisons) | (extra or {})
    if plot is not None:
        payload["plot"] = str(write_plot(results, plot))
    print_json(payload) if json else _print_results(payload)


@app.command("validate")
def validate_command(
    lake: LakeOption = None,
    replications: Annotated[int, typer.Option(min=1, help="Replications of the replay.")] = 10,
    tolerance: Annotated[float, typer.Option(min=0.0, help="Accepted relative error.")] = 0.05,
    json: JsonOption = False,
) -> None:
    """Replay the history's stops in the twin; compare throughput and OEE per line.

    Exits 1 when a line is outside the tolerance."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.twin import validate

    store = open_lake(lake)
    with step_bars(enabled=not json) as step:
        check = validate(
            store, replications=replications, tolerance=tolerance,
            progress=lambda d, t: step("replications", d, t),
        )  # fmt: skip
    payload: dict[str, Any] = {
        "within_tolerance": check.within,
        "tolerance": check.tolerance,
        "failures_lake": check.failures_lake,
        "failures_twin_mean": check.failures_twin,
        "lines": [
            {
                "line": c.line,
                "throughput_lake_h": c.lake_throughput_h,
                "throughput_twin_h": c.twin_throughput_h,
                "throughput_error": c.throughput_error,
                "oee_lake": c.lake_oee,
                "oee_twin": c.twin_oee,
                "oee_error": c.oee_error,
            }
            for c in check.lines
        ],
    }
    if json:
        print_json(payload)
    else:
        for c in payload["lines"]:
            console.print(
                f"{c['line']}: throughput {c['throughput_twin_h']:.1f}/h vs lake "
                f"{c['throughput_lake_h']:.1f}/h ({c['throughput_error']:+.1%}), OEE "
                f"{c['oee_twin']:.3f} vs {c['oee_lake']:.3f} ({c['oee_error']:+.1%})"
            )
        verdict = "within" if check.within else "OUTSIDE"
        console.print(f"{verdict} ±{tolerance:.0%}")
    if not check.within:
        raise typer.Exit(1)


@app.command("run")
def run_command(
    lake: LakeOption = None,
    policy: Annotated[
        str, typer.Option(help="run_to_failure, fixed_interval, sequential or co_optimised.")
    ] = "co_optimised",
    buffer_factor: Annotated[float, typer.Option(help="Multiply every buffer.")] = 1.0,
    extra_shift_hours: Annotated[float, typer.Option(help="Hours added to each shift.")] = 0.0,
    demand_factor: Annotated[float, typer.Option(help="Multiply every order quantity.")] = 1.0,
    speed_factor: Annotated[
        float, typer.Option(help="Multiply every machine's speed (an added machine: > 1).")
    ] = 1.0,
    standby: Annotated[
        bool,
        typer.Option(
            "--standby/--no-standby",
            help="Machines waiting in the tariff's peak hours go to standby (energy.tariff).",
        ),
    ] = False,
    replications: Replications = None,
    horizon_days: Horizon = None,
    seed: Seed = 0,
    plot: Plot = None,
    json: JsonOption = False,
) -> None:
    """One what-if against the plant as it is (same policy, same seeds)."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.twin import what_if_change

    store = open_lake(lake)
    with step_bars(enabled=not json) as step:
        results, comps = what_if_change(
            store, policy=policy, buffer_factor=buffer_factor,
            extra_shift_hours=extra_shift_hours, demand_factor=demand_factor,
            speed_factor=speed_factor, standby=standby, replications=replications,
            horizon_days=horizon_days, seed=seed, progress=lambda d, t: step("replications", d, t),
        )  # fmt: skip
    _report(results, comps, plot, json)


@app.command("compare")
def compare_command(
    lake: LakeOption = None,
    replications: Replications = None,
    horizon_days: Horizon = None,
    seed: Seed = 0,
    plot: Plot = None,
    json: JsonOption = False,
) -> None:
    """Run-to-failure, fixed-interval PM, sequential and co-optimised planning, same seeds."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.twin import compare_policies

    store = open_lake(lake)
    with step_bars(enabled=not json) as step:
        study = compare_policies(
            store, replications=replications, horizon_days=horizon_days, seed=seed,
            progress=lambda d, t: step("replications", d, t),
        )  # fmt: skip
    extra = {"fixed_interval_h": study.fixed_interval_h, "replications": study.replications}
    _report(study.results, study.comparisons, plot, json, extra)


def plan_command(
    lake: LakeOption = None,
    horizon_days: Annotated[int, typer.Option(min=1, help="Days ahead to plan.")] = 14,
    time_limit: Annotated[
        float | None, typer.Option(min=0.1, help="Solver seconds (default: planning setting).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """One planning run: production orders netted from the latest demand forecast and the
    stock, maintenance windows placed where production loses least (nights and weekends
    where the RUL risk allows), and all orders scheduled around them with CP-SAT and
    stored; the sequential plan (maintenance first) is solved beside it."""
    from shopfloor.cli.output import frame_table, records
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.joint_plan import plan_jointly

    result = plan_jointly(open_lake(lake), horizon_days=horizon_days, time_limit_s=time_limit)
    figures = {
        which: {
            "expected_maintenance_cost": c.maintenance,
            "maintenance_in_shift_h": c.in_shift_work_h,
            "late_min": c.late_min,
            "late_orders": c.late_orders,
            "makespan_min": c.makespan_min,
            "holding_cost": c.holding,
            "stockout_cost": c.stockout,
        }
        for which, c in (("joint", result.joint), ("sequential", result.sequential))
    }
    if json:
        print_json(
            {
                "schedule_id": result.schedule_id,
                "origin": result.windows.origin,
                "plans": figures,
                "windows": records(result.windows.frame),
                "production_orders": records(result.production.orders),
                "production_note": result.production.note,
            }
        )
        return
    shown = result.windows.frame[["asset", "rul_h", "joint_start", "off_shift", "sequential_start"]]
    console.print(frame_table(shown, f"maintenance windows from {result.windows.origin}"))
    for which, f in figures.items():
        console.print(
            f"{which}: expected maintenance {f['expected_maintenance_cost']:,.0f}, "
            f"{f['maintenance_in_shift_h']:.1f} h in shift, {f['late_orders']} late orders "
            f"({f['late_min']:,.0f} min)"
        )
    made = result.production
    console.print(
        f"{len(made.orders)} production orders from the forecast"
        + (f" ({made.note})" if made.note else "")
    )
    console.print(f"stored schedule {result.schedule_id}")
