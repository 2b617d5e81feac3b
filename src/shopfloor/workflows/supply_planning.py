"""Supply planning on the lake: demand forecasts, inventory policies, what to order now.

Three steps, each storing what it made (append-only, under a new id, with the Delta
versions of the tables it read):

1. :func:`forecast_lake`: the ``demand`` table per period
   (:func:`~shopfloor.workflows.supply.demand_matrix`) forecast by
   :func:`~shopfloor.supply.forecasting.forecast_demand`: per series the probability of
   no demand over the horizon, the expected demand, a point and quantiles per future
   period; stored in ``forecasts``.  The chunks of series run on a compute backend
   (:mod:`~shopfloor.workflows.demand_forecast`); the classes stay here.
   :func:`~shopfloor.workflows.forecast_accuracy.forecast_accuracy` backtests it on the last
   ``h`` periods against the zero and the naive forecasts (its own module).
2. :func:`design_lake_policies`: per item x location an inventory policy on the
   forecast's per-period demand pmf and the supplier's lead-time pmf, for a fill rate
   or a cycle service level, at the item's holding and ordering costs; stored in
   ``policies``.
3. :func:`~shopfloor.workflows.reorder.reorder_list` (its own module): the latest
   inventory positions against the policies in force: what to order now.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.schema import TABLES
from shopfloor.supply.classification import abc_classes, classify_demand, xyz_classes
from shopfloor.supply.forecasting import DemandForecast, ForecastConfig
from shopfloor.supply.inventory import Distribution
from shopfloor.supply.policies import (
    Costs,
    Policy,
    PolicyKind,
    QuantityRule,
    ServiceTarget,
    design_policy,
)
from shopfloor.workflows.compute import BackendChoice, using_backend
from shopfloor.workflows.demand_forecast import forecast_on
from shopfloor.workflows.supply import (
    PERIOD_DAYS,
    DemandMatrix,
    Period,
    _next,
    demand_matrix,
    item_master,
    lead_time_distribution,
)

__all__ = [
    "SEARCH_BELOW",
    "SEASON_LENGTH",
    "LakeForecast",
    "LakePolicies",
    "check_policy_options",
    "design_lake_policies",
    "forecast_lake",
]

F64 = npt.NDArray[np.float64]
# Periods in a season, per period: the forecaster's calendar feature.
SEASON_LENGTH: dict[str, int] = {"day": 7, "week": 52, "month": 12}
# supply.lot_sizing "auto": search the lot size below this mean demand per period.
SEARCH_BELOW = 20.0
_LEVEL_COLUMNS = {0.5: "q50", 0.8: "q80", 0.9: "q90", 0.95: "q95"}


def _store(lake: Lake, name: str, rows: pd.DataFrame, operation: str) -> None:
    """Append ``rows`` to the derived table ``name`` in its declared schema."""
    schema = TABLES[name].schema
    table = pa.Table.from_pandas(rows[schema.names], schema=schema, preserve_index=False)
    lake.write(name, table, operation=operation)


def _new_id(created: pd.Timestamp) -> str:
    return f"{created:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _calendar_position(start: np.datetime64, period: Period) -> int:
    """Position of the period starting ``start`` in its season (0-based)."""
    day = pd.Timestamp(start)
    if period == "month":
        return day.month - 1
    if period == "week":
        return (int(day.isocalendar().week) - 1) % SEASON_LENGTH["week"]
    return day.dayofweek


def _history(matrix: DemandMatrix) -> F64:
    """The matrix with a series' periods after its last row as zeros: the table runs on
    to its last day for every series, so a series without rows since sold nothing
    (before its first row it is NaN: not yet stocked)."""
    values = matrix.values.copy()
    observed = ~np.isnan(values)
    started = np.maximum.accumulate(observed, axis=1)
    values[started & ~observed] = 0.0
    return values


def _horizon(lake: Lake, horizon: int | None) -> int:
    h = lake.settings.supply.horizon_periods if horizon is None else horizon
    if h < 1:
        raise InputError(f"must be at least 1, not {h}", field="horizon")
    return h


def _config(lake: Lake, horizon: int, period: Period) -> ForecastConfig:
    return ForecastConfig(
        horizon=horizon, season_length=SEASON_LENGTH[period], seed=lake.settings.supply.seed
    )


# -- forecasts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LakeForecast:
    """A forecast of every series of the lake's ``demand``.

    ``series``: one row per series (item, location, demand_class, silence, mean per
    period, q90 per period), in the order of ``forecast``'s rows; ``rows``: the stored
    rows (one per series and future period, the ``forecasts`` table's columns).
    """

    forecast_id: str
    created_at: pd.Timestamp
    period: Period
    horizon: int
    starts: tuple[date, ...]  # first day of each forecast period
    history_end: date  # first day after the history
    series: pd.DataFrame
    forecast: DemandForecast
    rows: pd.DataFrame
    demand_version: int
    stored: bool

    def distribution(self, item: str, location: str) -> Distribution:
        """Per-period demand pmf of one series."""
        hit = np.flatnonzero(
            (self.series["item"] == item).to_numpy() & (self.series["location"] == location)
        )
        if hit.size == 0:
            raise InputError(f"no forecast for {item} at {location}", field="item")
        return self.forecast.distribution(int(hit[0]))


def _future(last: np.datetime64, period: Period, horizon: int) -> tuple[date, ...]:
    start = pd.Timestamp(last).date()
    starts = []
    for _ in range(horizon):
        start = _next(start, period)
        starts.append(start)
    return tuple(starts)


def _annual_value(lake: Lake, matrix: DemandMatrix, history: F64) -> F64:
    """Demand over the last year per series, in money when every unit cost is known.

    (ABC by value is the classic; when the item master lacks a cost, by units, for all
    series alike, so that the classes stay comparable.)
    """
    per_year = max(1, round(365.25 / PERIOD_DAYS[matrix.period]))
    units = np.nansum(history[:, -per_year:], axis=1)
    try:
        items, _ = item_master(lake)
    except InputError:  # no item master: by units
        return np.asarray(units, dtype=np.float64)
    cost = items.set_index("item")["unit_cost"].reindex(matrix.items.astype(str)).to_numpy()
    if np.isnan(cost.astype(np.float64)).any():
        return np.asarray(units, dtype=np.float64)
    return np.asarray(units * cost.astype(np.float64), dtype=np.float64)


def forecast_lake(
    lake: Lake,
    *,
    horizon: int | None = None,
    period: Period | str | None = None,
    store: bool = True,
    backend: BackendChoice = None,
    series_per_chunk: int | None = None,
) -> LakeForecast:
    """Forecast every item x location ``horizon`` periods (``supply.horizon_periods``) on.

    ``store``: append the forecast to the ``forecasts`` table under a new forecast_id.
    ``backend``: where the chunks of series are forecast ("local", "spark", an open
    backend, or None for ``compute.backend``); ``series_per_chunk``: their size (default
    ``ForecastConfig.chunk``).  The forecast is the same on every backend.
    """
    h = _horizon(lake, horizon)
    if series_per_chunk is not None and series_per_chunk < 1:
        raise InputError(f"must be at least 1, not {series_per_chunk}", field="series_per_chunk")
    with using_backend(lake.settings, backend) as engine:  # a bad name fails here, at once
        matrix = demand_matrix(lake, period)
        history = _history(matrix)
        config = _config(lake, h, matrix.period)
        if series_per_chunk is not None:
            config = replace(config, chunk=series_per_chunk)
        first = _calendar_position(matrix.periods[0], matrix.period)
        result = forecast_on(engine, history, config, first)
    classes = classify_demand(history).category
    abc = abc_classes(_annual_value(lake, matrix, history))
    xyz = xyz_classes(history)
    created = pd.Timestamp.now(tz="UTC").floor("us")
    forecast_id = _new_id(created)
    starts = _future(matrix.periods[-1], matrix.period, h)
    history_end = starts[0]
    series = pd.DataFrame(
        {
            "item": matrix.items.astype(str),
            "location": matrix.locations.astype(str),
            "demand_class": np.asarray(classes, dtype=object),
            "abc": np.asarray(abc, dtype=object),
            "xyz": np.asarray(xyz, dtype=object),
            "model": np.asarray(result.model if result.model is not None else [""] * len(abc)),
            "silence": result.silence,
            "mean": result.mean[:, 0],
            "q90": result.quantiles[0.9][:, 0],
        }
    )
    n = matrix.n_series
    rows = pd.DataFrame(
        {
            "forecast_id": forecast_id,
            "created_at": created,
            "period": matrix.period,
            "period_start": np.tile(np.array(starts, dtype="datetime64[D]"), n),
            "step": np.tile(np.arange(1, h + 1, dtype=np.int32), n),
            "item": np.repeat(series["item"].to_numpy(), h),
            "location": np.repeat(series["location"].to_numpy(), h),
            **{
                column: np.repeat(series[column].to_numpy(), h)
                for column in ("demand_class", "abc", "xyz", "model")
            },
            "silence": np.repeat(result.silence, h),
            "mean": result.mean.ravel(),
            "point": result.point.ravel(),
            **{column: result.quantiles[level].ravel() for level, column in _LEVEL_COLUMNS.items()},
            "history_end": history_end,
            "demand_version": matrix.version,
        }
    )
    rows["period_start"] = rows["period_start"].dt.date
    if store:
        _store(lake, "forecasts", rows, "forecast")
    return LakeForecast(
        forecast_id=forecast_id,
        created_at=created,
        period=matrix.period,
        horizon=h,
        starts=starts,
        history_end=history_end,
        series=series,
        forecast=result,
        rows=rows,
        demand_version=matrix.version,
        stored=store,
    )


# -- policies ----------------------------------------------------------------------------

TargetKind = Literal["fill_rate", "csl"]


@dataclass(frozen=True)
class LakePolicies:
    """Policies per item x location; ``rows`` is what was stored (``policies`` columns).

    ``policies`` maps (item, location) to the designed :class:`Policy` (series without
    one, e.g. no demand expected, are in ``rows`` with a null reorder point and a note).
    ``fallback_suppliers``: suppliers without a received delivery, planned with
    ``supply.default_lead_time_days``.
    """

    policy_id: str
    created_at: pd.Timestamp
    forecast_id: str
    period: Period
    kind: PolicyKind
    target: ServiceTarget
    policies: dict[tuple[str, str], Policy]
    rows: pd.DataFrame
    fallback_suppliers: tuple[str, ...]
    no_policy: int  # series without a policy (see their note)


def _target(lake: Lake, fill_rate: float | None, service_level: float | None) -> ServiceTarget:
    if fill_rate is not None and service_level is not None:
        raise InputError("give a fill rate or a service level, not both", field="service_level")
    settings = lake.settings.supply
    if fill_rate is None and service_level is None:
        if settings.service_level is not None:
            service_level = settings.service_level
        else:
            fill_rate = settings.fill_rate
    if fill_rate is not None:
        if not 0.0 < fill_rate < 1.0:
            raise InputError(f"must lie in (0, 1), not {fill_rate:g}", field="fill_rate")
        return ServiceTarget.fill_rate(fill_rate)
    assert service_level is not None
    if not 0.0 < service_level < 1.0:
        raise InputError(f"must lie in (0, 1), not {service_level:g}", field="service_level")
    return ServiceTarget.cycle_service_level(service_level)


def _kind(lake: Lake, kind: str | None) -> PolicyKind:
    chosen = lake.settings.supply.policy_kind if kind is None else kind
    if chosen not in get_args(PolicyKind):
        raise InputError(
            f"must be one of {', '.join(get_args(PolicyKind))}, not '{chosen}'", field="kind"
        )
    return chosen  # type: ignore[return-value]


def check_policy_options(
    lake: Lake,
    kind: str | None = None,
    fill_rate: float | None = None,
    service_level: float | None = None,
) -> tuple[PolicyKind, ServiceTarget]:
    """The policy kind and service target these options (or the settings) ask for."""
    return _kind(lake, kind), _target(lake, fill_rate, service_level)


def _lot_rule(setting: str, demand: Distribution) -> QuantityRule:
    """``supply.lot_sizing``; "auto": the lot-size search below ``SEARCH_BELOW`` units a
    period, where a whole unit of reorder point is a big step in service (the search
    costs ~0.5 s for a fast mover and gains it 1-3 % of cost over the EOQ)."""
    if setting == "auto":
        return "optimal" if demand.mean < SEARCH_BELOW else "eoq"
    return "optimal" if setting == "optimal" else "eoq"


def _default_lead(lake: Lake, period: Period) -> Distribution:
    """``supply.default_lead_time_days`` as a fixed lead time in whole periods."""
    days = lake.settings.supply.default_lead_time_days
    periods = max(math.ceil(days / PERIOD_DAYS[period] - 1e-9), 0)
    return Distribution(np.eye(periods + 1)[-1])


def _lead_times(
    lake: Lake, suppliers: list[str], period: Period
) -> tuple[dict[str, tuple[Distribution, str]], int | None]:
    """Lead-time pmf per supplier and where it came from; the deliveries version read."""
    days = lake.settings.supply.default_lead_time_days
    fallback = _default_lead(lake, period)
    version = lake.version("deliveries")
    out: dict[str, tuple[Distribution, str]] = {}
    for supplier in suppliers:
        if version is not None and supplier:
            try:
                lead = lead_time_distribution(lake, supplier, period)
                out[supplier] = (lead.distribution, f"deliveries ({lead.lines} lines)")
                continue
            except InputError:
                pass  # no received delivery from it: the default below
        out[supplier] = (fallback, f"default {days:g} days")
    return out, version


def design_lake_policies(
    lake: Lake,
    *,
    forecast: LakeForecast | None = None,
    kind: str | None = None,
    fill_rate: float | None = None,
    service_level: float | None = None,
    review_period: int | None = None,
    store: bool = True,
) -> LakePolicies:
    """An inventory policy per item x location of the forecast (default: a fresh one).

    Demand: the forecast's per-period pmf.  Lead time: the pmf of the item's supplier
    from its received deliveries, else ``supply.default_lead_time_days``.  Target: the
    fill rate (``supply.fill_rate``) or a cycle service level.  Costs: holding =
    unit cost x ``supply.holding_rate`` per year, per period; ``supply.order_cost`` per
    order; lots from the item's MOQ and pack size.
    """
    chosen = _kind(lake, kind)
    target = _target(lake, fill_rate, service_level)
    review = lake.settings.supply.review_period if review_period is None else review_period
    if review < 1:
        raise InputError(f"must be at least 1, not {review}", field="review_period")
    if chosen != "RS":
        review = 1
    master, items_version = item_master(lake)
    if forecast is None:
        forecast = forecast_lake(lake)
    period = forecast.period
    settings = lake.settings.supply
    known = master.set_index("item")
    series = forecast.series.merge(master, on="item", how="left")
    costs_known = known["unit_cost"].dropna()
    default_cost = float(costs_known.median()) if len(costs_known) else 1.0
    suppliers = sorted({str(s) for s in series["supplier"].dropna()})
    leads, deliveries_version = _lead_times(lake, suppliers, period)
    fallback = tuple(s for s in suppliers if leads[s][1].startswith("default"))
    default_source = f"default {settings.default_lead_time_days:g} days"
    per_period = settings.holding_rate * PERIOD_DAYS[period] / 365.25
    policies: dict[tuple[str, str], Policy] = {}
    records = []
    for i, row in enumerate(series.to_dict("records")):
        notes = []
        unit_cost = float(row["unit_cost"]) if pd.notna(row["unit_cost"]) else math.nan
        if math.isnan(unit_cost) or unit_cost <= 0:
            notes.append(f"no unit cost: the median {default_cost:g} assumed")
            unit_cost = default_cost
        supplier = None if pd.isna(row["supplier"]) else str(row["supplier"])
        if supplier is not None:
            lead, source = leads[supplier]
        else:
            lead, source = _default_lead(lake, period), default_source
            notes.append("no supplier in the item master")
        moq = 0 if pd.isna(row["moq"]) else int(row["moq"])
        pack = 1 if pd.isna(row["pack_size"]) else max(int(row["pack_size"]), 1)
        costs = Costs(settings.order_cost, unit_cost * per_period)
        demand = forecast.forecast.distribution(i)
        policy = None
        if demand.mean <= 0:
            notes.append("no demand expected: nothing to stock")
        else:
            policy = design_policy(
                demand,
                lead,
                target,
                costs,
                kind=chosen,
                review_period=review,
                moq=moq,
                pack_size=pack,
                quantity=_lot_rule(settings.lot_sizing, demand),
            )
            policies[(str(row["item"]), str(row["location"]))] = policy
        records.append(
            _policy_record(row, supplier, policy, chosen, review, target, costs, demand, lead)
            | {
                "lead_time_source": source,
                "unit_cost": unit_cost,
                "moq": moq,
                "pack_size": pack,
                "note": "; ".join(notes) or None,
            }
        )
    created = pd.Timestamp.now(tz="UTC").floor("us")
    policy_id = _new_id(created)
    rows = pd.DataFrame(records)
    rows.insert(0, "policy_id", policy_id)
    rows.insert(1, "created_at", created)
    rows.insert(2, "forecast_id", forecast.forecast_id)
    rows.insert(3, "period", period)
    rows["items_version"] = items_version
    rows["deliveries_version"] = deliveries_version
    rows = rows[TABLES["policies"].schema.names]
    if store:
        _store(lake, "policies", rows, "policy")
    return LakePolicies(
        policy_id=policy_id,
        created_at=created,
        forecast_id=forecast.forecast_id,
        period=period,
        kind=chosen,
        target=target,
        policies=policies,
        rows=rows,
        fallback_suppliers=fallback,
        no_policy=len(rows) - len(policies),
    )


def _policy_record(
    row: dict[Hashable, Any],
    supplier: str | None,
    policy: Policy | None,
    kind: PolicyKind,
    review: int,
    target: ServiceTarget,
    costs: Costs,
    demand: Distribution,
    lead: Distribution,
) -> dict[str, object]:
    return {
        "item": row["item"],
        "location": row["location"],
        "supplier": supplier,
        "kind": kind,
        "review_period": review,
        "reorder_point": None if policy is None else policy.reorder_point,
        "order_quantity": None if policy is None else policy.order_quantity,
        "order_up_to": None if policy is None else policy.order_up_to,
        "target_kind": target.kind,
        "target": target.level,
        "expected_fill_rate": None if policy is None else policy.expected_fill_rate,
        "expected_csl": None if policy is None else policy.expected_cycle_service_level,
        "safety_stock": None if policy is None else policy.safety_stock,
        "expected_on_hand": None if policy is None else policy.expected_on_hand,
        "orders_per_period": None if policy is None else policy.orders_per_period,
        "expected_cost": None if policy is None else policy.expected_cost(costs),
        "demand_mean": demand.mean,
        "lead_time_mean": lead.mean,
        "holding_cost": costs.holding_cost,
        "order_cost": costs.order_cost,
    }
