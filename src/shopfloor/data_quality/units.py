"""Unit conversions as the data-quality checks use them, over arrays as well as scalars.

The table itself lives in :mod:`shopfloor.units` (base layer, shared with ingest); this
module adds what the unit-shift check needs: array conversion and the list of units a
signal could plausibly have been switched to.
"""

from __future__ import annotations

from typing import overload

import numpy as np
import numpy.typing as npt

from shopfloor.units import affine, canonical, compatible, dimension, same_dimension_units

__all__ = ["affine", "alternatives", "canonical", "compatible", "convert", "dimension"]


@overload
def convert(value: float, from_unit: str, to_unit: str) -> float: ...
@overload
def convert(
    value: npt.NDArray[np.float64], from_unit: str, to_unit: str
) -> npt.NDArray[np.float64]: ...
def convert(
    value: float | npt.NDArray[np.float64], from_unit: str, to_unit: str
) -> float | npt.NDArray[np.float64]:
    """Convert a value or an array between two units of one dimension (ValueError if not)."""
    gain, offset = affine(from_unit, to_unit)
    return value * gain + offset


def alternatives(unit: str) -> tuple[str, ...]:
    """Other units of the same dimension that change the numbers (dB and dBA do not)."""
    found = []
    for other in same_dimension_units(unit):
        gain, offset = affine(unit, other)
        if abs(gain - 1.0) > 1e-9 or abs(offset) > 1e-9:
            found.append(other)
    return tuple(found)
