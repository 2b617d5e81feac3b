"""Statistical process control and capability (DESIGN section 3: pure analytics).

- :mod:`~shopfloor.quality.control_charts`: X̄-R, X̄-S, I-MR, p, np, c, u, EWMA and
  tabular CUSUM charts, phase I (estimate, optionally drop out-of-control points and
  re-estimate) and phase II (fixed limits on new data);
- :mod:`~shopfloor.quality.rules`: Western Electric (1-4) and Nelson (1-8) run rules;
- :mod:`~shopfloor.quality.capability`: Cp, Cpk, Pp, Ppk with confidence intervals.

Not to be confused with :mod:`shopfloor.data_quality` (checks on incoming data).
Only numpy and scipy are needed, imported with the submodules.
"""

from __future__ import annotations

from shopfloor.quality.capability import Capability, Interval, capability
from shopfloor.quality.control_charts import (
    ControlChart,
    CusumChart,
    VariablesChart,
    c_chart,
    cusum_chart,
    ewma_chart,
    individuals_chart,
    np_chart,
    p_chart,
    u_chart,
    xbar_r_chart,
    xbar_s_chart,
)
from shopfloor.quality.rules import RuleHit, RuleReport, nelson, western_electric

__all__ = [
    "Capability",
    "ControlChart",
    "CusumChart",
    "Interval",
    "RuleHit",
    "RuleReport",
    "VariablesChart",
    "c_chart",
    "capability",
    "cusum_chart",
    "ewma_chart",
    "individuals_chart",
    "nelson",
    "np_chart",
    "p_chart",
    "u_chart",
    "western_electric",
    "xbar_r_chart",
    "xbar_s_chart",
]
