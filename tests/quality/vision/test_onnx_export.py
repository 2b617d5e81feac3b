"""ONNX export: onnxruntime matches torch within 1e-4, dynamic batch, metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.quality.vision.anomaly import AutoencoderAnomalyDetector
from shopfloor.quality.vision.classifier import DefectClassifier
from shopfloor.quality.vision.onnx_export import (
    OnnxRunner,
    anomaly_parity,
    classifier_parity,
    export_anomaly,
    export_classifier,
)
from tests.quality.vision.synthetic_images import dataset

KINDS = ("clean", "blob", "scratch")


@pytest.fixture(scope="module")
def classifier() -> DefectClassifier:
    images, labels, _ = dataset(8, 40, seed=0)
    return DefectClassifier(
        classes=KINDS, image_size=32, widths=(8, 16, 32), epochs=3, num_threads=1, seed=0
    ).fit(images, labels)


def test_classifier_parity_and_metadata(tmp_path: Path, classifier: DefectClassifier) -> None:
    path = export_classifier(classifier, tmp_path / "clf.onnx")
    runner = OnnxRunner(path, threads=1, batch_size=4)
    images, _, _ = dataset(5, 40, seed=8)  # 15 images: batches of 4, 4, 4, 3
    assert classifier_parity(classifier, runner, images) <= 1e-4
    assert runner.classes == KINDS
    assert runner.image_size == 32
    assert runner.model_version == classifier.model_version_
    onnx_pred = runner.predict(images)
    torch_pred = classifier.predict(images)
    assert onnx_pred.labels == torch_pred.labels
    assert np.abs(onnx_pred.confidence - torch_pred.confidence).max() <= 1e-4
    assert runner.run(images[:1]).arrays["probabilities"].shape == (1, 3)


def test_anomaly_parity(tmp_path: Path) -> None:
    good, _, _ = dataset(12, 32, seed=2, kinds=("clean",))
    detector = AutoencoderAnomalyDetector(
        image_size=32, widths=(8, 16), latent=4, epochs=2, smooth=3, num_threads=1
    ).fit(good)
    runner = OnnxRunner(export_anomaly(detector, tmp_path / "ae.onnx"), threads=1)
    images, _, _ = dataset(3, 32, seed=6)
    assert anomaly_parity(detector, runner, images) <= 1e-4
    assert runner.kind == "anomaly-autoencoder"
    with pytest.raises(InputError, match="not a defect classifier"):
        runner.predict(images)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such ONNX file"):
        OnnxRunner(tmp_path / "none.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(InputError, match=r"junk\.onnx"):
        OnnxRunner(tmp_path / "junk.onnx")
