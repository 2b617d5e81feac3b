"""Forecast metrics against hand-computed values and the edge cases a benchmark meets."""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.supply.metrics import (
    coverage,
    first_sale_scale,
    mase,
    naive_scale,
    pinball_loss,
    rmsse,
    scaled_pinball_loss,
)

HISTORY = np.array([[0.0, 2.0, 0.0, 4.0], [1.0, 1.0, 1.0, 1.0]])  # second: constant


def test_naive_scale_and_missing_months() -> None:
    # |2-0|, |0-2|, |4-0| -> mean 8/3; a constant series has no scale.
    np.testing.assert_allclose(naive_scale(HISTORY), [8 / 3, np.nan])
    gappy = np.array([[1.0, np.nan, 3.0, 5.0]])  # only the pair (3, 5) is complete
    np.testing.assert_allclose(naive_scale(gappy), [2.0])
    np.testing.assert_allclose(naive_scale(np.array([[1.0, 5.0, 2.0, 9.0]]), lag=2), [2.5])
    assert np.isnan(naive_scale(np.array([[np.nan, np.nan, np.nan]]))).all()
    assert np.isnan(naive_scale(np.array([[1.0]]))).all()  # too short for one pair


def test_mase_rmsse_by_hand() -> None:
    actual = np.array([[1.0, 3.0], [1.0, 1.0]])
    forecast = np.array([[2.0, 1.0], [1.0, 1.0]])
    # errors 1, 2: MAE 1.5 / (8/3) = 0.5625; MSE 2.5 / mean(4, 4, 16) = 2.5 / 8.
    np.testing.assert_allclose(mase(actual, forecast, HISTORY), [0.5625, np.nan])
    np.testing.assert_allclose(rmsse(actual, forecast, HISTORY), [np.sqrt(2.5 / 8), np.nan])


def test_pinball_and_scaled_pinball_by_hand() -> None:
    actual = np.array([[4.0, 0.0]])
    q = np.array([[2.0, 2.0]])
    # Under-forecast by 2 at 0.9: 1.8; over-forecast by 2: 0.2 -> mean 1.0.
    np.testing.assert_allclose(pinball_loss(actual, q, 0.9), [1.0])
    np.testing.assert_allclose(pinball_loss(actual, q, 0.5), [1.0])
    spl = scaled_pinball_loss(actual, {0.5: q, 0.9: q}, HISTORY[:1])
    np.testing.assert_allclose(spl, [1.0 / (8 / 3)])
    with pytest.raises(InputError, match="not in"):
        pinball_loss(actual, q, 1.0)
    with pytest.raises(InputError, match="at least one"):
        scaled_pinball_loss(actual, {}, HISTORY[:1])


def test_coverage_pools_present_outcomes() -> None:
    actual = np.array([[1.0, np.nan, 5.0], [0.0, 2.0, 3.0]])
    upper = np.array([[1.0, 9.0, 4.0], [0.0, 1.0, 3.0]])
    assert coverage(actual, upper) == pytest.approx(3 / 5)
    with pytest.raises(InputError, match="no outcome"):
        coverage(np.array([[np.nan]]), np.array([[1.0]]))


def test_shapes_are_checked() -> None:
    with pytest.raises(InputError, match="does not match"):
        mase(np.zeros((2, 3)), np.zeros((2, 2)), HISTORY)
    with pytest.raises(InputError, match="2-D"):
        rmsse(np.zeros((1, 1, 1)), np.zeros((1, 1, 1)), HISTORY)
    # A single series may be given as a 1-D row.
    np.testing.assert_allclose(mase([1.0, 3.0], [2.0, 1.0], HISTORY[0]), [0.5625])


def test_first_sale_scale_starts_at_the_first_sale() -> None:
    y = np.array([[0.0, 0.0, 0.0, 2.0, 0.0, 2.0], [0.0] * 6, [np.nan, 0.0, 3.0, np.nan, 1.0, 0.0]])
    scale = first_sale_scale(y)
    assert scale[0] == pytest.approx(2.0)  # |2-0|, |0-2|, |2-0| after the first sale
    assert np.isnan(scale[1])
    assert scale[2] == pytest.approx(1.0)  # only |1-0|: pairs touching a gap drop out
    assert first_sale_scale(y, power=2)[0] == pytest.approx(4.0)


def test_rmsse_and_spl_on_the_first_sale_scale() -> None:
    history = np.array([[0.0, 0.0, 0.0, 2.0, 0.0, 2.0]])
    actual, forecast = np.array([[2.0, 0.0]]), np.array([[1.0, 1.0]])
    # squared scale 4 from the first sale on, 12/5 over the whole history
    assert rmsse(actual, forecast, history, first_sale=True)[0] == pytest.approx(0.5)
    assert rmsse(actual, forecast, history)[0] == pytest.approx(np.sqrt(1 / 2.4))
    spl = scaled_pinball_loss(actual, {0.5: forecast}, history, first_sale=True)
    assert spl[0] == pytest.approx(0.25)  # pinball 0.5 over scale 2
