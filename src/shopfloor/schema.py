"""The canonical data model (DESIGN section 5) as Arrow schemas.

Every table a user can ingest or a workflow can write is declared here once:
its Arrow schema, which fields must be present, its natural key and where it is
stored (Delta for facts, SQLite for metadata).  Ingest, the lake and the docs
(``docs/data-model.md``) are all driven by this table of specs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

from shopfloor.errors import UnknownTableError

TS = pa.timestamp("us", tz="UTC")
"""Every timestamp in the lake: microseconds, timezone-aware, UTC."""

ASSET_LEVELS = ("site", "area", "line", "cell", "machine", "component")
EVENT_KINDS = ("state", "alarm", "failure", "maintenance", "changeover")


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: pa.Schema
    required: tuple[str, ...]
    key: tuple[str, ...]
    storage: Literal["delta", "sqlite"] = "delta"
    partition_by: tuple[str, ...] = ()
    description: str = ""
    docs: dict[str, str] = field(default_factory=dict)

    @property
    def loadable(self) -> tuple[str, ...]:
        """Fields a user file may carry (lake bookkeeping columns excluded)."""
        return tuple(n for n in self.schema.names if n not in LAKE_COLUMNS)


# Columns the lake adds itself; a source file never carries them.
LAKE_COLUMNS = ("ingest_id", "seq", "day")

_lineage = [pa.field("ingest_id", pa.int64()), pa.field("seq", pa.int64())]


def _spec(
    name: str,
    fields: list[tuple[str, pa.DataType, str]],
    required: tuple[str, ...],
    key: tuple[str, ...],
    description: str,
    storage: Literal["delta", "sqlite"] = "delta",
    partition_by: tuple[str, ...] = (),
    lineage: bool = True,
) -> TableSpec:
    arrow_fields = [pa.field(n, t, nullable=n not in required) for n, t, _ in fields]
    if storage == "delta" and lineage:
        arrow_fields += _lineage
    return TableSpec(
        name=name,
        schema=pa.schema(arrow_fields),
        required=required,
        key=key,
        storage=storage,
        partition_by=partition_by,
        description=description,
        docs={n: d for n, _, d in fields},
    )


TABLES: dict[str, TableSpec] = {
    s.name: s
    for s in [
        _spec(
            "assets",
            [
                ("asset", pa.string(), "unique asset id, e.g. 'L1-M03'"),
                ("parent", pa.string(), "id of the parent asset (empty for a site)"),
                ("level", pa.string(), "one of " + ", ".join(ASSET_LEVELS)),
                ("name", pa.string(), "display name"),
                ("site", pa.string(), "site the asset belongs to (tenant boundary)"),
                ("line", pa.string(), "production line, when the asset is on one"),
            ],
            required=("asset", "level"),
            key=("asset",),
            description="asset hierarchy site > area > line > cell/machine > component",
            storage="sqlite",
        ),
        _spec(
            "signals",
            [
                ("asset", pa.string(), "asset id"),
                ("signal", pa.string(), "signal name, unique per asset"),
                ("unit", pa.string(), "engineering unit, e.g. 'degC', 'mm/s', 'bar'"),
                ("kind", pa.string(), "physical quantity, e.g. 'temperature'"),
                ("lower", pa.float64(), "lowest plausible value"),
                ("upper", pa.float64(), "highest plausible value"),
                ("period_s", pa.float64(), "nominal sample period in seconds"),
            ],
            required=("asset", "signal"),
            key=("asset", "signal"),
            description="what each asset measures, in which unit, how often, within which limits",
            storage="sqlite",
        ),
        _spec(
            "readings",
            [
                ("asset", pa.string(), "asset id"),
                ("signal", pa.string(), "signal name"),
                ("ts", TS, "time of the measurement (UTC)"),
                (
                    "value",
                    pa.float64(),
                    "value in the signal's unit; null when the source had none",
                ),
                ("quality", pa.int8(), "source quality flag: 0 good, 1 uncertain, 2 bad"),
            ],
            required=("asset", "signal", "ts"),
            key=("asset", "signal", "ts"),
            description="sensor time series, long layout; partitioned by UTC day",
            partition_by=("day",),
        ),
        _spec(
            "events",
            [
                ("asset", pa.string(), "asset id"),
                ("start", TS, "start of the event"),
                ("end", TS, "end of the event (null while open)"),
                ("kind", pa.string(), "one of " + ", ".join(EVENT_KINDS)),
                ("code", pa.string(), "state or reason code, e.g. 'running', 'planned_stop'"),
                ("detail", pa.string(), "free text"),
            ],
            required=("asset", "start", "kind", "code"),
            key=("asset", "start", "kind", "code"),
            description="machine states, alarms, failures, maintenance and changeovers",
        ),
        _spec(
            "work_orders",
            [
                ("work_order", pa.string(), "work order id"),
                ("asset", pa.string(), "asset id"),
                ("kind", pa.string(), "corrective | preventive | predictive"),
                ("created", TS, "when it was raised"),
                ("start", TS, "work started"),
                ("end", TS, "work finished"),
                ("status", pa.string(), "open | in_progress | done | cancelled"),
                ("cost", pa.float64(), "total cost in plant currency"),
                ("detail", pa.string(), "free text"),
            ],
            required=("work_order", "asset", "kind", "created"),
            key=("work_order",),
            description="maintenance work orders",
        ),
        _spec(
            "production",
            [
                ("asset", pa.string(), "asset id"),
                ("start", TS, "start of the counting interval"),
                ("end", TS, "end of the counting interval"),
                ("product", pa.string(), "item produced"),
                ("order", pa.string(), "production order"),
                ("good", pa.int64(), "good units"),
                ("scrap", pa.int64(), "scrapped units"),
                ("ideal_cycle_s", pa.float64(), "ideal cycle time per unit in seconds"),
            ],
            required=("asset", "start", "end", "good", "scrap", "ideal_cycle_s"),
            key=("asset", "start", "product"),
            description="production counts per interval",
        ),
        _spec(
            "orders",
            [
                ("order", pa.string(), "production order id"),
                ("item", pa.string(), "item to make"),
                ("quantity", pa.int64(), "units"),
                ("release", TS, "earliest start"),
                ("due", TS, "due date"),
                ("priority", pa.float64(), "weight for tardiness (higher is more urgent)"),
                ("status", pa.string(), "planned | released | running | done"),
            ],
            required=("order", "item", "quantity", "due"),
            key=("order",),
            description="production orders",
        ),
        _spec(
            "routings",
            [
                ("item", pa.string(), "item"),
                ("op_seq", pa.int32(), "operation sequence number"),
                ("operation", pa.string(), "operation name"),
                ("machine", pa.string(), "an eligible machine (one row per eligible machine)"),
                ("processing_s", pa.float64(), "processing time per unit on this machine"),
                ("setup_s", pa.float64(), "setup time before a batch on this machine"),
                ("min_lag_s", pa.float64(), "minimum lag / transport time after the operation"),
            ],
            required=("item", "op_seq", "machine", "processing_s"),
            key=("item", "op_seq", "machine"),
            description="operations per item with their eligible machines and times",
        ),
        _spec(
            "inspections",
            [
                ("asset", pa.string(), "asset that made the part"),
                ("ts", TS, "time of the inspection"),
                ("product", pa.string(), "item"),
                ("order", pa.string(), "production order"),
                ("characteristic", pa.string(), "measured characteristic"),
                ("value", pa.float64(), "measured value"),
                ("lsl", pa.float64(), "lower specification limit"),
                ("usl", pa.float64(), "upper specification limit"),
                ("verdict", pa.string(), "pass | fail"),
                ("image", pa.string(), "reference to an image, when there is one"),
                ("label", pa.string(), "defect label, when known"),
                ("model", pa.string(), "model name:version that gave an image verdict"),
                ("score", pa.float64(), "the model's probability of its label (or anomaly score)"),
                ("map", pa.string(), "reference to the verdict's localisation map image"),
            ],
            required=("ts", "characteristic"),
            key=("asset", "ts", "characteristic", "image"),
            description="quality inspections: measurements and image verdicts",
        ),
        _spec(
            "items",
            [
                ("item", pa.string(), "item id"),
                ("description", pa.string(), "text"),
                ("unit", pa.string(), "unit of measure"),
                ("unit_cost", pa.float64(), "cost per unit"),
                ("pack_size", pa.int64(), "order multiple"),
                ("moq", pa.int64(), "minimum order quantity"),
                ("supplier", pa.string(), "main supplier"),
            ],
            required=("item",),
            key=("item",),
            description="item master",
        ),
        _spec(
            "inventory",
            [
                ("item", pa.string(), "item"),
                ("location", pa.string(), "stock location"),
                ("ts", TS, "snapshot time"),
                ("on_hand", pa.float64(), "units on hand"),
                ("on_order", pa.float64(), "units on open purchase orders"),
                ("allocated", pa.float64(), "units reserved for orders"),
            ],
            required=("item", "location", "ts", "on_hand"),
            key=("item", "location", "ts"),
            description="inventory snapshots",
        ),
        _spec(
            "demand",
            [
                ("item", pa.string(), "item"),
                ("location", pa.string(), "location"),
                ("date", pa.date32(), "day of the demand"),
                ("quantity", pa.float64(), "units demanded"),
            ],
            required=("item", "location", "date", "quantity"),
            key=("item", "location", "date"),
            description="item demand history",
        ),
        _spec(
            "deliveries",
            [
                ("po", pa.string(), "purchase order id"),
                ("supplier", pa.string(), "supplier"),
                ("item", pa.string(), "item"),
                ("quantity_ordered", pa.float64(), "units ordered"),
                ("quantity_received", pa.float64(), "units received"),
                ("ordered", TS, "when ordered"),
                ("promised", TS, "promised delivery"),
                ("received", TS, "actual delivery (null while open)"),
            ],
            required=("po", "supplier", "item", "quantity_ordered", "ordered"),
            key=("po", "item"),
            description="supplier deliveries",
        ),
        _spec(
            "quarantine",
            [
                ("table", pa.string(), "table the row was meant for"),
                ("source", pa.string(), "file or stream it came from"),
                ("row", pa.int64(), "1-based row number in the source (data rows)"),
                ("reason", pa.string(), "why it was refused"),
                ("raw", pa.string(), "the row as received (JSON)"),
                ("ingested_at", TS, "when"),
            ],
            required=("table", "source", "reason"),
            key=("ingest_id", "row", "reason"),
            description="rows refused at ingest, with the reason; nothing is dropped silently",
        ),
    ]
}

# Repaired readings: the raw table is never rewritten; `shopfloor dq repair` writes a new
# version of this one (same fields, plus a note of what the repair did).
TABLES["readings_clean"] = _spec(
    "readings_clean",
    [
        ("asset", pa.string(), "asset id"),
        ("signal", pa.string(), "signal name"),
        ("ts", TS, "time of the measurement (UTC)"),
        ("value", pa.float64(), "value after repair"),
        (
            "quality",
            pa.int8(),
            "0 untouched, 1 repaired (interpolated, converted, clipped), 2 nulled",
        ),
    ],
    required=("asset", "signal", "ts"),
    key=("asset", "signal", "ts"),
    description="readings after data-quality repair (raw `readings` kept as they came)",
    partition_by=("day",),
    lineage=False,
)

# Alerts raised by the maintenance models.  Append-only: every change of state (open,
# acknowledged, closed) or of extent appends a row with the same alert_id; the current
# alert is its latest row (`updated_at`), so the lake keeps the whole history.
TABLES["alerts"] = _spec(
    "alerts",
    [
        ("alert_id", pa.string(), "stable id: asset and time raised"),
        ("asset", pa.string(), "asset id"),
        ("start", TS, "when the alert was raised (UTC)"),
        ("end", TS, "when the condition cleared (null while it lasts)"),
        ("severity", pa.string(), "warning or critical"),
        ("score", pa.float64(), "peak health score of the episode"),
        ("threshold", pa.float64(), "the model's calibrated threshold"),
        ("explanation", pa.string(), "the contributing signals in words"),
        ("signals", pa.string(), "contributing signals as JSON (value, normal, sigma, unit)"),
        ("model", pa.string(), "registered model name"),
        ("model_version", pa.int64(), "registered model version"),
        ("state", pa.string(), "open, acknowledged or closed"),
        ("updated_at", TS, "when this row was written"),
        ("note", pa.string(), "who changed the state and why"),
    ],
    required=("alert_id", "asset", "start", "state", "updated_at"),
    key=("alert_id", "updated_at"),
    description="maintenance alerts with their explanation and state history (append-only)",
    lineage=False,
)
ALERT_STATES = ("open", "acknowledged", "closed")

# Operator verdicts on alerts, the closed loop's labels.  Append-only like `alerts`: a
# changed mind appends a row; an alert's verdict is its latest row (`recorded_at`).  The
# alert's model and version are copied in, so each model's live precision is one query.
TABLES["alert_feedback"] = _spec(
    "alert_feedback",
    [
        ("alert_id", pa.string(), "the alert judged"),
        ("asset", pa.string(), "its asset"),
        ("model", pa.string(), "registered model that raised it"),
        ("model_version", pa.int64(), "that model's version"),
        ("verdict", pa.string(), "true (a real fault), false (a false alarm) or unknown"),
        ("recorded_by", pa.string(), "who judged it"),
        ("recorded_at", TS, "when (UTC)"),
        ("note", pa.string(), "what was found"),
    ],
    required=("alert_id", "verdict", "recorded_by", "recorded_at"),
    key=("alert_id", "recorded_at"),
    description="operator verdicts on alerts (append-only; an alert's latest verdict counts)",
    lineage=False,
)
FEEDBACK_VERDICTS = ("true", "false", "unknown")

# What maintenance found when it did the work.  Append-only: a corrected report appends a
# row; a work order's outcome is its latest row.  An outcome that names the alert it
# answered also judges that alert (fault found: true) when no operator gave a verdict.
TABLES["work_order_outcomes"] = _spec(
    "work_order_outcomes",
    [
        ("work_order", pa.string(), "work order id"),
        ("asset", pa.string(), "its asset"),
        ("alert_id", pa.string(), "the alert the work answered, when there was one"),
        ("fault_found", pa.bool_(), "was a fault found (null: not reported)"),
        ("failure_mode", pa.string(), "what had failed or was wearing, e.g. 'bearing'"),
        ("parts", pa.string(), "parts replaced"),
        ("cost", pa.float64(), "cost of the work in plant currency"),
        ("downtime_h", pa.float64(), "hours the asset was down for it"),
        ("recorded_by", pa.string(), "who reported it"),
        ("recorded_at", TS, "when (UTC)"),
        ("note", pa.string(), "free text"),
    ],
    required=("work_order", "recorded_by", "recorded_at"),
    key=("work_order", "recorded_at"),
    description="what maintenance found and spent per work order (append-only; latest counts)",
    lineage=False,
)

# Schedules made by the planner.  Append-only facts: a plan or a repair writes all its
# operations under a new schedule_id (a repair names the schedule it repairs in
# parent_id), nothing is ever rewritten, so every plan the plant was given stays readable.
TABLES["schedules"] = _spec(
    "schedules",
    [
        ("schedule_id", pa.string(), "id of the schedule (one per plan or repair)"),
        ("parent_id", pa.string(), "the schedule this one repairs (null for a fresh plan)"),
        ("created_at", TS, "when the schedule was made"),
        ("origin", TS, "plan time 0: every time of the plan is minutes from it"),
        ("order", pa.string(), "production order"),
        ("item", pa.string(), "item the order makes (its setup family)"),
        ("op_seq", pa.int32(), "operation sequence number in the item's routing"),
        ("operation", pa.string(), "operation name"),
        ("machine", pa.string(), "machine (asset id) the operation runs on"),
        ("start", TS, "the machine is held from here: changeover first"),
        ("end", TS, "end of processing"),
        ("setup_end", TS, "end of the changeover, start of processing"),
        ("objective", pa.string(), "objective minimised: makespan, weighted_tardiness or mix"),
        ("objective_value", pa.float64(), "its value, in minutes (weighted for tardiness)"),
        ("status", pa.string(), "solver status: optimal or feasible"),
        ("lower_bound", pa.float64(), "solver's bound on the objective"),
        ("reason", pa.string(), "plan, or 'reschedule: ' and the disruptions repaired"),
        (
            "breakdowns",
            pa.string(),
            "breakdowns the schedule works around, JSON [{machine, start, end}] (repairs)",
        ),
    ],
    required=(
        "schedule_id",
        "created_at",
        "origin",
        "order",
        "op_seq",
        "machine",
        "start",
        "end",
        "setup_end",
        "objective",
        "status",
        "reason",
    ),
    key=("schedule_id", "order", "op_seq"),
    description="schedules from the planner, one row per operation (append-only)",
    lineage=False,
)

# Demand forecasts.  Append-only: one run writes every series x future period under a new
# forecast_id, with the Delta version of `demand` it read, so a forecast stays comparable
# with what was then sold.
TABLES["forecasts"] = _spec(
    "forecasts",
    [
        ("forecast_id", pa.string(), "id of the forecast run"),
        ("created_at", TS, "when the forecast was made"),
        ("period", pa.string(), "time bucket: day, week or month"),
        ("period_start", pa.date32(), "first day of the forecast period"),
        ("step", pa.int32(), "periods ahead of the history's end (1 = the next one)"),
        ("item", pa.string(), "item"),
        ("location", pa.string(), "stocking location"),
        ("demand_class", pa.string(), "smooth, erratic, intermittent, lumpy or none (history)"),
        ("abc", pa.string(), "A / B / C by share of the last year's demand value (or units)"),
        ("xyz", pa.string(), "X / Y / Z by the variation of the demand per period"),
        ("model", pa.string(), "model chosen for the series by the backtest"),
        ("silence", pa.float64(), "probability of no demand at all over the horizon"),
        ("mean", pa.float64(), "expected demand in the period"),
        ("point", pa.float64(), "point forecast (RMSSE-optimal: below the mean if likely silent)"),
        ("q50", pa.float64(), "median demand in the period"),
        ("q80", pa.float64(), "80 % quantile of demand in the period"),
        ("q90", pa.float64(), "90 % quantile of demand in the period"),
        ("q95", pa.float64(), "95 % quantile of demand in the period"),
        ("history_end", pa.date32(), "first day after the history the forecast was fitted on"),
        ("demand_version", pa.int64(), "Delta version of `demand` read"),
    ],
    required=(
        "forecast_id",
        "created_at",
        "period",
        "period_start",
        "step",
        "item",
        "location",
        "mean",
        "demand_version",
    ),
    key=("forecast_id", "item", "location", "period_start"),
    description="demand forecasts with quantiles, one row per series and period (append-only)",
    lineage=False,
)

# Inventory policies designed on a forecast.  Append-only: one run writes a row per
# item x location under a new policy_id; the latest run is the one in force.
TABLES["policies"] = _spec(
    "policies",
    [
        ("policy_id", pa.string(), "id of the policy run"),
        ("created_at", TS, "when the policies were designed"),
        ("forecast_id", pa.string(), "the forecast whose demand distributions they use"),
        ("period", pa.string(), "time bucket of the figures: day, week or month"),
        ("item", pa.string(), "item"),
        ("location", pa.string(), "stocking location"),
        ("supplier", pa.string(), "supplier the item is ordered from"),
        ("kind", pa.string(), "sQ (reorder point, lot), sS (min-max) or RS (periodic)"),
        ("review_period", pa.int32(), "periods between reviews (1 for sQ and sS)"),
        ("reorder_point", pa.int64(), "order when the inventory position is at or below it"),
        ("order_quantity", pa.int64(), "sQ: the lot ordered (a multiple of it)"),
        ("order_up_to", pa.int64(), "sS and RS: the level ordered up to"),
        ("target_kind", pa.string(), "fill_rate or csl (cycle service level)"),
        ("target", pa.float64(), "the service target"),
        ("expected_fill_rate", pa.float64(), "fill rate the policy achieves in the model"),
        ("expected_csl", pa.float64(), "cycle service level the policy achieves in the model"),
        ("safety_stock", pa.float64(), "expected net stock just before a delivery"),
        ("expected_on_hand", pa.float64(), "mean stock on hand"),
        ("orders_per_period", pa.float64(), "mean orders placed per period"),
        ("expected_cost", pa.float64(), "holding + ordering cost per period"),
        ("demand_mean", pa.float64(), "expected demand per period (from the forecast)"),
        ("lead_time_mean", pa.float64(), "mean lead time in periods"),
        ("lead_time_source", pa.string(), "deliveries (received lines) or the default setting"),
        ("unit_cost", pa.float64(), "unit cost from the item master"),
        ("holding_cost", pa.float64(), "holding cost per unit and period"),
        ("order_cost", pa.float64(), "cost per order"),
        ("moq", pa.int64(), "minimum order quantity"),
        ("pack_size", pa.int64(), "orders are multiples of it"),
        ("note", pa.string(), "why a series has no policy, or what was assumed"),
        ("items_version", pa.int64(), "Delta version of `items` read"),
        ("deliveries_version", pa.int64(), "Delta version of `deliveries` read (null: none)"),
    ],
    required=("policy_id", "created_at", "forecast_id", "period", "item", "location", "kind"),
    key=("policy_id", "item", "location"),
    description="inventory policies per item and location (append-only; latest run in force)",
    lineage=False,
)

READINGS = TABLES["readings"].schema


def table_spec(name: str) -> TableSpec:
    """The spec of a canonical table, or a one-line error naming the known ones."""
    try:
        return TABLES[name]
    except KeyError:
        known = ", ".join(sorted(t for t in TABLES if t != "quarantine"))
        raise UnknownTableError(f"unknown table '{name}' (known: {known})", field="table") from None


def delta_schema(spec: TableSpec) -> pa.Schema:
    """Schema as stored in Delta: the spec's fields plus partition columns.

    Stored fields are all nullable: ingest enforces ``required`` before writing (and
    quarantines what fails), so the storage layer need not refuse a whole batch for it.
    """
    fields = [f.with_nullable(True) for f in spec.schema]
    if "day" in spec.partition_by:
        fields.append(pa.field("day", pa.date32()))
    return pa.schema(fields)
