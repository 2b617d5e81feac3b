"""Demand forecasting and inventory (DESIGN section 3: pure analytics).

- :mod:`~shopfloor.supply.forecasting`: probabilistic forecasts for many series (a
  silence classifier and a bootstrap of recent demand, calibrated on a backtest), with
  :mod:`~shopfloor.supply.local_models` (statsforecast's models) and
  :mod:`~shopfloor.supply.selection` (per-series choice by rolling-origin backtest);
- :mod:`~shopfloor.supply.metrics`: MASE, RMSSE, scaled pinball loss, coverage;
- :mod:`~shopfloor.supply.classification`: ADI / CV² demand classes, ABC / XYZ;
- :mod:`~shopfloor.supply.inventory`: lead-time demand, reorder points, lot sizes;
- :mod:`~shopfloor.supply.policies` and :mod:`~shopfloor.supply.simulation`: (s, Q),
  (s, S), (R, S) policies designed exactly on discrete distributions, and their
  seeded simulation;
- :mod:`~shopfloor.supply.suppliers`: scorecards and lead-time distributions.

Heavy libraries (statsforecast, LightGBM) are imported when first used.
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
    first_sale_scale,
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
    "first_sale_scale",
    "mase",
    "naive_scale",
    "pinball_loss",
    "rmsse",
    "scaled_pinball_loss",
    "xyz_classes",
]
