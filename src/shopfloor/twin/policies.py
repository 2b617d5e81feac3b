"""Maintenance policies the twin compares, and the cost model that places maintenance.

* **run to failure**: repair when it breaks.
* **fixed interval**: a preventive renewal every ``interval_h`` working hours of a part's
  age, at the first working moment after it is due (the classic age-replacement policy;
  :func:`optimal_interval` gives the interval that minimises the long-run cost rate for a
  Weibull life, Barlow and Proschan 1965, so the peer is the best fixed interval, not a
  straw man).
* **sequential** (maintenance first, production around it): when the condition model sees
  the fault, the work goes in at the latest safe time from the RUL distribution
  (:func:`shopfloor.maintenance.decisions.recommend_maintenance`'s quantile), inside the
  shift: production stops on that machine while it lasts.
* **co-optimised** (the joint plan): the same RUL distribution, but every candidate window
  up to the latest safe time is priced, off-shift windows (nights, weekends: no lost
  production, an overtime premium on the labour) and the next working moment (production
  lost on the machine, the whole line's when it is the bottleneck), each with its risk of
  failing first, and the cheapest expected cost wins (:func:`choose_window`).
* **as operated**: what the history shows; a share ``catch`` of the developing faults is
  maintained at the next shift start, the rest run to failure.
* **replay**: the history's own failures and preventive work at their recorded times and
  working durations (trace-driven validation of the flow model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import quad
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from shopfloor.errors import InputError
from shopfloor.twin.calendar import ShiftCalendar

POLICIES = (
    "run_to_failure",
    "fixed_interval",
    "sequential",
    "co_optimised",
    "as_operated",
    "replay",
)


@dataclass(frozen=True)
class Costs:
    failure: float  # a run-to-failure repair (parts, labour, collateral damage)
    planned: float  # a planned renewal of the same part
    off_shift_premium: float  # extra share of ``planned`` for night or weekend work
    lost_part: float  # margin lost per good part not made
    tardiness_per_h: float  # per order and hour late

    def __post_init__(self) -> None:
        if min(self.failure, self.planned) <= 0 or self.planned >= self.failure:
            raise InputError("need 0 < planned < failure repair cost", field="cost_planned")


@dataclass(frozen=True)
class Policy:
    kind: str
    interval_h: float = float("inf")  # fixed interval only
    catch: float = 0.5  # as operated only
    risk: float = 0.1  # accepted probability of failing before the planned work

    def __post_init__(self) -> None:
        if self.kind not in POLICIES:
            raise InputError(
                f"unknown policy '{self.kind}' (one of {', '.join(POLICIES)})", field="policy"
            )


@dataclass(frozen=True)
class Placement:
    start_s: float  # when the work begins
    off_shift: bool


def optimal_interval(shape: float, scale: float, costs: Costs) -> float:
    """Age-replacement interval (hours) minimising the long-run cost rate of a Weibull life."""

    def surv(t: float) -> float:
        return float(np.exp(-((t / scale) ** shape)))

    def rate(t: float) -> float:
        up = float(quad(surv, 0.0, t)[0])
        return (costs.planned * surv(t) + costs.failure * (1.0 - surv(t))) / max(up, 1e-9)

    res = minimize_scalar(rate, bounds=(0.05 * scale, 3.0 * scale), method="bounded")
    return float(res.x)


def fail_probability(rul_h: float, log_sd: float, hours: float) -> float:
    """P(the part fails within ``hours``) when its RUL is log-normal around ``rul_h``."""
    if hours <= 0:
        return 0.0
    return float(norm.cdf((np.log(hours) - np.log(max(rul_h, 1e-3))) / log_sd))


def latest_safe_hours(rul_h: float, log_sd: float, risk: float) -> float:
    """Working hours until the RUL distribution's ``risk`` quantile."""
    return float(max(rul_h, 1e-3) * np.exp(log_sd * norm.ppf(risk)))


def sequential_window(
    now: float, rul_h: float, log_sd: float, policy: Policy, calendar: ShiftCalendar, pm_s: float
) -> Placement:
    """Maintenance first: in the shift, finishing at the latest safe working time."""
    safe_h = latest_safe_hours(rul_h, log_sd, policy.risk)
    work = max(safe_h * 3600.0 - pm_s, 0.0)
    return Placement(calendar.advance(now, work) if work > 0 else now, off_shift=False)


def choose_window(
    now: float,
    rul_h: float,
    log_sd: float,
    *,
    age_h: float,
    policy: Policy,
    calendar: ShiftCalendar,
    costs: Costs,
    pm_s: float,
    parts_lost_in_shift: float,
    horizon_h: float = 14 * 16.0,
) -> Placement:
    """The window with the lowest expected cost per hour of the part's life.

    Candidates: the next working moment, every off-shift gap long enough for the work
    (``pm_s``) up to ``horizon_h`` working hours ahead, and the sequential plan's slot (in
    the shift at the latest safe time), so the joint plan is never worse than maintenance
    first by its own measure.  A window ``h`` working hours ahead fails first with
    probability ``p`` (the RUL distribution) and costs
    ``p * (failure + lost output) + (1 - p) * (planned work + premium or lost output)``;
    renewal theory turns that into a rate by dividing by the expected life the part gets,
    ``age + (1 - p) * h + p * h / 2``, since renewing early wastes the rest of its life.
    """
    lost = costs.lost_part * parts_lost_in_shift
    fail_cost = costs.failure + lost

    def rate(h: float, work_cost: float) -> float:
        p = fail_probability(rul_h, log_sd, h)
        expected = p * fail_cost + (1 - p) * work_cost
        return expected / max(age_h + (1 - p) * h + p * h / 2, 1e-6)

    safe_h = latest_safe_hours(rul_h, log_sd, policy.risk)
    seq = sequential_window(now, rul_h, log_sd, policy, calendar, pm_s)
    options = [
        (rate(0.0, costs.planned + lost), Placement(now, off_shift=False)),
        (rate(max(safe_h - pm_s / 3600.0, 0.0), costs.planned + lost), seq),
    ]
    limit = calendar.advance(now, horizon_h * 3600.0)
    for g0, g1 in calendar.gaps(now, limit):
        if g1 - g0 < pm_s:
            continue
        h = calendar.open_seconds(now, g0) / 3600.0
        if fail_probability(rul_h, log_sd, h) > 3 * policy.risk:
            break
        options.append(
            (rate(h, costs.planned * (1 + costs.off_shift_premium)), Placement(g0, off_shift=True))
        )
    return min(options, key=lambda o: o[0])[1]
