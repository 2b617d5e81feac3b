"""Export a registered condition model as an edge bundle (``shopfloor edge export``).

The gateway gets no lake and no pickle: each asset's fitted
:class:`~shopfloor.maintenance.condition.ConditionMonitor` becomes a
:class:`~shopfloor.maintenance.live.LiveModel` and an ONNX graph, and the manifest
records which registry version they came from (lineage: an edge alert names the model
version that raised it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shopfloor.edge.bundle import write_bundle
from shopfloor.errors import InputError, ModelError
from shopfloor.lake import Lake
from shopfloor.maintenance.condition import FleetConditionMonitor
from shopfloor.maintenance.live import AlarmRules, LiveModel
from shopfloor.workflows.maintenance import MODEL_NAME, registry


def export_edge_bundle(
    lake: Lake,
    out_dir: Path | str,
    model_name: str = MODEL_NAME,
    version: int | None = None,
    assets: Sequence[str] | None = None,
    *,
    rules: AlarmRules | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the bundle of ``model_name`` (``version``; default production, else latest).

    ``assets`` limits it to some machines (an unknown name is an error, not a silent
    omission: a gateway must not run without the model it was meant to get).
    """
    models = registry(lake)
    record = models.get(model_name, version)
    fleet = models.load(model_name, record.version)
    if not isinstance(fleet, FleetConditionMonitor):
        raise ModelError(
            f"model {model_name!r} v{record.version} is a {type(fleet).__name__}; "
            "only condition fleets (FleetConditionMonitor) run on the edge"
        )
    known = fleet.monitors_
    wanted = list(assets) if assets else sorted(known)
    unknown = [a for a in wanted if a not in known]
    if unknown:
        raise InputError(
            f"{', '.join(unknown)} not in {model_name} v{record.version} "
            f"(it has {', '.join(sorted(known))})",
            field="assets",
        )
    live = [LiveModel.from_monitor(name, known[name]) for name in wanted]
    source = {"name": record.name, "version": record.version, "checksum": record.checksum}
    return write_bundle(Path(out_dir), live, source=source, rules=rules, overwrite=overwrite)
