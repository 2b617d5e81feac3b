"""ADI / CV² and ABC / XYZ classes against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.supply.classification import abc_classes, classify_demand, xyz_classes


def test_four_syntetos_boylan_classes_and_no_demand() -> None:
    history = np.array(
        [
            [5, 5, 6, 5, 5, 6, 5, 5],  # every period, steady sizes: smooth
            [1, 9, 1, 12, 1, 10, 2, 9],  # every period, sizes vary: erratic
            [0, 0, 4, 0, 0, 4, 0, 5],  # rare, steady sizes: intermittent
            [0, 0, 1, 0, 0, 20, 0, 0],  # rare, sizes vary: lumpy
            [0, 0, 0, 0, 0, 0, 0, 0],  # nothing: none
        ],
        dtype=float,
    )
    profile = classify_demand(history)
    assert list(profile.category) == ["smooth", "erratic", "intermittent", "lumpy", "none"]
    assert profile.adi[2] == pytest.approx(8 / 3) and profile.adi[0] == 1.0
    # Sizes 4, 4, 5: mean 13/3, population variance 2/9 -> CV² = (2/9) / (169/9).
    assert profile.cv2[2] == pytest.approx(2 / 169)
    assert np.isinf(profile.adi[4]) and np.isnan(profile.cv2[4])


def test_missing_periods_are_not_zeros() -> None:
    gappy = np.array([[4, np.nan, np.nan, np.nan, 4, 4]])
    profile = classify_demand(gappy)
    assert profile.adi[0] == pytest.approx(1.0) and profile.category[0] == "smooth"


def test_abc_by_value_share() -> None:
    # Shares 50 %, 30 %, 10 %, 6 %, 4 %: A, A (starts at 50 %), B (80 %), B (90 %), C (96 %).
    assert list(abc_classes([30, 50, 10, 6, 4])) == ["A", "A", "B", "B", "C"]
    assert list(abc_classes([0, 0])) == ["C", "C"]
    with pytest.raises(InputError, match="non-negative"):
        abc_classes([1.0, -2.0])


def test_xyz_by_variability() -> None:
    history = np.array([[10, 10, 10, 10], [5, 15, 5, 15], [0, 0, 0, 40], [0, 0, 0, 0]])
    # CVs 0, 0.5, sqrt(3); none: Z.
    assert list(xyz_classes(history)) == ["X", "X", "Z", "Z"]
    assert list(xyz_classes([[4, 12, 4, 12]], limits=(0.3, 0.6))) == ["Y"]


def test_bad_history() -> None:
    with pytest.raises(InputError, match="not negative"):
        classify_demand([[1, -1]])
    with pytest.raises(InputError, match="finite"):
        xyz_classes([[1, np.inf]])
