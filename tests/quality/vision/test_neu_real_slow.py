"""A small real training on NEU images (a subset, tiny network): the recipe learns steel."""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.quality.vision.classifier import DefectClassifier
from shopfloor.quality.vision.dataset import NEU_CLASSES, class_of, read_image
from tests.conftest import SHARED_DATASETS

NEU = SHARED_DATASETS / "neu-det" / "IMAGES"


def _subset(numbers: range) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for k, cls in enumerate(NEU_CLASSES):
        for n in numbers:
            path = NEU / f"{cls}_{n}.jpg"
            if class_of(path.name) is None or not path.is_file():
                continue  # numbers divisible by 4 are held out of shared/
            images.append(read_image(path))
            labels.append(k)
    return np.stack(images), np.asarray(labels, dtype=np.int64)


@pytest.mark.slow
def test_small_real_training_beats_chance_by_far() -> None:
    train_x, train_y = _subset(range(1, 41))  # 30 per class
    test_x, test_y = _subset(range(201, 221))  # 15 per class, disjoint
    clf = DefectClassifier(
        classes=NEU_CLASSES,
        image_size=64,
        widths=(16, 24, 48, 64),
        epochs=30,
        batch_size=16,
        num_threads=2,
        seed=0,
    ).fit(train_x, train_y)
    accuracy = float((clf.predict(test_x).indices == test_y).mean())
    assert accuracy >= 0.75, accuracy
