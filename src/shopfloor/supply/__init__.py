"""Demand forecasting and inventory (DESIGN section 3: pure analytics).

So far: the forecast-accuracy metrics every forecaster and benchmark of this package
reports (:mod:`shopfloor.supply.metrics`), demand classification: ADI / CV² and
ABC / XYZ (:mod:`shopfloor.supply.classification`), and lead-time demand with reorder
points and lot sizes (:mod:`shopfloor.supply.inventory`), supplier scorecards
(:mod:`shopfloor.supply.suppliers`).
"""

from __future__ import annotations

from shopfloor.supply.classification import (
    DemandProfile,
    abc_classes,
    classify_demand,
    xyz_classes,
)
from shopfloor.supply.metrics import (
    coverage,
    mase,
    naive_scale,
    pinball_loss,
    rmsse,
    scaled_pinball_loss,
)

__all__ = [
    "DemandProfile",
    "abc_classes",
    "classify_demand",
    "coverage",
    "mase",
    "naive_scale",
    "pinball_loss",
    "rmsse",
    "scaled_pinball_loss",
    "xyz_classes",
]
