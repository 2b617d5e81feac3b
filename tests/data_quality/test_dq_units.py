"""Unit conversions as the unit-shift check and repair use them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopfloor.data_quality.units import alternatives, compatible, convert


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (100.0, "degC", "degF", 212.0),
        (0.0, "degC", "K", 273.15),
        (25.4, "mm/s", "in/s", 1.0),
        (1.0, "bar", "kPa", 100.0),
        (1.0, "bar", "psi", 14.5037738),
        (1.5, "A", "mA", 1500.0),
        (60.0, "rpm", "Hz", 1.0),
    ],
)
def test_convert_known_pairs(value: float, source: str, target: str, expected: float) -> None:
    assert convert(value, source, target) == pytest.approx(expected)
    assert compatible(source, target)


def test_convert_works_on_arrays_and_refuses_other_dimensions() -> None:
    out = convert(np.array([0.0, 100.0]), "degC", "degF")
    assert out.tolist() == pytest.approx([32.0, 212.0])
    assert not compatible("degC", "bar")
    with pytest.raises(ValueError, match="cannot convert"):
        convert(1.0, "degC", "bar")


def test_alternatives_leave_out_identities() -> None:
    assert {"degF", "K"} <= set(alternatives("degC"))
    assert "degC" not in alternatives("degC")
    assert "dBA" not in alternatives("dB")  # same numbers: no mix-up to detect


@given(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.sampled_from([("degC", "degF"), ("degC", "K"), ("mm/s", "in/s"), ("bar", "psi")]),
)
def test_round_trip(value: float, pair: tuple[str, str]) -> None:
    there = convert(value, *pair)
    assert convert(there, pair[1], pair[0]) == pytest.approx(value, rel=1e-9, abs=1e-6)
