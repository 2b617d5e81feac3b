"""Layer rules of DESIGN section 3, and a light `import shopfloor`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "shopfloor"

BASE = {"config", "errors", "schema", "units", "estimators", "catalogue", "tariffs"}
ANALYTICS = {
    "production",
    "maintenance",
    "quality",
    "planning",
    "supply",
    "twin",
    "data_quality",
    "demo_plant",
}
IO = {"lake", "ingest", "registry", "access", "streaming"}
# What each layer may import from shopfloor itself.
ALLOWED: dict[str, set[str]] = {
    **{m: BASE for m in BASE},
    **{m: BASE for m in ANALYTICS},
    **{m: BASE | IO for m in IO},
    "compute": set(),
    "edge": BASE | ANALYTICS | {"streaming"},  # no lake, registry, workflows: runs on gateways
    "workflows": BASE | ANALYTICS | IO | {"compute", "workflows", "edge"},
    "server": {"workflows", "config", "errors", "server"},
    # The CLI reaches the server only to start it (`shopfloor serve`, the demo's serve).
    "cli": BASE | {"workflows", "cli", "server"},
}
SERVER_STARTERS = {"cli/serve_cmd.py"}


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "shopfloor" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE or p.name != "__init__.py"),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_layer_imports(path: Path) -> None:
    layer = _layer(path)
    assert layer in ALLOWED, f"{layer} is not a known layer: add it to DESIGN and this test"
    own = {layer}
    bad = _imports(path) - ALLOWED[layer] - own
    assert not bad, f"{path.relative_to(PACKAGE)} ({layer}) must not import {sorted(bad)}"
    rel = str(path.relative_to(PACKAGE))
    if layer == "cli" and rel not in SERVER_STARTERS:
        assert "server" not in _imports(path), f"{rel}: only {SERVER_STARTERS} may start the server"


def test_import_shopfloor_is_light() -> None:
    code = (
        "import sys, shopfloor; heavy = [m for m in ('torch', 'pyspark', 'ortools', 'duckdb', "
        "'deltalake', 'pandas', 'pyarrow', 'sklearn', 'lightgbm') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_lake_attribute_loads_lazily() -> None:
    code = "import shopfloor; print(shopfloor.Lake.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Lake"


def test_modules_stay_small() -> None:
    big = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert not big, f"split these modules by concept: {big}"
