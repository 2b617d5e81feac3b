"""Grad-CAM: one 0..1 map per image at its own size, peaking on the planted defect."""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.quality.vision.classifier import DefectClassifier
from shopfloor.quality.vision.gradcam import grad_cam
from tests.quality.vision.synthetic_images import dataset

KINDS = ("clean", "blob")


@pytest.fixture(scope="module")
def fitted() -> DefectClassifier:
    images, labels, _ = dataset(40, 64, seed=1, kinds=KINDS)
    return DefectClassifier(
        classes=KINDS,
        image_size=64,
        widths=(8, 16, 32, 32),
        epochs=15,
        batch_size=8,
        learning_rate=3e-3,
        zoom=1.0,
        jitter=0.0,
        num_threads=1,
        seed=0,
    ).fit(images, labels)


def test_maps_have_image_size_and_unit_range(fitted: DefectClassifier) -> None:
    images, _, _ = dataset(3, 80, seed=5, kinds=KINDS)  # 80 px: maps come back at 80 px
    cam = grad_cam(fitted, images, batch_size=4)
    assert cam.maps.shape == (6, 80, 80)
    assert cam.maps.dtype == np.float32
    assert float(cam.maps.min()) >= 0.0
    assert float(cam.maps.max()) <= 1.0
    assert len(cam.targets) == 6
    assert all(0.0 <= p <= 1.0 for p in cam.probabilities)
    with pytest.raises(InputError, match="dent"):
        grad_cam(fitted, images, target="dent")


def test_map_highlights_the_planted_defect(fitted: DefectClassifier) -> None:
    images, labels, masks = dataset(12, 64, seed=9, kinds=KINDS)
    blob = labels == 1
    cam = grad_cam(fitted, images[blob], target="blob")
    inside = np.asarray([m[k].mean() for m, k in zip(cam.maps, masks[blob], strict=True)])
    outside = np.asarray([m[~k].mean() for m, k in zip(cam.maps, masks[blob], strict=True)])
    # the stain covers ~5 % of the image; its mean activation must clearly dominate
    assert float(np.median(inside / np.maximum(outside, 1e-6))) > 2.0
    assert float((inside > outside).mean()) >= 0.8
