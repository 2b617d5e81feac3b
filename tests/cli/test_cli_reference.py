"""docs/cli.md and docs/data-model.md are generated; a stale copy fails here (run `make docs`)."""

from __future__ import annotations

from pathlib import Path

from shopfloor.cli.reference import render_data_model, render_reference

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_cli_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == render_reference(), (
        "docs/cli.md is stale: run `make docs`"
    )


def test_data_model_is_current() -> None:
    assert (DOCS / "data-model.md").read_text(encoding="utf-8") == render_data_model(), (
        "docs/data-model.md is stale: run `make docs`"
    )


def test_reference_covers_the_contract() -> None:
    text = render_reference()
    for command in (
        "shopfloor demo",
        "shopfloor ingest",
        "shopfloor dq check",
        "shopfloor oee",
        "shopfloor lake info",
        "shopfloor lake compact",
        "shopfloor lake vacuum",
    ):
        assert f"`{command}`" in text
    for option in (
        "--table",
        "--mapping",
        "--json",
        "--lake",
        "--days",
        "--seed",
        "--no-serve",
        "--by",
        "--period",
    ):
        assert f"`{option}`" in text
