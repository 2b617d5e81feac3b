"""Edge bundles: written all or nothing, read back checked, refused with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopfloor.edge.bundle import MANIFEST, read_bundle, write_bundle
from shopfloor.errors import InputError
from shopfloor.maintenance.live import AlarmRules
from tests.edge.fleet import SIGNALS, live_model

SOURCE = {"name": "condition", "version": 3}


@pytest.fixture(scope="module")
def models():  # type: ignore[no-untyped-def]
    return [live_model("M1", 1), live_model("line 2/press", 2)]


def test_bundle_round_trip(tmp_path: Path, models) -> None:  # type: ignore[no-untyped-def]
    out = write_bundle(tmp_path / "b", models, source=SOURCE, rules=AlarmRules(off_after=5))
    assert sorted(p.name for p in out.iterdir()) == ["M1.onnx", "line_2_press.onnx", MANIFEST]
    bundle = read_bundle(out)
    assert bundle.source == SOURCE and bundle.rules == AlarmRules(off_after=5)
    first = bundle.assets[1]
    assert first.asset == "line 2/press" and first.signals == SIGNALS
    assert first.threshold == models[1].threshold and first.context == "speed"
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["format_version"] == 1 and "centre" not in manifest["assets"][0]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_non_empty_directory_is_refused_unless_overwrite(tmp_path: Path, models) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "b"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        write_bundle(out, models, source=SOURCE)
    assert (out / "keep.txt").exists()
    write_bundle(out, models[:1], source=SOURCE, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["M1.onnx", MANIFEST]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_failed_write_leaves_nothing(tmp_path: Path, models, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import shopfloor.maintenance.onnx_export as exporter

    original, calls = exporter.to_onnx, []

    def broken(model):  # type: ignore[no-untyped-def]
        calls.append(model.asset)
        if len(calls) == 2:  # the first asset's file is already written
            raise RuntimeError("disk full")
        return original(model)

    monkeypatch.setattr(exporter, "to_onnx", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_bundle(tmp_path / "b", models, source=SOURCE)
    assert list(tmp_path.iterdir()) == []


def test_damaged_bundles_are_refused_naming_the_file(tmp_path: Path, models) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"manifest\.json: no manifest"):
        read_bundle(tmp_path)
    out = write_bundle(tmp_path / "b", models, source=SOURCE)
    (out / "M1.onnx").write_bytes(b"not a model")
    with pytest.raises(InputError, match=r"M1\.onnx: checksum mismatch"):
        read_bundle(out)
    manifest = json.loads((out / MANIFEST).read_text())
    del manifest["assets"][0]["signals"]
    (out / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"assets\[0\], field 'signals': missing"):
        read_bundle(out)
    manifest["format_version"] = 99
    (out / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="newer than this runner"):
        read_bundle(out)
