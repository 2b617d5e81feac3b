"""NEU benchmark plumbing on a tiny synthetic NEU-layout set (the real run takes minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopfloor.errors import InputError
from shopfloor.quality.vision.dataset import NEU_CLASSES
from shopfloor.workflows.benchmarks.neu import make_dev_split, run_neu
from tests.quality.vision.synthetic_images import write_neu_dir

TINY = {
    "image_size": 32,
    "widths": (8, 16, 32),
    "epochs": 10,
    "batch_size": 8,
    "zoom": 1.0,
    "jitter": 0.0,
    "rotate": True,  # the synthetic defects have no canonical orientation
}


def test_run_neu_on_a_tiny_split(tmp_path: Path) -> None:
    root = write_neu_dir(tmp_path / "neu", NEU_CLASSES, 10, 40, seed=0)
    split = make_dev_split(root, tmp_path / "split", seed=0)
    assert (split.n_train, split.n_test) == (48, 12)
    messages: list[str] = []
    report = run_neu(
        split.train, split.test, seed=0, progress=messages.append, threads=1, params=TINY
    )
    out = report.as_dict()
    for key in ("accuracy", "macro_f1", "images_per_second", "fit_seconds"):
        assert key in out
    # six classes of which pairs differ only in brightness: well above chance (1/6)
    assert out["accuracy"] >= 0.5
    assert 0.0 <= out["macro_f1"] <= 1.0
    assert sum(map(sum, out["confusion"])) == 12
    assert set(out["per_class_recall"]) == set(NEU_CLASSES)
    assert out["onnx_max_abs_diff"] <= 1e-4
    assert out["images_per_second"] > 0
    assert out["n_train"] == 48
    assert out["epochs"] == 10
    assert sum(m.startswith("epoch ") for m in messages) == 10


def test_missing_class_in_training_set(tmp_path: Path) -> None:
    root = write_neu_dir(tmp_path / "neu", NEU_CLASSES[:5], 2, 24, seed=0)
    with pytest.raises(InputError, match="scratches"):
        run_neu(root, root, params=TINY)
    with pytest.raises(InputError, match="no such directory"):
        run_neu(tmp_path / "nowhere", root, params=TINY)
