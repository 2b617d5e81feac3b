"""Production analytics: OEE, losses, reliability, throughput and bottlenecks.

Pure layer: works on pandas frames in the canonical data model and never touches storage.
"""

from shopfloor.production.bottleneck import BottleneckResult, active_periods, find_bottlenecks
from shopfloor.production.losses import downtime_pareto, reliability, throughput
from shopfloor.production.oee import (
    COUNT_SUMS,
    STATE_SUMS,
    GroupBy,
    OeeFigures,
    OeeResult,
    compute_oee,
    count_sums,
    oee_from_sums,
    state_intervals,
    state_sums,
)
from shopfloor.production.periods import (
    PeriodKind,
    assign_period,
    period_boundaries,
    split_intervals,
)

__all__ = [
    "COUNT_SUMS",
    "STATE_SUMS",
    "BottleneckResult",
    "GroupBy",
    "OeeFigures",
    "OeeResult",
    "PeriodKind",
    "active_periods",
    "assign_period",
    "compute_oee",
    "count_sums",
    "downtime_pareto",
    "find_bottlenecks",
    "oee_from_sums",
    "period_boundaries",
    "reliability",
    "split_intervals",
    "state_intervals",
    "state_sums",
    "throughput",
]
