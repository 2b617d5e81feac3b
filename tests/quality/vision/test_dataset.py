"""Loading NEU-DET-layout folders: class from prefix, errors naming the file, splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shopfloor.errors import InputError
from shopfloor.quality.vision.dataset import (
    NEU_CLASSES,
    class_of,
    load_images,
    split_dataset,
)
from tests.quality.vision.synthetic_images import write_neu_dir


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rolled-in_scale_12.jpg", "rolled-in_scale"),
        ("pitted_surface_3.jpg", "pitted_surface"),
        ("crazing_1.jpg", "crazing"),
        ("scratches_300.JPG", "scratches"),
        ("rolled_in_scale_1.jpg", None),
        ("unknown_1.jpg", None),
    ],
)
def test_class_from_prefix(name: str, expected: str | None) -> None:
    assert class_of(name, NEU_CLASSES) == expected


def test_longest_prefix_wins() -> None:
    assert class_of("scratches_1.png", ("scratch", "scratches")) == "scratches"
    assert class_of("scratch_1.png", ("scratch", "scratches")) == "scratch"


def test_load_neu_layout_and_flat(tmp_path: Path) -> None:
    root = write_neu_dir(tmp_path / "neu", NEU_CLASSES, 2, 40, seed=0)
    data = load_images(root)
    assert data.images.shape == (12, 40, 40)
    assert data.images.dtype == np.uint8
    for path, label in zip(data.paths, data.labels, strict=True):
        assert path.name.startswith(NEU_CLASSES[label])
    assert sorted(np.bincount(data.labels).tolist()) == [2] * 6
    flat = load_images(root / "IMAGES")  # a flat folder of images works the same
    assert np.array_equal(flat.images, data.images)
    resized = load_images(root, size=32)
    assert resized.images.shape == (12, 32, 32)


def test_unknown_prefix_names_the_file(tmp_path: Path) -> None:
    root = write_neu_dir(tmp_path / "neu", NEU_CLASSES, 1, 32, seed=0)
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "IMAGES" / "dent_1.png")
    with pytest.raises(InputError, match=r"dent_1\.png"):
        load_images(root)
    unlabelled = load_images(root, require_labels=False)
    assert (unlabelled.labels == -1).sum() == 1


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    root = write_neu_dir(tmp_path / "neu", NEU_CLASSES, 1, 32, seed=0)
    (root / "IMAGES" / "crazing_99.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(InputError, match=r"crazing_99\.jpg"):
        load_images(root)


def test_empty_and_missing_directories(tmp_path: Path) -> None:
    (tmp_path / "empty" / "IMAGES").mkdir(parents=True)
    with pytest.raises(InputError, match="no image files"):
        load_images(tmp_path / "empty")
    with pytest.raises(InputError, match="no such directory"):
        load_images(tmp_path / "nowhere")


def test_mixed_sizes_need_a_size(tmp_path: Path) -> None:
    root = write_neu_dir(tmp_path / "neu", NEU_CLASSES, 1, 32, seed=0)
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(root / "IMAGES" / "patches_9.png")
    with pytest.raises(InputError, match=r"patches_9\.png"):
        load_images(root)
    assert load_images(root, size=24).images.shape == (7, 24, 24)


def test_split_is_stratified_disjoint_and_seeded(tmp_path: Path) -> None:
    root = write_neu_dir(tmp_path / "neu", NEU_CLASSES, 10, 24, seed=0)
    a = split_dataset(root, tmp_path / "a", seed=3)
    assert (a.n_train, a.n_test) == (48, 12)
    train = {p.name for p in (a.train / "IMAGES").iterdir()}
    test = {p.name for p in (a.test / "IMAGES").iterdir()}
    assert not train & test
    assert len(train | test) == 60
    assert sorted(np.bincount(load_images(a.test).labels).tolist()) == [2] * 6
    # annotations follow their images
    assert {p.stem for p in (a.test / "ANNOTATIONS").iterdir()} == {Path(n).stem for n in test}
    b = split_dataset(root, tmp_path / "b", seed=3)
    assert {p.name for p in (b.test / "IMAGES").iterdir()} == test
    c = split_dataset(root, tmp_path / "c", seed=4)
    assert {p.name for p in (c.test / "IMAGES").iterdir()} != test
    with pytest.raises(InputError):
        split_dataset(root, tmp_path / "d", test_fraction=1.5)
