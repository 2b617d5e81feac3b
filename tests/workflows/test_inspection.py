"""Visual inspection on the lake: train and register, inspect, verdicts with their model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shopfloor.config import Settings
from shopfloor.errors import InputError, ModelError
from shopfloor.lake import Lake
from shopfloor.registry import ModelRegistry
from shopfloor.workflows.inspection import inspect_images, train_vision
from tests.quality.vision.synthetic_images import write_neu_dir

CLASSES = ("ok", "blob", "scratch")
# Small enough to train in seconds on two cores, large enough to learn three patterns.
# No shifts: a crop of a tiny image could cut the planted defect out (a wrong label).
SMALL = {"image_size": 32, "widths": (8, 16, 32), "batch_size": 8, "shift": 0.0, "jitter": 0.0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, Path]:
    root = tmp_path_factory.mktemp("inspection")
    images = write_neu_dir(root / "train", CLASSES, 24, 64, seed=0)
    lake = Lake(root / "lake", Settings(lake=root / "lake"))
    result = train_vision(lake, images, classes=CLASSES, epochs=20, seed=0, hyperparameters=SMALL)
    assert result.record.version == 1 and result.classes == CLASSES
    assert result.images == 72 and result.validation_images == 15
    # Three patterns a CNN tells apart in a few epochs: a floor that can fail.
    assert result.validation_accuracy is not None and result.validation_accuracy >= 0.8
    assert result.record.metrics["validation_accuracy"] == result.validation_accuracy
    return lake, images


def test_verdicts_are_stored_with_the_model_and_a_map(trained: tuple[Lake, Path]) -> None:
    lake, images = trained
    run = inspect_images(lake, images, asset="M1", product="P1", order="O-7")
    assert run.model == "defect-classifier:1" and run.ingest.quarantined == 0
    stored = lake.sql("SELECT * FROM inspections WHERE characteristic = 'surface' ORDER BY image")
    assert len(stored) == 72 and set(stored["model"]) == {"defect-classifier:1"}
    assert set(stored["asset"]) == {"M1"} and set(stored["order"]) == {"O-7"}
    truth = [Path(p).name.split("_")[0] for p in stored["image"]]
    assert np.mean(np.asarray(truth) == stored["label"].to_numpy()) >= 0.8
    # "ok" passes; a defect class fails.
    assert ((stored["label"] == "ok") == (stored["verdict"] == "pass")).all()
    assert stored["score"].between(1 / 3, 1.0).all()
    first = Path(stored["map"].iloc[0])
    assert first.is_file() and Image.open(first).size == (64, 64)
    assert (run.folder / "verdicts.parquet").is_file()


def test_the_same_run_twice_is_two_runs_and_maps_can_be_skipped(
    trained: tuple[Lake, Path],
) -> None:
    lake, images = trained
    before = len(lake.sql("SELECT 1 FROM inspections"))
    run = inspect_images(lake, images, asset="M2", maps=False, batch_size=10)
    assert run.verdicts["map"].isna().all() and len(run.verdicts) == 72
    assert len(lake.sql("SELECT 1 FROM inspections")) == before + 72


def test_a_later_version_is_traced_by_its_own_name(trained: tuple[Lake, Path]) -> None:
    lake, images = trained
    registry = ModelRegistry.for_lake(lake.path)
    registry.register("defect-classifier", registry.load("defect-classifier", 1))
    run = inspect_images(lake, images, asset="M3", maps=False)
    assert run.model == "defect-classifier:2"
    pinned = inspect_images(lake, images, asset="M3", version=1, maps=False)
    assert pinned.model == "defect-classifier:1"


def test_images_of_other_sizes_are_inspected_at_their_own_size(
    trained: tuple[Lake, Path], tmp_path: Path
) -> None:
    lake, _ = trained
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for i, size in enumerate((64, 80, 64)):
        pixels = np.full((size, size), 128, dtype=np.uint8)
        Image.fromarray(pixels).save(mixed / f"part_{i}.png")
    run = inspect_images(lake, mixed, asset="M1")
    sizes = [Image.open(p).size for p in run.verdicts["map"]]
    assert sizes == [(64, 64), (80, 80), (64, 64)]


def test_bad_requests(trained: tuple[Lake, Path], tmp_path: Path) -> None:
    lake, images = trained
    with pytest.raises(ModelError, match="no model 'nope'"):
        inspect_images(lake, images, asset="M1", name="nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no image files"):
        inspect_images(lake, tmp_path / "empty", asset="M1")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "part.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(InputError, match="not a readable image") as info:
        inspect_images(lake, broken, asset="M1")
    assert info.value.source == str(broken / "part.jpg")
    with pytest.raises(InputError, match="no such weights file"):
        train_vision(lake, images, classes=CLASSES, weights=tmp_path / "missing.pt")
    with pytest.raises(InputError, match="starts with no known class"):
        train_vision(lake, images, classes=("ok", "blob"), epochs=1)
    with pytest.raises(ModelError, match="no hyperparameter depth"):
        train_vision(lake, images, classes=CLASSES, hyperparameters={"depth": 3})
