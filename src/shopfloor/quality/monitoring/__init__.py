"""Multivariate process monitoring of continuous processes (DESIGN section 3: pure analytics).

Monitors follow the estimator contract: ``fit(X_normal)`` on normal operation only
(samples x variables), ``score(X)`` returning typed charts (statistic, limit, alarms)
and per-variable contributions.

- :class:`PcaMonitor`: PCA with Hotelling T² and Q (SPE), limits from the F / chi-square
  theory or cross-validated empirical quantiles, a combined chart at a joint limit;
- :class:`DynamicPcaMonitor`: the same on lagged samples (DPCA);
- :class:`EwmsMonitor`: exponentially weighted mean squares of cross-validated
  regression residuals and first differences, which also sees changes of variance.

numpy and scipy only, imported with the submodules.
"""

from __future__ import annotations

from shopfloor.quality.monitoring._common import Chart
from shopfloor.quality.monitoring.ewms import EwmsMonitor, EwmsScores
from shopfloor.quality.monitoring.pca import DynamicPcaMonitor, PcaMonitor, PcaScores

__all__ = [
    "Chart",
    "DynamicPcaMonitor",
    "EwmsMonitor",
    "EwmsScores",
    "PcaMonitor",
    "PcaScores",
]
