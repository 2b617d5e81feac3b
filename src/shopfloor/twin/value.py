"""What the analytics are worth: per lever, in money, from the plant's own history.

Four levers, each resting on one model's *measured* performance (never on a brochure
figure):

- **downtime** and **maintenance**: the condition model's alerts backtested against
  the failures in the history.  A failure alerted at least the lead time ahead becomes
  a planned repair (its downtime and cost those of a planned repair); every false alarm
  costs one planned intervention; a missed failure stays what it was.
- **scrap**: the SPC charts against the nonconforming measurements.  A nonconforming
  part measured at least the reaction time after an alarm on its asset and
  characteristic could have been prevented; per asset, that share of the inspected
  parts times the parts produced, at most the scrap recorded.
- **inventory**: the designed policies replayed on the plant's demand against the stock
  it held over the same periods; the difference at unit cost is stock that need not be
  held, worth the holding rate a year.

Counts over a history of ``days`` are scaled to a year by ``365.25 / days`` (stated on
every line).  A lever without a measurement is reported as *not measured*, with the
reason and no money.  The payback period is the investment over the net yearly benefit
(benefit less running cost), in months; none when the net is not positive.  The
formulas are spelled out in docs/value.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError

__all__ = [
    "DAYS_PER_YEAR",
    "AlertBacktest",
    "AssetScrap",
    "FailureHistory",
    "Lever",
    "LeverName",
    "ScrapEvidence",
    "StockComparison",
    "ValueCosts",
    "ValueReport",
    "inventory_lever",
    "maintenance_levers",
    "nonconforming_caught",
    "not_measured",
    "payback_months",
    "scrap_lever",
    "summarise",
    "year_scale",
]

DAYS_PER_YEAR = 365.25
LeverName = Literal["downtime", "maintenance", "scrap", "inventory"]
TITLES: dict[str, str] = {
    "downtime": "Unplanned downtime avoided",
    "maintenance": "Maintenance cost saved",
    "scrap": "Scrap avoided",
    "inventory": "Inventory reduced",
}
UNITS: dict[str, str] = {
    "downtime": "h/year",
    "maintenance": "repairs/year",
    "scrap": "parts/year",
    "inventory": "of stock",  # prefixed with the currency
}


def _check(value: float, name: str, positive: bool = False) -> None:
    ok = math.isfinite(value) and (value > 0 if positive else value >= 0)
    if not ok:
        raise InputError(f"must be finite and {'> 0' if positive else '>= 0'}", field=name)


@dataclass(frozen=True)
class ValueCosts:
    """The user's costs (``value`` and ``maintenance`` settings), in ``currency``."""

    currency: str
    downtime_per_hour: float
    scrap_per_part: float
    holding_rate: float  # per year, share of the unit cost
    investment: float  # once: sensors, integration, software
    running_per_year: float

    def __post_init__(self) -> None:
        for name in ("downtime_per_hour", "scrap_per_part", "investment", "running_per_year"):
            _check(float(getattr(self, name)), f"value.{name}")
        _check(self.holding_rate, "value.holding_rate", positive=True)


def _pct(share: float, digits: int = 0) -> str:
    """0.935 -> '93.5 %' (the dashboard's way of writing shares)."""
    return f"{100.0 * share:.{digits}f} %"


def year_scale(days: float) -> float:
    """Factor from a history of ``days`` to a year."""
    if not (math.isfinite(days) and days > 0):
        raise InputError(f"a history of {days} days cannot be scaled to a year", field="days")
    return DAYS_PER_YEAR / days


def _scaled(days: float) -> str:
    return f"{days:.1f} days of history ×{year_scale(days):.1f} to a year"


@dataclass(frozen=True)
class Lever:
    """One line of the report.  ``quantity`` and ``money`` are per year, except the
    inventory's quantity (a one-off stock reduction, in money); ``money`` is a benefit
    (negative: the lever costs).  Not measured: both None, ``metric`` says why."""

    name: LeverName
    title: str
    measured: bool
    quantity: float | None
    unit: str
    money: float | None
    metric: str  # the measured performance it rests on
    evidence: str  # the history it rests on, and how it was scaled
    source: str  # model, tables, settings

    @property
    def status(self) -> str:
        return "measured" if self.measured else "not measured"


def not_measured(name: LeverName, reason: str, source: str = "") -> Lever:
    """A lever without a measurement: shown, with the reason, and no money."""
    return Lever(name, TITLES[name], False, None, UNITS[name], None, reason, "", source)


# -- maintenance -------------------------------------------------------------------------
@dataclass(frozen=True)
class FailureHistory:
    """The failures and repairs of the history: how often, how long, how costly."""

    days: float  # span of the history the counts cover
    failures: int
    failure_downtime_h: float  # mean downtime of a failure
    planned_downtime_h: float  # mean downtime of a planned repair
    failure_cost: float  # mean cost of a run-to-failure repair
    planned_cost: float  # mean cost of a planned repair
    downtime_source: str
    cost_source: str

    def __post_init__(self) -> None:
        year_scale(self.days)
        for name in ("failure_downtime_h", "planned_downtime_h", "failure_cost", "planned_cost"):
            _check(float(getattr(self, name)), name)
        if self.failures < 0:
            raise InputError("must be >= 0", field="failures")


@dataclass(frozen=True)
class AlertBacktest:
    """The condition model's alerts scored against the history's failures."""

    model: str  # name:version of the models whose alerts were scored
    failures: int  # failures the backtest could score (enough history before them)
    caught: int  # of those, alerted at least ``lead_h`` ahead
    false_alarms: int  # alerts not followed by a failure of their asset, not judged true
    alerts: int
    lead_h: float
    days: float  # span the alerts were scored over
    note: str  # in or out of sample

    def __post_init__(self) -> None:
        if not 0 <= self.caught <= self.failures:
            raise InputError("caught must lie in 0 .. failures", field="caught")
        if self.failures == 0:
            raise InputError("a backtest needs at least one failure to score", field="failures")
        if self.false_alarms < 0:
            raise InputError("must be >= 0", field="false_alarms")
        year_scale(self.days)

    @property
    def recall(self) -> float:
        return self.caught / self.failures


def maintenance_levers(
    history: FailureHistory, backtest: AlertBacktest, costs: ValueCosts
) -> tuple[Lever, Lever]:
    """Downtime avoided and maintenance cost saved a year (module docstring).

    caught/year = recall × failures × scale; false alarms/year = false alarms × their
    scale; hours = caught × (failure h − planned h) − false × planned h; repair cost =
    caught × (failure cost − planned cost) − false × planned cost.
    """
    failures_year = history.failures * year_scale(history.days)
    caught = backtest.recall * failures_year
    false = backtest.false_alarms * year_scale(backtest.days)
    hours = caught * (history.failure_downtime_h - history.planned_downtime_h)
    hours -= false * history.planned_downtime_h
    saved = caught * (history.failure_cost - history.planned_cost)
    saved -= false * history.planned_cost
    metric = (
        f"recall {_pct(backtest.recall)}: {backtest.caught} of {backtest.failures} failures "
        f"alerted ≥ {backtest.lead_h:g} h ahead; {backtest.false_alarms} of {backtest.alerts} "
        f"alerts false alarms ({backtest.note})"
    )
    base = f"{history.failures} failure(s) in {_scaled(history.days)}"
    downtime = Lever(
        "downtime",
        TITLES["downtime"],
        True,
        hours,
        UNITS["downtime"],
        hours * costs.downtime_per_hour,
        metric,
        f"{base}: {caught:.1f} caught a year, {history.failure_downtime_h:.1f} h down per "
        f"failure vs {history.planned_downtime_h:.1f} h per planned repair; {false:.1f} "
        f"false alarms a year at {history.planned_downtime_h:.1f} h each; "
        f"{costs.downtime_per_hour:,.0f} {costs.currency}/h",
        f"{backtest.model}; {history.downtime_source}",
    )
    maintenance = Lever(
        "maintenance",
        TITLES["maintenance"],
        True,
        caught,
        UNITS["maintenance"],
        saved,
        metric,
        f"{base}: {caught:.1f} a year become planned repairs at "
        f"{history.planned_cost:,.0f} instead of {history.failure_cost:,.0f} "
        f"{costs.currency}; {false:.1f} false alarms a year cost a planned repair each",
        f"{backtest.model}; {history.cost_source}",
    )
    return downtime, maintenance


# -- scrap -------------------------------------------------------------------------------
def nonconforming_caught(
    nonconforming: pd.DataFrame,
    alarms: pd.DataFrame,
    *,
    reaction_h: float,
    lookback_h: float,
) -> npt.NDArray[np.bool_]:
    """Per nonconforming measurement (asset, characteristic, ts): was there an alarm
    (asset, characteristic, ts) on the same asset and characteristic between
    ``lookback_h`` and ``reaction_h`` hours before it?

    Alarms of every product's chart count: a drifting machine drifts for all products.
    """
    _check(reaction_h, "reaction_h")
    _check(lookback_h, "lookback_h", positive=True)
    caught = np.zeros(len(nonconforming), dtype=bool)
    if nonconforming.empty or alarms.empty:
        return caught
    keys = ["asset", "characteristic"]
    reaction = pd.Timedelta(hours=reaction_h)
    lookback = pd.Timedelta(hours=lookback_h)
    raised = {
        key: np.sort(pd.DatetimeIndex(pd.to_datetime(group["ts"], utc=True)).asi8)
        for key, group in alarms.groupby(keys)
    }
    for key, group in nonconforming.reset_index(drop=True).groupby(keys):
        times = raised.get(key)
        if times is None:
            continue
        at = pd.DatetimeIndex(pd.to_datetime(group["ts"], utc=True))
        latest_allowed = (at - reaction).asi8
        index = np.searchsorted(times, latest_allowed, side="right") - 1
        found = index >= 0
        last = np.where(found, times[np.maximum(index, 0)], np.iinfo(np.int64).min)
        hit = found & (last >= (at - lookback).asi8)
        caught[group.index.to_numpy()] = hit  # positions: the index was reset
    return caught


@dataclass(frozen=True)
class AssetScrap:
    """One charted asset over the history: production, scrap and inspection counts."""

    asset: str
    parts: int  # good + scrap
    scrap: int
    inspected: int  # measurements
    nonconforming: int  # measurements outside the specification
    caught: int  # of those, after an SPC alarm (see nonconforming_caught)

    @property
    def avoidable(self) -> float:
        """Parts the caught nonconforming rate stands for, at most the recorded scrap."""
        if self.inspected <= 0:
            return 0.0
        return float(min(self.scrap, self.parts * self.caught / self.inspected))


@dataclass(frozen=True)
class ScrapEvidence:
    days: float
    assets: tuple[AssetScrap, ...]
    reaction_h: float
    source: str
    note: str  # which alarms counted (in sample or not)


def scrap_lever(evidence: ScrapEvidence, costs: ValueCosts) -> Lever:
    """Scrap avoided a year: the avoidable parts of every charted asset, scaled."""
    scale = year_scale(evidence.days)
    nonconforming = sum(a.nonconforming for a in evidence.assets)
    caught = sum(a.caught for a in evidence.assets)
    parts = sum(a.avoidable for a in evidence.assets) * scale
    scrap = sum(a.scrap for a in evidence.assets)
    share = _pct(caught / nonconforming) if nonconforming else "n/a"
    metric = (
        f"{share} of out-of-spec measurements caught: {caught} of {nonconforming} came "
        f"≥ {evidence.reaction_h:g} h after an SPC alarm on their asset and characteristic "
        f"({evidence.note})"
    )
    if not nonconforming:
        metric = "no out-of-spec measurement in the history: nothing for SPC to catch"
    charted = ", ".join(a.asset for a in evidence.assets)
    return Lever(
        "scrap",
        TITLES["scrap"],
        True,
        parts,
        UNITS["scrap"],
        parts * costs.scrap_per_part,
        metric,
        f"{scrap:,} parts scrapped on the charted assets ({charted}) in "
        f"{_scaled(evidence.days)}; avoidable = caught out-of-spec rate × parts made, at "
        f"most the scrap; {costs.scrap_per_part:,.2f} {costs.currency}/part",
        evidence.source,
    )


# -- inventory ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StockComparison:
    """Mean stock on hand at unit cost: held by the plant vs the policies' replay."""

    series: int  # item x location pairs compared
    actual_value: float
    policy_value: float
    fill_rate: float  # the replay's demand-weighted fill rate
    target: str  # the policies' service target, in words
    periods: int
    period: str
    source: str
    note: str = ""

    @classmethod
    def from_arrays(
        cls,
        unit_cost: npt.ArrayLike,
        actual_on_hand: npt.ArrayLike,
        policy_on_hand: npt.ArrayLike,
        **rest: Any,
    ) -> StockComparison:
        cost = np.asarray(unit_cost, dtype=np.float64)
        actual = np.asarray(actual_on_hand, dtype=np.float64)
        policy = np.asarray(policy_on_hand, dtype=np.float64)
        if not cost.shape == actual.shape == policy.shape:
            raise InputError("unit costs and stocks differ in length", field="unit_cost")
        if not (np.isfinite(cost).all() and np.isfinite(actual).all()):
            raise InputError("costs and stocks must be finite", field="unit_cost")
        if not np.isfinite(policy).all():
            raise InputError("costs and stocks must be finite", field="policy_on_hand")
        return cls(
            series=int(cost.size),
            actual_value=float(cost @ actual),
            policy_value=float(cost @ policy),
            **rest,
        )


def inventory_lever(comparison: StockComparison, costs: ValueCosts) -> Lever:
    """Stock reduced (one-off, in money) and the holding cost it saves a year."""
    reduced = comparison.actual_value - comparison.policy_value
    ratio = comparison.policy_value / comparison.actual_value if comparison.actual_value else 0.0
    metric = (
        f"replayed policies hold {_pct(ratio)} of the stock held, serving "
        f"{_pct(comparison.fill_rate, 1)} of demand from stock (target {comparison.target})"
    )
    if comparison.note:
        metric += f"; {comparison.note}"
    return Lever(
        "inventory",
        TITLES["inventory"],
        True,
        reduced,
        f"{costs.currency} {UNITS['inventory']}",
        reduced * costs.holding_rate,
        metric,
        f"{comparison.series} item-locations over the last {comparison.periods} "
        f"{comparison.period}s: mean stock {comparison.actual_value:,.0f} held vs "
        f"{comparison.policy_value:,.0f} {costs.currency} in the replay; holding "
        f"{_pct(costs.holding_rate)} a year of the stock reduced",
        comparison.source,
    )


# -- the whole report --------------------------------------------------------------------
def payback_months(investment: float, net_per_year: float) -> float | None:
    """Months until the net yearly benefit has paid the investment; None: never."""
    if investment <= 0:
        return 0.0
    if net_per_year <= 0:
        return None
    return 12.0 * investment / net_per_year


@dataclass(frozen=True)
class ValueReport:
    currency: str
    levers: tuple[Lever, ...]
    annual_benefit: float  # sum of the measured levers' money
    investment: float
    running_cost: float  # per year
    net_annual: float  # benefit less running cost
    payback_months: float | None  # None: the net is not positive, it never pays back
    assumptions: tuple[str, ...]

    @property
    def measured(self) -> tuple[Lever, ...]:
        return tuple(lever for lever in self.levers if lever.measured)

    def frame(self) -> pd.DataFrame:
        """One row per lever: name, title, status, quantity, unit, money, metric,
        evidence, source."""
        rows = [asdict(lever) | {"status": lever.status} for lever in self.levers]
        columns = [
            "name", "title", "status", "quantity", "unit", "money", "metric", "evidence",
            "source",
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["levers"] = [asdict(lv) | {"status": lv.status} for lv in self.levers]
        return out


def summarise(
    levers: Sequence[Lever], costs: ValueCosts, assumptions: Sequence[str] = ()
) -> ValueReport:
    """Totals and payback: only measured levers count."""
    names = [lever.name for lever in levers]
    if len(set(names)) != len(names):
        raise InputError(f"a lever appears twice in {names}", field="levers")
    benefit = float(sum(lever.money for lever in levers if lever.money is not None))
    net = benefit - costs.running_per_year
    return ValueReport(
        currency=costs.currency,
        levers=tuple(levers),
        annual_benefit=benefit,
        investment=costs.investment,
        running_cost=costs.running_per_year,
        net_annual=net,
        payback_months=payback_months(costs.investment, net),
        assumptions=tuple(assumptions),
    )
