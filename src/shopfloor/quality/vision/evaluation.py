"""Scores of a classifier's predictions against the truth: one definition for every caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ClassificationScores:
    accuracy: float
    macro_f1: float  # over the classes present in the truth
    recall: dict[str, float]  # per class present in the truth
    confusion: IntArray  # rows: true class, columns: predicted class


def classification_scores(
    truth: npt.ArrayLike, predicted: npt.ArrayLike, classes: Sequence[str]
) -> ClassificationScores:
    """Accuracy, macro F1, per-class recall and the confusion matrix of class indices.

    A class absent from the truth has no recall and adds no F1 term (it cannot be
    scored, and a zero would punish the split rather than the model).
    """
    t = np.asarray(truth, dtype=np.int64)
    p = np.asarray(predicted, dtype=np.int64)
    k = len(classes)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (t, p), 1)
    accuracy = float(np.trace(confusion) / max(1, confusion.sum()))
    recall: dict[str, float] = {}
    f1s: list[float] = []
    for i, name in enumerate(classes):
        tp = float(confusion[i, i])
        actual = float(confusion[i].sum())
        called = float(confusion[:, i].sum())
        if actual == 0:
            continue
        recall[name] = tp / actual
        f1s.append(2 * tp / (actual + called))
    return ClassificationScores(accuracy, float(np.mean(f1s)) if f1s else 0.0, recall, confusion)
