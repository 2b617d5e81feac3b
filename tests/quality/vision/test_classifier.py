"""DefectClassifier: learns planted defects, deterministic, user weights, save / load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopfloor.errors import InputError, ModelError, NotFittedError
from shopfloor.quality.vision.classifier import DefectClassifier, EpochProgress
from tests.quality.vision.synthetic_images import dataset

KINDS = ("clean", "blob", "scratch")
TINY = {
    "classes": KINDS,
    "image_size": 32,
    "widths": (8, 16, 32),
    "epochs": 20,
    "batch_size": 8,
    "learning_rate": 3e-3,
    # crops could cut the planted defect out of a tiny image (a wrong label)
    "zoom": 1.0,
    "shift": 0.0,
    "jitter": 0.0,
    # the planted defects have no canonical orientation (unlike rolled steel)
    "rotate": True,
    "num_threads": 1,
}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    images, labels, _ = dataset(24, 40, seed=0)
    return images, labels


@pytest.fixture(scope="module")
def fitted(data: tuple[np.ndarray, np.ndarray]) -> DefectClassifier:
    return DefectClassifier(**TINY, seed=0).fit(*data)  # type: ignore[arg-type]


def test_learns_planted_defects(fitted: DefectClassifier) -> None:
    images, labels, _ = dataset(10, 40, seed=99)  # unseen images
    pred = fitted.predict(images)
    assert float((pred.indices == labels).mean()) >= 0.9
    assert pred.labels[0] in KINDS
    assert np.allclose(pred.probabilities.probabilities.sum(axis=1), 1.0)
    assert pred.model_version == fitted.model_version_
    assert len(pred.model_version) == 12


def test_same_seed_same_model_other_seed_other_model(
    data: tuple[np.ndarray, np.ndarray], fitted: DefectClassifier
) -> None:
    params = {**TINY, "epochs": 2}
    a = DefectClassifier(**params, seed=5).fit(*data)  # type: ignore[arg-type]
    b = DefectClassifier(**params, seed=5).fit(*data)  # type: ignore[arg-type]
    c = DefectClassifier(**params, seed=6).fit(*data)  # type: ignore[arg-type]
    images = data[0][:8]
    assert np.array_equal(a.logits(images), b.logits(images))
    assert a.model_version_ == b.model_version_
    assert not np.allclose(a.logits(images), c.logits(images))


def test_progress_once_per_epoch(data: tuple[np.ndarray, np.ndarray]) -> None:
    seen: list[EpochProgress] = []
    DefectClassifier(**{**TINY, "epochs": 3}).fit(*data, progress=seen.append)  # type: ignore[arg-type]
    assert [p.epoch for p in seen] == [1, 2, 3]
    assert all(p.epochs == 3 and 0.0 <= p.train_accuracy <= 1.0 for p in seen)


def test_starts_from_user_weights(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray], fitted: DefectClassifier
) -> None:
    import torch

    weights = tmp_path / "weights.pt"
    torch.save(fitted.network_.state_dict(), weights)
    # zero epochs: the network is exactly the user's weights
    warm = DefectClassifier(**{**TINY, "epochs": 0, "init_weights": str(weights)}).fit(*data)  # type: ignore[arg-type]
    cold = DefectClassifier(**{**TINY, "epochs": 0}).fit(*data)  # type: ignore[arg-type]
    images = data[0][:12]
    assert np.allclose(warm.logits(images), fitted.logits(images), atol=1e-5)
    assert not np.allclose(cold.logits(images), fitted.logits(images), atol=1e-2)
    # a head for another number of classes is re-initialised, the body is kept
    two = DefectClassifier(
        **{**TINY, "classes": ("a", "b"), "epochs": 0, "init_weights": str(weights)}
    ).fit(data[0], (data[1] > 0).astype(np.int64))
    assert torch.equal(two.network_.stem[0].weight, fitted.network_.stem[0].weight)
    other = DefectClassifier(**{**TINY, "widths": (8, 16, 16), "init_weights": str(weights)})
    with pytest.raises(InputError, match=r"weights\.pt"):
        other.fit(*data)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no such weights file"):
        DefectClassifier(**{**TINY, "init_weights": str(tmp_path / "none.pt")}).fit(*data)  # type: ignore[arg-type]


def test_save_load_roundtrip(tmp_path: Path, fitted: DefectClassifier) -> None:
    path = fitted.save(tmp_path / "model" / "clf.pt")
    loaded = DefectClassifier.load(path)
    images, _, _ = dataset(3, 40, seed=7)
    assert np.array_equal(loaded.logits(images), fitted.logits(images))
    assert loaded.classes_ == fitted.classes_
    assert loaded.model_version_ == fitted.model_version_
    assert loaded.image_size == fitted.image_size
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(InputError, match=r"junk\.pt"):
        DefectClassifier.load(tmp_path / "junk.pt")
    with pytest.raises(InputError, match="no such model file"):
        DefectClassifier.load(tmp_path / "missing.pt")


def test_string_labels_and_bad_input(data: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = data
    names = np.asarray([KINDS[i] for i in labels])
    clf = DefectClassifier(**{**TINY, "classes": None, "epochs": 1}).fit(images, names)
    assert clf.classes_ == tuple(sorted(KINDS))
    with pytest.raises(InputError, match="labels"):
        DefectClassifier(**TINY).fit(images, labels[:-1])
    with pytest.raises(InputError, match="two classes"):
        DefectClassifier(**TINY).fit(images, np.zeros(len(images), dtype=np.int64))
    with pytest.raises(InputError, match="unknown classes"):
        DefectClassifier(**TINY).fit(images, np.asarray(["dent"] * len(images)))
    with pytest.raises(InputError, match="shape"):
        DefectClassifier(**TINY).fit(images[0], labels[:1])
    with pytest.raises(ModelError, match="image_size"):
        DefectClassifier(**{**TINY, "image_size": 4}).fit(images, labels)
    with pytest.raises(NotFittedError):
        DefectClassifier(**TINY).predict(images)


def test_estimator_contract() -> None:
    clf = DefectClassifier(**TINY, seed=3)
    assert clf.get_params()["seed"] == 3
    assert clf.clone().get_params() == clf.get_params()
    assert not clf.is_fitted


def test_pickles_through_its_saved_state(fitted: DefectClassifier) -> None:
    """The model registry pickles estimators: a fitted classifier must survive it."""
    import pickle

    copy = pickle.loads(pickle.dumps(fitted))
    images = dataset(2, 40, seed=7)[0]
    assert np.array_equal(copy.logits(images), fitted.logits(images))
    assert copy.model_version_ == fitted.model_version_ and copy.classes_ == fitted.classes_
    unfitted = pickle.loads(pickle.dumps(DefectClassifier(**TINY)))
    assert not unfitted.is_fitted and unfitted.get_params() == DefectClassifier(**TINY).get_params()


def test_augment_without_rotation_keeps_the_axes() -> None:
    import torch

    from shopfloor.quality.vision.preprocess import augment

    # a vertical stripe stays vertical (flips and 180 degree turns only)
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, :, 7:9] = 255.0
    gen = torch.Generator().manual_seed(0)
    out = augment(x, gen, zoom=1.0, jitter=0.0, rotate=False)
    column_energy = out.std(dim=2).mean(dim=(1, 2))
    row_energy = out.std(dim=3).mean(dim=(1, 2))
    assert bool((column_energy < row_energy).all())
    rotated = augment(x, torch.Generator().manual_seed(0), zoom=1.0, jitter=0.0, rotate=True)
    assert bool((rotated.std(dim=2).mean(dim=(1, 2)) > rotated.std(dim=3).mean(dim=(1, 2))).any())


def test_weight_averaging_still_learns(data: tuple[np.ndarray, np.ndarray]) -> None:
    clf = DefectClassifier(**{**TINY, "ema_decay": 0.99}, seed=0).fit(*data)  # type: ignore[arg-type]
    images, labels, _ = dataset(10, 40, seed=99)
    assert float((clf.predict(images).indices == labels).mean()) >= 0.9
    assert clf.get_params()["ema_decay"] == 0.99
