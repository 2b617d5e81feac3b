"""NEU surface-defect classification benchmark (see the dataset README under
shared/datasets/neu-det).

Protocol: the six-class, one-label-per-image task (NEU-CLS style; the class is the
file-name prefix).  The classifier is :class:`~shopfloor.quality.vision.DefectClassifier`
with its default hyperparameters, trained from scratch on ``train_dir`` only and
evaluated once on ``test_dir``.  Reported: accuracy, macro F1, per-class recall and the
confusion matrix (rows: true class, columns: predicted); ``fit_seconds`` is the wall
time of training; ``images_per_second`` is the throughput of the ONNX export in
onnxruntime on the test images (batches of 64, ``threads`` intra-op threads, resizing
included, median of three passes); ``onnx_max_abs_diff`` is the largest difference of
logits and probabilities between torch and onnxruntime on the test images.

The dataset has no official split; :func:`make_dev_split` makes a stratified, seeded
80/20 split of a NEU-DET directory for development (the project also evaluates on
images held out of ``shared/``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shopfloor.errors import InputError
from shopfloor.quality.vision.dataset import NEU_CLASSES, SplitDirs, load_images, split_dataset
from shopfloor.quality.vision.evaluation import classification_scores

THROUGHPUT_PASSES = 3


@dataclass(frozen=True)
class NeuReport:
    accuracy: float
    macro_f1: float
    per_class_recall: dict[str, float] = field(default_factory=dict)
    confusion: tuple[tuple[int, ...], ...] = ()
    classes: tuple[str, ...] = NEU_CLASSES
    images_per_second: float = 0.0  # ONNX, batched, `threads` threads
    torch_images_per_second: float = 0.0  # same images, torch eager, same threads
    fit_seconds: float = 0.0
    onnx_max_abs_diff: float = 0.0
    n_train: int = 0
    n_test: int = 0
    epochs: int = 0
    image_size: int = 0
    threads: int = 2
    seed: int = 0
    model_version: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class_recall": dict(self.per_class_recall),
            "confusion": [list(row) for row in self.confusion],
            "classes": list(self.classes),
            "images_per_second": self.images_per_second,
            "torch_images_per_second": self.torch_images_per_second,
            "fit_seconds": self.fit_seconds,
            "onnx_max_abs_diff": self.onnx_max_abs_diff,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "epochs": self.epochs,
            "image_size": self.image_size,
            "threads": self.threads,
            "seed": self.seed,
            "model_version": self.model_version,
        }


def make_dev_split(
    data_dir: Path | str, out_dir: Path | str, *, seed: int = 0, test_fraction: float = 0.2
) -> SplitDirs:
    """Stratified 80/20 (by default) split of a NEU-DET directory into out_dir/{train,test}."""
    return split_dataset(data_dir, out_dir, test_fraction=test_fraction, seed=seed)


def run_neu(
    train_dir: Path,
    test_dir: Path,
    *,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    threads: int = 2,
    params: Mapping[str, Any] | None = None,
) -> NeuReport:
    """Train on ``train_dir``, evaluate on ``test_dir`` (both NEU-DET layout or flat).

    ``params`` overrides classifier hyperparameters (tests use tiny networks); the
    published figures use the defaults.
    """
    from shopfloor.quality.vision.classifier import DefectClassifier, EpochProgress
    from shopfloor.quality.vision.onnx_export import (
        OnnxRunner,
        classifier_parity,
        export_classifier,
    )

    say = progress or (lambda _message: None)
    if threads < 1:
        raise InputError(f"threads must be at least 1, got {threads}", field="threads")
    say(f"reading {train_dir}")
    train = load_images(train_dir, NEU_CLASSES)
    say(f"reading {test_dir}")
    test = load_images(test_dir, NEU_CLASSES)
    missing = [c for i, c in enumerate(NEU_CLASSES) if not (train.labels == i).any()]
    if missing:
        raise InputError(f"no training images of {', '.join(missing)}", source=str(train_dir))
    overrides = dict(params or {})
    clf = DefectClassifier(
        **{"classes": NEU_CLASSES, "seed": seed, "num_threads": threads, **overrides}
    )

    def on_epoch(p: EpochProgress) -> None:
        say(
            f"epoch {p.epoch}/{p.epochs}: loss {p.loss:.3f}, "
            f"train accuracy {p.train_accuracy:.3f} ({p.seconds:.0f} s)"
        )

    say(f"training on {len(train)} images")
    started = time.perf_counter()
    clf.fit(train.images, train.labels, progress=on_epoch)
    fit_seconds = time.perf_counter() - started

    say(f"evaluating on {len(test)} images")
    predicted = clf.predict(test.images).indices
    scores = classification_scores(test.labels, predicted, NEU_CLASSES)
    torch_ips = _throughput(lambda: clf.logits(test.images, batch_size=64), len(test))

    say("exporting to ONNX")
    with tempfile.TemporaryDirectory() as tmp:
        path = export_classifier(clf, Path(tmp) / "neu.onnx")
        runner = OnnxRunner(path, threads=threads, batch_size=64)
        diff = classifier_parity(clf, runner, test.images)
        onnx_ips = _throughput(lambda: runner.run(test.images), len(test))
    return NeuReport(
        accuracy=scores.accuracy,
        macro_f1=scores.macro_f1,
        per_class_recall=scores.recall,
        confusion=tuple(tuple(int(v) for v in row) for row in scores.confusion),
        images_per_second=onnx_ips,
        torch_images_per_second=torch_ips,
        fit_seconds=fit_seconds,
        onnx_max_abs_diff=diff,
        n_train=len(train),
        n_test=len(test),
        epochs=clf.epochs,
        image_size=clf.image_size,
        threads=threads,
        seed=seed,
        model_version=clf.model_version_,
    )


def _throughput(run: Callable[[], object], n: int) -> float:
    """Images per second: median of a few timed passes after one warm-up pass."""
    run()
    times = []
    for _ in range(THROUGHPUT_PASSES):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return float(n / max(np.median(times), 1e-9))
