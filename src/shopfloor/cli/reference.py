"""Generate docs/cli.md from the real command tree (`make docs`).

A test regenerates it and fails when the committed file is stale, so the reference
cannot drift from the CLI.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer.core import TyperArgument


def _command_tree() -> Any:
    from shopfloor.cli.main import app

    return typer.main.get_command(app)


def _param_line(param: Any) -> str:
    if isinstance(param, TyperArgument):
        name = str(param.name).upper()
        many = "..." if param.nargs == -1 else ""
        return f"- `{name}{many}` (argument{'' if param.required else ', optional'})"
    names = ", ".join(f"`{n}`" for n in [*param.opts, *param.secondary_opts])
    text = (param.help or "").strip()
    kind = "" if param.is_flag else " " + param.display_type(None).strip("<>").upper()
    default = ""
    if param.show_default is not False and not param.is_flag and param.default not in (None, ()):
        default = f" (default: `{param.default}`)"
    if param.required:
        default = " (required)"
    return f"- {names}{kind}: {text}{default}".rstrip()


def _render(command: Any, path: list[str], out: list[str]) -> None:
    if command.hidden:
        return
    heading = "#" * min(len(path) + 1, 4)
    out.append(f"{heading} `{' '.join(path)}`\n")
    doc = inspect.cleandoc(command.help or "")
    if doc:
        out.append(doc + "\n")
    params = [p for p in command.params if p.name not in ("help",)]
    if params:
        out.extend(_param_line(p) for p in params)
        out.append("")
    if hasattr(command, "commands"):
        for name in sorted(command.commands):
            _render(command.commands[name], [*path, name], out)


def render_reference() -> str:
    out = [
        "# CLI reference",
        "",
        "Generated from the command tree by `make docs`; do not edit by hand.",
        "",
        "Every command exits 0 on success and 2 on bad input, with a one-line error naming the "
        "file, row or field at fault.",
        "",
    ]
    _render(_command_tree(), ["shopfloor"], out)
    return "\n".join(out).rstrip() + "\n"


def render_data_model() -> str:
    """docs/data-model.md from the Arrow schemas of shopfloor.schema."""
    from shopfloor.schema import LAKE_COLUMNS, TABLES

    out = [
        "# Data model",
        "",
        "Generated from `shopfloor.schema` by `make docs`; do not edit by hand.",
        "",
        "All timestamps are UTC, timezone-aware, microsecond precision. Facts live in Delta "
        "tables under `<lake>/tables/<name>`; `assets` and `signals` live in the SQLite "
        "metadata store. Every Delta fact row carries `ingest_id` (the lineage record that "
        "wrote it) and `seq` (its row number in the source), so any stored value can be "
        "traced back to the file and line it came from.",
        "",
    ]
    for spec in TABLES.values():
        out.append(f"## `{spec.name}`\n")
        out.append(
            f"{spec.description}. Storage: {spec.storage}"
            + (f", partitioned by {', '.join(spec.partition_by)}" if spec.partition_by else "")
            + f". Natural key: {', '.join(spec.key)}.\n"
        )
        out.append("| field | type | required | meaning |")
        out.append("|---|---|---|---|")
        for field in spec.schema:
            if field.name in LAKE_COLUMNS:
                continue
            required = "yes" if field.name in spec.required else ""
            out.append(
                f"| `{field.name}` | {field.type} | {required} | {spec.docs.get(field.name, '')} |"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    import sys

    which = sys.argv[1] if len(sys.argv) > 1 else "cli"
    print(render_data_model() if which == "data-model" else render_reference(), end="")
