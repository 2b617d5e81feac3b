"""Unsupervised mode: learnt from good images only, planted defects must score higher."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from shopfloor.errors import InputError, ModelError, NotFittedError
from shopfloor.quality.vision.anomaly import AutoencoderAnomalyDetector
from tests.quality.vision.synthetic_images import dataset

TINY = {
    "image_size": 32,
    "widths": (8, 16, 16),
    "latent": 4,
    "epochs": 15,
    "batch_size": 8,
    "learning_rate": 5e-3,
    "smooth": 3,
    "num_threads": 1,
}


@pytest.fixture(scope="module")
def detector() -> AutoencoderAnomalyDetector:
    good, _, _ = dataset(60, 32, seed=2, kinds=("clean",))
    return AutoencoderAnomalyDetector(**TINY, seed=0).fit(good)  # type: ignore[arg-type]


def test_defects_score_higher_than_new_good_images(detector: AutoencoderAnomalyDetector) -> None:
    images, labels, masks = dataset(20, 32, seed=3)  # clean, blob, scratch; unseen
    result = detector.score(images)
    assert result.scores.shape == (60,)
    auroc = roc_auc_score(labels > 0, result.scores)
    assert auroc >= 0.9, auroc
    # the threshold (a held-out quantile) keeps most new good images quiet and flags defects
    assert float(result.is_anomalous[labels == 0].mean()) <= 0.2
    assert float(result.is_anomalous[labels > 0].mean()) >= 0.5
    # the per-pixel map is higher on the defect than around it
    defect = labels > 0
    inside = [m[k].mean() for m, k in zip(result.maps[defect], masks[defect], strict=True)]
    outside = [m[~k].mean() for m, k in zip(result.maps[defect], masks[defect], strict=True)]
    assert float(np.mean(np.asarray(inside) > np.asarray(outside))) >= 0.8


def test_maps_come_back_at_image_size(detector: AutoencoderAnomalyDetector) -> None:
    images, _, _ = dataset(2, 48, seed=4)
    result = detector.score(images)
    assert result.maps.shape == (6, 48, 48)
    assert np.isfinite(result.maps).all()
    assert result.threshold == detector.threshold_


def test_deterministic_with_seed() -> None:
    good, _, _ = dataset(12, 32, seed=2, kinds=("clean",))
    params = {**TINY, "epochs": 2}
    a = AutoencoderAnomalyDetector(**params, seed=1).fit(good).score(good[:4])  # type: ignore[arg-type]
    b = AutoencoderAnomalyDetector(**params, seed=1).fit(good).score(good[:4])  # type: ignore[arg-type]
    assert np.array_equal(a.scores, b.scores)


def test_bad_input() -> None:
    good, _, _ = dataset(3, 32, seed=2, kinds=("clean",))
    with pytest.raises(InputError):
        AutoencoderAnomalyDetector(**TINY).fit(good[:1])  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="image_size"):
        AutoencoderAnomalyDetector(**{**TINY, "image_size": 30}).fit(good)  # type: ignore[arg-type]
    with pytest.raises(NotFittedError):
        AutoencoderAnomalyDetector(**TINY).score(good)  # type: ignore[arg-type]
