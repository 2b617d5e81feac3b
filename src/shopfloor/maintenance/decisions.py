"""When to maintain: from a RUL distribution, the lead time and what a failure costs.

The RUL prediction's interval is read as a log-normal distribution (point = median,
interval = its central ``level`` mass).  Maintaining early wastes the rest of the
part's life; maintaining late risks a failure.  The accepted risk of failing before the
planned date is the critical ratio ``cost_planned / (cost_planned + cost_failure)``
(the newsvendor's balance of the two errors), so the latest safe maintenance date is
that quantile of the RUL distribution, and the work order must be raised ``lead_time``
before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from shopfloor.errors import InputError
from shopfloor.maintenance.results import RulPrediction


@dataclass(frozen=True)
class MaintenanceRecommendation:
    asset: str
    rul_hours: float
    rul_lower: float
    rul_upper: float
    accepted_risk: float  # probability of failing before the latest safe date
    latest_safe: pd.Timestamp  # maintain before this
    order_by: pd.Timestamp  # raise the work order before this (latest_safe - lead time)
    urgent: bool  # order_by is already past
    failure_risk_7d: float  # probability of failing within 7 days if nothing is done
    expected_saving: float  # cost of waiting for the failure minus cost of planning it

    def work_order(self, reason: str = "") -> dict[str, object]:
        """A suggested work order in the lake's ``work_orders`` shape."""
        detail = f"predicted RUL {self.rul_hours:.0f} h ({self.rul_lower:.0f}-{self.rul_upper:.0f})"
        return {
            "asset": self.asset,
            "kind": "preventive",
            "status": "suggested",
            "start": self.latest_safe,
            "created": self.order_by,
            "detail": f"{detail}; {reason}" if reason else detail,
        }


def _lognormal(prediction: RulPrediction) -> tuple[np.ndarray, np.ndarray]:
    median = np.maximum(prediction.rul, 1e-3) + 1.0
    z = norm.ppf(0.5 + prediction.level / 2)
    upper = np.log(np.maximum(prediction.upper, 0.0) + 1.0)
    lower = np.log(np.maximum(prediction.lower, 0.0) + 1.0)
    sigma = np.maximum((upper - lower) / (2 * z), 0.05)
    return np.log(median), sigma


def recommend_maintenance(
    prediction: RulPrediction,
    now: pd.Timestamp,
    *,
    lead_time_hours: float,
    cost_failure: float,
    cost_planned: float,
) -> list[MaintenanceRecommendation]:
    """One recommendation per unit of ``prediction`` (RUL in hours), most urgent first."""
    if cost_failure <= 0 or cost_planned <= 0:
        raise InputError("maintenance costs must be positive", field="cost")
    if cost_planned >= cost_failure:
        raise InputError(
            "a planned repair that costs as much as a failure is never worth planning",
            field="cost_planned",
        )
    risk = cost_planned / (cost_planned + cost_failure)
    mu, sigma = _lognormal(prediction)
    safe = np.maximum(np.exp(mu + sigma * norm.ppf(risk)) - 1.0, 0.0)
    week = norm.cdf((np.log(7 * 24 + 1.0) - mu) / sigma)
    out = []
    for i, unit in enumerate(prediction.unit):
        latest = now + pd.Timedelta(hours=float(safe[i]))
        order_by = latest - pd.Timedelta(hours=lead_time_hours)
        out.append(
            MaintenanceRecommendation(
                asset=str(unit),
                rul_hours=float(prediction.rul[i]),
                rul_lower=float(prediction.lower[i]),
                rul_upper=float(prediction.upper[i]),
                accepted_risk=float(risk),
                latest_safe=latest,
                order_by=order_by,
                urgent=bool(order_by <= now),
                failure_risk_7d=float(week[i]),
                expected_saving=float(week[i] * (cost_failure - cost_planned)),
            )
        )
    return sorted(out, key=lambda r: r.latest_safe)
