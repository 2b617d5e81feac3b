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
