"""The edge bundle: what a gateway needs to score its machines, in one directory.

Layout (format version 1)::

    bundle/
      manifest.json      format, created_at, source model, alarm rules, one entry per asset
      <asset>.onnx       the asset's live condition score (see maintenance.onnx_export)

One ONNX model per asset rather than one fleet graph: each asset has its own signals
(S differs between machines), a gateway usually serves a handful of assets, and a
bundle can be cut down to some assets by deleting entries.  The learned arrays live only
in the ONNX files; the manifest holds what the runner needs around them (signals in
input order, the context signal, the threshold and the alarm rules) and each file's
SHA-256, so a damaged or swapped model is refused at start rather than scoring wrong.

The writer imports ``onnx`` (through the exporter) only when called: the runner reads
bundles and must stay light.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shopfloor.errors import InputError, ModelError
from shopfloor.maintenance.live import AlarmRules, LiveModel

FORMAT = "shopfloor-edge-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class BundleAsset:
    """One asset's entry in the manifest."""

    asset: str
    context: str
    signals: tuple[str, ...]
    nominal: float
    bins: int
    min_context: float
    log_scale: bool
    threshold: float
    onnx: str  # file name inside the bundle
    sha256: str


@dataclass(frozen=True)
class EdgeBundle:
    """A read manifest; ``path(asset)`` is the asset's ONNX file."""

    root: Path
    created_at: str
    source: dict[str, Any]
    rules: AlarmRules
    assets: tuple[BundleAsset, ...]

    def path(self, entry: BundleAsset) -> Path:
        return self.root / entry.onnx


def _file_name(asset: str, taken: set[str]) -> str:
    base = _UNSAFE.sub("_", asset).strip(".") or "asset"
    name, n = f"{base}.onnx", 1
    while name.lower() in taken or name == MANIFEST:
        n += 1
        name = f"{base}-{n}.onnx"
    taken.add(name.lower())
    return name


def write_bundle(
    out_dir: Path,
    models: Sequence[LiveModel],
    *,
    source: dict[str, Any],
    rules: AlarmRules | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a bundle for ``models`` to ``out_dir``; all or nothing.

    Files are written to a temporary sibling directory which is then renamed onto
    ``out_dir``: an export that fails half-way leaves no half-written bundle a gateway
    could pick up.  A non-empty ``out_dir`` is refused unless ``overwrite``.
    """
    from shopfloor.maintenance.onnx_export import to_onnx  # imports onnx: writers only

    out = Path(out_dir)
    if not models:
        raise InputError("no asset to export", field="assets")
    if len({m.asset for m in models}) != len(models):
        raise InputError("an asset appears twice", field="assets")
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a directory", source=str(out))
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError("is not empty (pass overwrite to replace it)", source=str(out))
    rules = rules or AlarmRules()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        taken: set[str] = set()
        entries = []
        for model in models:
            data = to_onnx(model)
            name = _file_name(model.asset, taken)
            (tmp / name).write_bytes(data)
            params = model.to_dict()
            del params["centre"], params["scale"], params["eps"]
            entries.append({**params, "onnx": name, "sha256": hashlib.sha256(data).hexdigest()})
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": source,
            "alarm": asdict(rules),
            "assets": entries,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _fsync_dir(tmp)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _fsync_dir(path: Path) -> None:
    for child in path.iterdir():
        with open(child, "rb") as handle:
            os.fsync(handle.fileno())


def _need(data: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if name not in data:
        raise InputError("missing", source=where, field=name)
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InputError(f"has the wrong type ({type(value).__name__})", source=where, field=name)
    return value


def read_bundle(bundle_dir: Path, *, verify: bool = True) -> EdgeBundle:
    """Read and check a bundle's manifest (and, with ``verify``, its files' checksums)."""
    root = Path(bundle_dir)
    manifest = root / MANIFEST
    where = str(manifest)
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no manifest: not an edge bundle directory", source=where) from None
    except (OSError, ValueError) as err:
        raise InputError(f"unreadable manifest ({err})", source=where) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"not a {FORMAT} manifest", source=where, field="format")
    version = _need(data, "format_version", int, where)
    if version > FORMAT_VERSION:
        raise InputError(
            f"format version {version} is newer than this runner's {FORMAT_VERSION}",
            source=where,
            field="format_version",
        )
    alarm = _need(data, "alarm", dict, where)
    try:
        rules = AlarmRules(**alarm)
    except (TypeError, ModelError) as err:
        raise InputError(f"bad alarm rules ({err})", source=where, field="alarm") from None
    assets = []
    for n, item in enumerate(_need(data, "assets", list, where)):
        at = f"{where}, assets[{n}]"
        if not isinstance(item, dict):
            raise InputError("must be an object", source=at)
        entry = BundleAsset(
            asset=_need(item, "asset", str, at),
            context=_need(item, "context", str, at),
            signals=tuple(str(s) for s in _need(item, "signals", list, at)),
            nominal=float(_need(item, "nominal", (int, float), at)),
            bins=_need(item, "bins", int, at),
            min_context=float(_need(item, "min_context", (int, float), at)),
            log_scale=bool(_need(item, "log_scale", bool, at)),
            threshold=float(_need(item, "threshold", (int, float), at)),
            onnx=_need(item, "onnx", str, at),
            sha256=_need(item, "sha256", str, at),
        )
        if not entry.signals:
            raise InputError("no signals", source=at, field="signals")
        path = root / entry.onnx
        if path.parent != root:
            raise InputError("must be a file name inside the bundle", source=at, field="onnx")
        if verify:
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as err:
                raise InputError(f"missing model file ({err.strerror})", source=str(path)) from None
            if digest != entry.sha256:
                raise InputError("checksum mismatch: damaged or replaced", source=str(path))
        assets.append(entry)
    if not assets:
        raise InputError("the bundle has no assets", source=where, field="assets")
    if len({a.asset for a in assets}) != len(assets):
        raise InputError("an asset appears twice", source=where, field="assets")
    return EdgeBundle(
        root=root,
        created_at=str(data.get("created_at", "")),
        source=dict(data.get("source") or {}),
        rules=rules,
        assets=tuple(assets),
    )
