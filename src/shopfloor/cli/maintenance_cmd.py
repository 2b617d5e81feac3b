"""`shopfloor maintenance train | score | alerts | ack | close | rul` and `shopfloor models`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from shopfloor.cli.output import (
    BackendOption,
    JsonOption,
    LakeOption,
    console,
    err_console,
    frame_table,
    print_json,
    records,
)

app = typer.Typer(
    help="Predictive maintenance: condition monitors, alerts, remaining useful life.",
    no_args_is_help=True,
)
models_app = typer.Typer(help="The model registry: versions, metrics, promotion.")

ModelOption = Annotated[str, typer.Option("--model", help="Registered model name.")]
SinceOption = Annotated[
    datetime | None,
    typer.Option(help="Only score data from this time on (UTC).", show_default=False),
]


def _say(message: str) -> None:
    if err_console.is_terminal:
        err_console.print(f"[dim]{message}[/dim]")


@app.command("train")
def train_command(
    lake: LakeOption = None,
    until: Annotated[
        datetime | None,
        typer.Option(help="Learn only from data before this time (UTC).", show_default=False),
    ] = None,
    candidate: Annotated[
        bool, typer.Option("--candidate", help="Register without promoting to production.")
    ] = False,
    json: JsonOption = False,
    backend: BackendOption = None,
) -> None:
    """Learn each machine's normal behaviour (after repairs) and the fleet's RUL model."""
    from shopfloor.workflows import maintenance as workflow
    from shopfloor.workflows import open_lake

    summary = workflow.train(
        open_lake(lake), until=until, promote=not candidate, progress=_say, backend=backend
    )
    rul_model = summary.rul_model
    payload = {
        "condition_model": {"name": summary.model.name, "version": summary.model.version},
        "rul_model": (
            {"name": rul_model.name, "version": rul_model.version} if rul_model else None
        ),
        "assets": list(summary.assets),
        "fallback_assets": list(summary.fallback_assets),
        "normal_rows": summary.normal_rows,
        "rows": summary.rows,
    }
    if json:
        print_json(payload)
        return
    console.print(
        f"condition model [bold]{summary.model.name} v{summary.model.version}[/bold]: "
        f"{len(summary.assets)} assets, {summary.normal_rows:,} of {summary.rows:,} buckets "
        "taken as normal"
    )
    if summary.fallback_assets:
        console.print(
            "no repair in the history of "
            f"{', '.join(summary.fallback_assets)}: their normal was learned from all data"
        )
    if rul_model is None:
        console.print("no RUL model: no machine life in the history ended in a failure")
    else:
        console.print(f"RUL model [bold]{rul_model.name} v{rul_model.version}[/bold]")


@app.command("score")
def score_command(
    lake: LakeOption = None,
    since: SinceOption = None,
    model: ModelOption = "condition",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show alerts without storing them.")
    ] = False,
    json: JsonOption = False,
    backend: BackendOption = None,
) -> None:
    """Score the condition data and store new alerts in the lake."""
    from shopfloor.workflows import maintenance as workflow
    from shopfloor.workflows import open_lake

    result = workflow.score(
        open_lake(lake),
        since=since,
        name=model,
        write=not dry_run,
        progress=_say,
        backend=backend,
    )
    shown = result.episodes[["alert_id", "asset", "start", "end", "severity", "explanation"]]
    if json:
        print_json({"alerts_written": result.alerts_written, "episodes": records(shown)})
        return
    console.print(frame_table(shown, f"alert episodes ({result.alerts_written} stored)"))


@app.command("alerts")
def alerts_command(
    lake: LakeOption = None,
    state: Annotated[
        str | None, typer.Option(help="open, acknowledged or closed.", show_default=False)
    ] = None,
    asset: Annotated[str | None, typer.Option(help="One asset.", show_default=False)] = None,
    json: JsonOption = False,
) -> None:
    """Alerts in the lake with their state and explanation, newest first."""
    from shopfloor.workflows import maintenance as workflow
    from shopfloor.workflows import open_lake

    frame = workflow.alerts(open_lake(lake), state=state, asset=asset)
    shown = frame[["alert_id", "asset", "start", "severity", "state", "explanation"]]
    if json:
        print_json(records(frame.drop(columns=["signals"])))
        return
    console.print(frame_table(shown, "alerts"))


def _set_state(lake: Any, alert_id: str, state: str, note: str, json: bool) -> None:
    from shopfloor.workflows import maintenance as workflow
    from shopfloor.workflows import open_lake

    row = workflow.set_alert_state(open_lake(lake), alert_id, state, note)
    if json:
        print_json({"alert_id": alert_id, "state": state, "note": row["note"]})
    else:
        console.print(f"{alert_id}: {state}")


NoteOption = Annotated[str, typer.Option(help="Who and why (kept in the alert history).")]


@app.command("ack")
def ack_command(
    alert_id: str, note: NoteOption = "", lake: LakeOption = None, json: JsonOption = False
) -> None:
    """Acknowledge an alert: someone is on it."""
    _set_state(lake, alert_id, "acknowledged", note, json)


@app.command("close")
def close_command(
    alert_id: str, note: NoteOption = "", lake: LakeOption = None, json: JsonOption = False
) -> None:
    """Close an alert: handled or dismissed."""
    _set_state(lake, alert_id, "closed", note, json)


@app.command("rul")
def rul_command(
    lake: LakeOption = None, json: JsonOption = False, backend: BackendOption = None
) -> None:
    """Remaining useful life per asset, the latest safe maintenance date and a work order."""
    import pandas as pd

    from shopfloor.workflows import maintenance as workflow
    from shopfloor.workflows import open_lake

    outlook = workflow.rul(open_lake(lake), backend=backend)
    rows = [
        {
            "asset": r.asset,
            "rul_h": r.rul_hours,
            "lower_h": r.rul_lower,
            "upper_h": r.rul_upper,
            "failure_risk_7d": r.failure_risk_7d,
            "latest_safe": r.latest_safe,
            "order_by": r.order_by,
            "urgent": r.urgent,
            "expected_saving": r.expected_saving,
        }
        for r in outlook.recommendations
    ]
    frame = pd.DataFrame(rows)
    if json:
        print_json(
            {"now": outlook.now, "level": outlook.prediction.level, "assets": records(frame)}
        )
        return
    title = (
        f"remaining useful life ({outlook.prediction.level:.0%} interval) "
        f"as of {outlook.now:%Y-%m-%d %H:%M}"
    )
    console.print(frame_table(frame, title, ("failure_risk_7d",)))


@models_app.command("list")
def models_list_command(lake: LakeOption = None, json: JsonOption = False) -> None:
    """Every registered model version with its stage."""
    from shopfloor.workflows import maintenance as workflow
    from shopfloor.workflows import open_lake

    versions = workflow.registry(open_lake(lake)).list()
    if json:
        print_json([_version_dict(v) for v in versions])
        return
    table = Table(title="models")
    for column in ("name", "version", "stage", "estimator", "created", "metrics"):
        table.add_column(column)
    for v in versions:
        metrics = ", ".join(f"{k}={m:.4g}" for k, m in v.metrics.items())
        created = datetime.fromtimestamp(v.created_at).strftime("%Y-%m-%d %H:%M")
        estimator = v.estimator.rsplit(":", 1)[-1]
        table.add_row(v.name, str(v.version), v.stage, estimator, created, metrics)
    console.print(table)


def _version_dict(v: Any) -> dict[str, Any]:
    return {
        "name": v.name,
        "version": v.version,
        "stage": v.stage,
        "estimator": v.estimator,
        "created_at": datetime.fromtimestamp(v.created_at).isoformat(),
        "params": v.params,
        "metrics": v.metrics,
        "training_data": v.training_data,
        "checksum": v.checksum,
        "notes": v.notes,
    }


@models_app.command("show")
def models_show_command(
    name: str,
    version: Annotated[
        int | None, typer.Option(help="Version (default: production, else latest).")
    ] = None,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """One model version: params, metrics, the Delta versions it was trained on."""
    from shopfloor.workflows import maintenance as workflow
    from shopfloor.workflows import open_lake

    info = _version_dict(workflow.registry(open_lake(lake)).get(name, version))
    if json:
        print_json(info)
        return
    table = Table(title=f"{name} v{info['version']}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for key, value in info.items():
        table.add_row(key, str(value))
    console.print(table)


@models_app.command("promote")
def models_promote_command(
    name: str, version: int, lake: LakeOption = None, json: JsonOption = False
) -> None:
    """Make a version the production model (the previous one is archived)."""
    from shopfloor.workflows import maintenance as workflow
    from shopfloor.workflows import open_lake

    record = workflow.registry(open_lake(lake)).promote(name, version)
    if json:
        print_json(_version_dict(record))
        return
    console.print(f"{name} v{version} is now in production")
