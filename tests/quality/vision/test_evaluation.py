"""Classification scores against hand-counted values."""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.quality.vision.evaluation import classification_scores


def test_scores_by_hand() -> None:
    truth = [0, 0, 1, 1, 1, 2]
    predicted = [0, 1, 1, 1, 0, 2]
    s = classification_scores(truth, predicted, ("a", "b", "c"))
    assert s.accuracy == pytest.approx(4 / 6)
    assert s.recall == pytest.approx({"a": 0.5, "b": 2 / 3, "c": 1.0})
    # F1: a 2*1/(2+2), b 2*2/(3+3), c 1
    assert s.macro_f1 == pytest.approx(np.mean([0.5, 2 / 3, 1.0]))
    assert s.confusion.tolist() == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]


def test_a_class_absent_from_the_truth_adds_no_term() -> None:
    s = classification_scores([0, 1], [0, 1], ("a", "b", "c"))
    assert s.macro_f1 == 1.0 and "c" not in s.recall
