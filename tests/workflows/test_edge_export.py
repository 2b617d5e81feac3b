"""Export the demo plant's registered condition fleet as an edge bundle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]
import pytest
from typer.testing import CliRunner

from shopfloor.cli import edge_cmd
from shopfloor.edge.bundle import read_bundle
from shopfloor.errors import InputError
from shopfloor.maintenance.live import LiveModel, live_scores
from shopfloor.workflows.edge import export_edge_bundle
from shopfloor.workflows.maintenance import condition_frame, registry


def test_export_scores_like_the_registered_monitor(demo_plant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lake, _ = demo_plant
    record = registry(lake).get("condition")
    fleet = registry(lake).load("condition", record.version)
    out = export_edge_bundle(lake, tmp_path / "bundle")
    bundle = read_bundle(out)
    assert [a.asset for a in bundle.assets] == sorted(fleet.monitors_)
    assert bundle.source["version"] == record.version
    assert {p.name for p in out.iterdir()} == {"manifest.json"} | {a.onnx for a in bundle.assets}

    entry = bundle.assets[0]
    monitor = fleet.monitors_[entry.asset]
    assert entry.threshold == monitor.threshold_ and entry.signals == monitor.signals_
    frame = condition_frame(lake)
    rows = frame[frame["asset"] == entry.asset].tail(500)
    values = rows[list(entry.signals)].to_numpy(dtype=np.float64, copy=True)
    context = rows[entry.context].to_numpy(dtype=np.float64, copy=True)
    session = ort.InferenceSession(str(bundle.path(entry)), providers=["CPUExecutionProvider"])
    score, sigma = session.run(None, {"values": values, "context": context})
    want_score, want_sigma = live_scores(
        LiveModel.from_monitor(entry.asset, monitor), values, context
    )
    assert np.isfinite(want_score).sum() > 100
    np.testing.assert_allclose(score, want_score, rtol=1e-12, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(sigma, want_sigma, rtol=1e-12, atol=1e-12, equal_nan=True)

    with pytest.raises(InputError, match="not empty"):
        export_edge_bundle(lake, out)
    with pytest.raises(InputError, match="NOPE not in condition"):
        export_edge_bundle(lake, tmp_path / "other", assets=["NOPE"])
    assert not (tmp_path / "other").exists()


def test_cli_export_of_some_assets(demo_plant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lake, _ = demo_plant
    assets = sorted(registry(lake).load("condition").monitors_)[:2]
    out = tmp_path / "b"
    args = ["export", "--lake", str(lake.path), "--out", str(out), "--assets", ",".join(assets)]
    result = CliRunner().invoke(edge_cmd.app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert len(payload["files"]) == 3 and [a.asset for a in read_bundle(out).assets] == assets
    again = CliRunner().invoke(edge_cmd.app, args)
    assert isinstance(again.exception, InputError)  # main() turns it into exit 2
    assert "not empty" in str(again.exception)
    assert CliRunner().invoke(edge_cmd.app, [*args, "--overwrite"]).exit_code == 0
