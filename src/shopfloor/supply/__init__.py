"""Demand forecasting and inventory (DESIGN section 3: pure analytics).

So far: the forecast-accuracy metrics every forecaster and benchmark of this package
reports (:mod:`shopfloor.supply.metrics`).
"""

from __future__ import annotations

from shopfloor.supply.metrics import (
    coverage,
    mase,
    naive_scale,
    pinball_loss,
    rmsse,
    scaled_pinball_loss,
)

__all__ = [
    "coverage",
    "mase",
    "naive_scale",
    "pinball_loss",
    "rmsse",
    "scaled_pinball_loss",
]
