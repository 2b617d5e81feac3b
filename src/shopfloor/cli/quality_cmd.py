"""`shopfloor quality spc | capability | train-vision | inspect`: SPC and inspection."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shopfloor.cli.output import JsonOption, LakeOption, console, frame_table, print_json, records

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

# Workflows import pandas, scipy and (for images) torch: load them only when a command
# runs, so `shopfloor --help` stays instant.

app = typer.Typer(
    help="Quality: control charts, capability, visual inspection.", no_args_is_help=True
)

AssetOption = Annotated[str | None, typer.Option(help="Only this asset.")]
ProductOption = Annotated[str | None, typer.Option(help="Only this product.")]
CharacteristicOption = Annotated[str | None, typer.Option(help="Only this characteristic.")]
SinceOption = Annotated[str | None, typer.Option(help="From this time on (ISO 8601, UTC).")]
UntilOption = Annotated[str | None, typer.Option(help="Before this time (ISO 8601, UTC).")]
SubgroupOption = Annotated[
    int,
    typer.Option(help="Consecutive measurements per subgroup: 1 = I-MR, 2-10 = X̄-R, 11-25 = X̄-S."),
]
# Violations printed in the terminal; --json carries all of them.
SHOWN = 20


@app.command("spc")
def spc_command(
    asset: AssetOption = None,
    product: ProductOption = None,
    characteristic: CharacteristicOption = None,
    subgroup_size: SubgroupOption = 5,
    baseline: Annotated[
        int, typer.Option(help="Points (subgroups) of phase I that set the limits.")
    ] = 25,
    baseline_until: Annotated[
        str | None, typer.Option(help="Phase I ends at this time instead (ISO 8601, UTC).")
    ] = None,
    rules: Annotated[
        str, typer.Option(help="Run rules: western_electric (1-4) or nelson (1-8).")
    ] = "western_electric",
    since: SinceOption = None,
    until: UntilOption = None,
    html: Annotated[
        Path | None, typer.Option(help="Also write the charts to this HTML file.")
    ] = None,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Control charts of the measured inspections, phase I limits, and rule violations.

    One chart per asset, product and characteristic; see docs/quality.md.
    """
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.spc import spc

    report = spc(
        open_lake(lake),
        subgroup_size=subgroup_size,
        baseline=baseline,
        baseline_until=baseline_until,
        rule_set=rules,  # type: ignore[arg-type]
        asset=asset,
        product=product,
        characteristic=characteristic,
        since=since,
        until=until,
    )
    if html is not None:
        from shopfloor.workflows.spc_plots import write_spc_html

        write_spc_html(report, html)
    summary, violations = report.summary(), report.violations()
    if json:
        print_json({"series": records(summary), "violations": records(violations)})
        return
    shown = summary.copy()
    for column in ("mean", "sigma", "lcl", "ucl"):
        shown[column] = shown[column].map(lambda v: f"{v:.4g}")
    console.print(frame_table(shown.drop(columns=["baseline"]), f"SPC ({report.rule_set} rules)"))
    later = violations[violations["phase"] == "II"]
    if later.empty:
        console.print("no rule violations in phase II")
    else:
        table = later[["asset", "product", "characteristic", "ts", "rule", "description"]]
        title = f"phase II violations: {len(later)} (first {min(SHOWN, len(later))})"
        console.print(frame_table(table.head(SHOWN), title))
    if html is not None:
        console.print(f"charts: {html}")


@app.command("capability")
def capability_command(
    asset: AssetOption = None,
    product: ProductOption = None,
    characteristic: CharacteristicOption = None,
    subgroup_size: SubgroupOption = 5,
    confidence: Annotated[float, typer.Option(help="Confidence of the intervals.")] = 0.95,
    since: SinceOption = None,
    until: UntilOption = None,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Cp, Cpk, Pp, Ppk with confidence intervals against each series' spec limits."""
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.spc import capability_study

    study = capability_study(
        open_lake(lake),
        subgroup_size=subgroup_size,
        confidence=confidence,
        asset=asset,
        product=product,
        characteristic=characteristic,
        since=since,
        until=until,
    )
    frame = study.frame()
    if json:
        print_json({"capability": records(frame), "skipped": list(study.skipped)})
        return
    console.print(capability_table(frame, confidence))
    for reason in study.skipped:
        console.print(f"skipped {reason}")


def capability_table(frame: pd.DataFrame, confidence: float) -> Table:
    """Cpk with its interval and Ppk, one row per series (fits 80 columns; Cp and Pp
    with their intervals are in --json)."""
    import pandas as pd

    def number(value: object) -> str:
        return "-" if pd.isna(value) else f"{value:.2f}"  # type: ignore[call-overload]

    shown = pd.DataFrame(
        {
            "asset": frame["asset"],
            "product": frame["product"],
            "characteristic": frame["characteristic"],
            "n": frame["n"],
            "Cpk": frame["cpk"].map(number),
            f"Cpk {confidence:.0%} CI": [
                f"{lo:.2f}–{hi:.2f}"
                for lo, hi in zip(frame["cpk_lower"], frame["cpk_upper"], strict=True)
            ],
            "Ppk": frame["ppk"].map(number),
            "out of spec": frame["out_of_spec"],
        }
    )
    return frame_table(shown, "capability", ("out of spec",))


@app.command("train-vision")
def train_vision_command(
    images: Annotated[
        Path, typer.Argument(help="Folder of labelled images (NEU-DET layout or flat).")
    ],
    name: Annotated[str, typer.Option(help="Registry name of the model.")] = "defect-classifier",
    classes: Annotated[
        str | None,
        typer.Option(help="Comma-separated class names the file names start with (default: NEU)."),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs (default: measured).")] = None,
    weights: Annotated[
        Path | None, typer.Option(help="Start from this state-dict file instead of random weights.")
    ] = None,
    validation: Annotated[
        float, typer.Option(help="Stratified share held out to measure the model (0: none).")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, batches and split.")] = 0,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Train the defect classifier (a CNN, from scratch on CPU) and register it."""
    from shopfloor.cli.output import step_bars
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.inspection import train_vision

    wanted = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
    with step_bars(enabled=not json) as step:
        result = train_vision(
            open_lake(lake),
            images,
            name=name,
            classes=wanted,
            epochs=epochs,
            weights=weights,
            validation=validation,
            seed=seed,
            progress=step,
        )
    payload = {
        "model": f"{result.record.name}:{result.record.version}",
        "classes": list(result.classes),
        "images": result.images,
        "validation_images": result.validation_images,
        "validation_accuracy": result.validation_accuracy,
        "validation_macro_f1": result.macro_f1,
        "fit_seconds": result.fit_seconds,
    }
    if json:
        print_json(payload)
        return
    measured = (
        f"validation accuracy {result.validation_accuracy:.1%} on {result.validation_images} "
        f"held-out images, macro F1 {result.macro_f1:.3f}"
        if result.validation_accuracy is not None and result.macro_f1 is not None
        else "no validation share held out"
    )
    console.print(
        f"registered {payload['model']} ({len(result.classes)} classes, {result.images} images, "
        f"{result.fit_seconds:.0f} s): {measured}"
    )


@app.command("inspect")
def inspect_command(
    images: Annotated[Path, typer.Argument(help="Folder of images to inspect.")],
    asset: Annotated[str, typer.Option(help="Asset whose parts the images show.")],
    product: ProductOption = None,
    order: Annotated[str | None, typer.Option(help="Production order of the parts.")] = None,
    model: Annotated[str, typer.Option(help="Registry name of the model.")] = "defect-classifier",
    version: Annotated[
        int | None, typer.Option(help="Model version (default: production, else latest).")
    ] = None,
    no_maps: Annotated[
        bool, typer.Option("--no-maps", help="Skip the Grad-CAM localisation maps.")
    ] = False,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Classify images with a registered model; verdicts go into 'inspections' with the model."""
    from shopfloor.cli.output import step_bars
    from shopfloor.workflows import open_lake
    from shopfloor.workflows.inspection import inspect_images

    with step_bars(enabled=not json) as step:
        run = inspect_images(
            open_lake(lake),
            images,
            asset=asset,
            product=product,
            order=order,
            name=model,
            version=version,
            maps=not no_maps,
            progress=step,
        )
    verdicts = run.verdicts
    if json:
        print_json({"run": run.run, "model": run.model, "verdicts": records(verdicts)})
        return
    counts = verdicts.groupby("label")["image"].count().sort_values(ascending=False)
    shown = ", ".join(f"{label} {count}" for label, count in counts.items())
    console.print(
        f"{len(verdicts)} images inspected by {run.model}: {run.failed} fail ({shown}); "
        f"stored in 'inspections', maps and verdict file in {run.folder}"
    )
