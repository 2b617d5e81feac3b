"""The closed loop on the command line: `shopfloor maintenance feedback | outcome |
precision | drift | retrain` (added to the `maintenance` group by :func:`register`)."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from shopfloor.cli.output import (
    BackendOption,
    JsonOption,
    LakeOption,
    console,
    err_console,
    print_json,
)

if TYPE_CHECKING:
    from shopfloor.workflows.model_loop import DriftReport, Proposal

ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who reports it (default: your login name).", show_default=False),
]
NoteOption = Annotated[str, typer.Option(help="What was found (kept with the verdict).")]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", help="Registered condition model (default: every one).", show_default=False
    ),
]
UntilOption = Annotated[
    datetime | None,
    typer.Option(
        help="End of the recent window (UTC; default: the end of the data).", show_default=False
    ),
]


def _by(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a container
        return "cli"


def _say(message: str) -> None:
    if err_console.is_terminal:
        err_console.print(f"[dim]{message}[/dim]")


def feedback_command(
    alert_id: Annotated[str, typer.Argument(help="The alert judged.")],
    verdict: Annotated[
        str,
        typer.Option("--verdict", help="true (a real fault), false (a false alarm) or unknown."),
    ],
    note: NoteOption = "",
    by: ByOption = None,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Judge an alert: was it a real fault? (measures the model's live precision)"""
    from shopfloor.workflows import feedback, open_lake

    row = feedback.record_feedback(open_lake(lake), alert_id, verdict, by=_by(by), note=note)
    if json:
        print_json(row)
        return
    console.print(f"{alert_id}: {row['verdict']} (by {row['recorded_by']})")


def outcome_command(
    work_order: Annotated[str, typer.Argument(help="The work order done.")],
    fault_found: Annotated[
        bool | None,
        typer.Option(
            "--fault-found/--no-fault-found", help="Was a fault found?", show_default=False
        ),
    ] = None,
    failure_mode: Annotated[
        str | None, typer.Option(help="What had failed or was wearing.", show_default=False)
    ] = None,
    parts: Annotated[str | None, typer.Option(help="Parts replaced.", show_default=False)] = None,
    cost: Annotated[
        float | None, typer.Option(help="Cost of the work (plant currency).", show_default=False)
    ] = None,
    downtime_h: Annotated[
        float | None, typer.Option(help="Hours the asset was down for it.", show_default=False)
    ] = None,
    alert: Annotated[
        str | None,
        typer.Option("--alert", help="The alert the work answered.", show_default=False),
    ] = None,
    note: NoteOption = "",
    by: ByOption = None,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Report what a work order found and cost (an answered alert is judged by it)."""
    from shopfloor.workflows import feedback, open_lake

    row = feedback.record_outcome(
        open_lake(lake),
        work_order,
        by=_by(by),
        fault_found=fault_found,
        failure_mode=failure_mode,
        parts=parts,
        cost=cost,
        downtime_h=downtime_h,
        alert_id=alert,
        note=note,
    )
    if json:
        print_json(row)
        return
    found = {True: "fault found", False: "no fault found", None: "outcome"}[row["fault_found"]]
    console.print(f"{work_order} ({row['asset']}): {found}")


def precision_command(lake: LakeOption = None, json: JsonOption = False) -> None:
    """Live precision of every model version: the share of its judged alerts that were true."""
    from shopfloor.workflows import feedback, open_lake

    found = feedback.model_precision(open_lake(lake))
    rows = [
        {
            "model": m.model,
            "version": m.version,
            "true": m.precision.true,
            "false": m.precision.false,
            "unknown": m.precision.unknown,
            "precision": m.precision.precision,
        }
        for m in found
    ]
    if json:
        print_json(rows)
        return
    table = Table(title="live precision (operator verdicts and work-order outcomes)")
    for column in ("model", "version", "true", "false", "unknown", "precision"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for m in found:
        p = m.precision
        shown = f"{p.precision:.0%}" if p.judged else "-"
        table.add_row(m.model, str(m.version), str(p.true), str(p.false), str(p.unknown), shown)
    console.print(table)


def _report_dict(report: DriftReport) -> dict[str, Any]:
    return {
        "model": report.model.name,
        "version": report.model.version,
        "recent_start": report.recent_start,
        "recent_end": report.recent_end,
        "drifted": report.drifted,
        "drifted_assets": list(report.drifted_assets),
        "precision": report.precision.precision,
        "judged": report.precision.judged,
        "assets": [
            {
                "asset": a.asset,
                "drifted": a.drifted,
                "reasons": list(a.reasons),
                "reference_start": a.reference.start,
                "reference_end": a.reference.end,
                "precision": a.precision.precision,
                "judged": a.precision.judged,
                "hours_after_repairs": a.normal_alarms.periods,
                "alarm_rate_after_repairs": a.normal_alarms.rate,
                "features": [
                    {
                        "feature": f.feature,
                        "status": f.status,
                        "psi": f.psi,
                        "ks": f.ks,
                        "ks_pvalue": f.ks_pvalue,
                        "shift_sigma": f.shift,
                        "reference_rows": f.reference_rows,
                        "recent_rows": f.recent_rows,
                    }
                    for f in a.features
                ],
            }
            for a in report.assets
        ],
    }


def _print_report(report: DriftReport) -> None:
    table = Table(
        title=f"{report.model.name} v{report.model.version}: drift "
        f"{report.recent_start:%Y-%m-%d %H:%M} to {report.recent_end:%Y-%m-%d %H:%M} UTC"
    )
    for column in ("asset", "feature", "status", "PSI", "KS", "shift σ"):
        table.add_column(
            column, justify="left" if column in ("asset", "feature", "status") else "right"
        )
    for a in report.assets:
        for f in a.features:
            number = "-" if f.status == "insufficient" else None
            table.add_row(
                a.asset,
                f.feature,
                f.status,
                number or f"{f.psi:.2f}",
                number or f"{f.ks:.2f}",
                number or f"{f.shift:+.1f}",
            )
    console.print(table)
    for a in report.assets:
        if a.drifted:
            console.print(f"[bold]{a.asset}[/bold] drifted: {'; '.join(a.reasons)}")
    if not report.drifted:
        console.print("no drift: nothing to retrain")


def _models(lake: Any, model: str | None) -> list[str]:
    from shopfloor.errors import InputError
    from shopfloor.workflows import model_loop

    names = [model] if model else model_loop.condition_models(lake)
    if not names:
        raise InputError(
            "no condition model in the registry: run `shopfloor maintenance train`", field="model"
        )
    return names


def drift_command(
    lake: LakeOption = None,
    model: ModelOption = None,
    until: UntilOption = None,
    window_h: Annotated[
        float | None,
        typer.Option(
            help="Hours of the recent window (default: maintenance.drift.window_h).",
            show_default=False,
        ),
    ] = None,
    json: JsonOption = False,
    backend: BackendOption = None,
) -> None:
    """Drift of the condition models: PSI and KS per asset and signal, live precision."""
    from shopfloor.workflows import model_loop, open_lake

    opened = open_lake(lake)
    reports = [
        model_loop.monitor_drift(opened, name=n, until=until, window_h=window_h, backend=backend)
        for n in _models(opened, model)
    ]
    if json:
        print_json([_report_dict(r) for r in reports])
        return
    for report in reports:
        _print_report(report)


def _proposal_dict(proposal: Proposal) -> dict[str, Any]:
    ev = proposal.evaluation
    return {
        "champion": proposal.champion.version,
        "candidate": proposal.candidate.version,
        "assets": list(proposal.assets),
        "skipped": list(proposal.skipped),
        "train_start": proposal.train_start,
        "train_end": proposal.train_end,
        "holdout_start": ev.holdout_start,
        "holdout_end": ev.holdout_end,
        "metric": ev.metric,
        "champion_score": ev.champion,
        "challenger_score": ev.challenger,
        "margin": ev.margin,
        "better": ev.better,
        "per_asset": {a: {"champion": c, "challenger": n} for a, (c, n) in ev.per_asset.items()},
    }


def retrain_command(
    lake: LakeOption = None,
    model: ModelOption = None,
    until: UntilOption = None,
    promote: Annotated[
        bool,
        typer.Option("--promote/--no-promote", help="Promote the challenger if it is better."),
    ] = True,
    force: Annotated[
        bool, typer.Option("--force", help="Retrain every asset, drifted or not.")
    ] = False,
    json: JsonOption = False,
    backend: BackendOption = None,
) -> None:
    """Retrain drifted assets; promote the challenger only if it beats the champion.

    Drift is checked first (as `maintenance drift`); the challenger is judged on a
    held-out window later than both models' training data.
    """
    from shopfloor.workflows import maintenance, model_loop, open_lake

    opened = open_lake(lake)
    results = []
    for name in _models(opened, model):
        report = model_loop.monitor_drift(opened, name=name, until=until, backend=backend)
        out: dict[str, Any] = {"model": name, "drifted_assets": list(report.drifted_assets)}
        assets = [a.asset for a in report.assets] if force else list(report.drifted_assets)
        if not assets:
            out |= {"proposal": None, "promoted": False, "reason": "no drift"}
            results.append(out)
            continue
        proposal = model_loop.propose_retraining(
            opened, report, assets=assets, backend=backend, progress=_say
        )
        out["proposal"] = _proposal_dict(proposal)
        if promote:
            decision = model_loop.promote_if_better(opened, proposal)
            out |= {"promoted": decision.promoted, "reason": decision.reason}
        else:
            reason = "not promoted (--no-promote): stays candidate"
            maintenance.registry(opened).annotate(name, proposal.candidate.version, reason)
            out |= {"promoted": False, "reason": reason}
        results.append(out)
    if json:
        print_json(results)
        return
    for out in results:
        proposal = out["proposal"]
        if proposal is None:
            console.print(f"{out['model']}: no drift, nothing retrained")
            continue
        console.print(
            f"{out['model']}: challenger v{proposal['candidate']} (retrained "
            f"{', '.join(proposal['assets'])}) held-out NLL {proposal['challenger_score']:.3f} "
            f"vs champion v{proposal['champion']} {proposal['champion_score']:.3f}"
        )
        console.print(out["reason"])


def register(app: typer.Typer) -> None:
    """Add the loop's commands to the `maintenance` group."""
    app.command("feedback")(feedback_command)
    app.command("outcome")(outcome_command)
    app.command("precision")(precision_command)
    app.command("drift")(drift_command)
    app.command("retrain")(retrain_command)
