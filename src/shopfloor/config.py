"""One typed ``Settings`` object for the whole platform.

Values come, in rising precedence, from the defaults below, an optional TOML file
(``shopfloor.toml`` in the working directory or the path in ``SHOPFLOOR_CONFIG``), and
environment variables ``SHOPFLOOR_*`` (nested with ``__``, e.g.
``SHOPFLOOR_INGEST__BATCH_ROWS=500000``).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shopfloor.errors import ConfigError
from shopfloor.tariffs import (
    ARERA_OFF_PEAK,
    ARERA_SOURCE,
    TariffWindow,
    TouTariff,
    arera_bands,
    check_zone,
    day_list,
    window_minutes,
)


class IngestSettings(BaseModel):
    batch_rows: int = Field(1_000_000, ge=1_000, description="rows per streamed batch")
    unknown_assets: Literal["auto", "register", "quarantine"] = Field(
        "auto",
        description=(
            "readings of an asset missing from the registry: 'register' adds it, 'quarantine'"
            " refuses the rows, 'auto' registers while the registry is empty and quarantines after"
        ),
    )
    future_tolerance_s: float = Field(
        300.0, ge=0, description="clock skew tolerated before a timestamp counts as future"
    )


class QualitySettings(BaseModel):
    gap_factor: float = Field(3.0, gt=1, description="a gap is longer than k x nominal period")
    stale_after_s: float = Field(
        3600.0, gt=0, description="silence after which a signal counts as stale"
    )
    stuck_min_samples: int = Field(30, ge=3, description="identical samples that make a flat line")
    spike_sigmas: float = Field(8.0, gt=0, description="robust sigmas from the local median")
    spike_max_width: int = Field(3, ge=1, description="longest run of samples still a spike")
    interpolate_max_gap_s: float = Field(
        300.0, ge=0, description="repair: longest gap filled by linear interpolation"
    )


class ProductionSettings(BaseModel):
    shift_starts: list[str] = Field(
        default_factory=lambda: ["06:00", "14:00", "22:00"],
        description="local shift start times (HH:MM); shifts run until the next start",
    )
    timezone: str = Field("UTC", description="plant time zone for shifts and days")

    @field_validator("shift_starts")
    @classmethod
    def _valid_times(cls, value: list[str]) -> list[str]:
        for item in value:
            hours, _, minutes = item.partition(":")
            if not (
                hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60
            ):
                raise ValueError(f"shift start '{item}' is not HH:MM")
        return sorted(value)


def _toml_path() -> Path | None:
    explicit = os.environ.get("SHOPFLOOR_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("shopfloor.toml")
    return local if local.is_file() else None


class DriftSettings(BaseModel):
    """Drift monitoring and retraining of the condition models (docs/closed-loop.md)."""

    window_h: float = Field(24.0, gt=0, description="recent window compared with the reference")
    reference_days: float = Field(
        7.0, gt=0, description="latest days of a model's training data used as its reference"
    )
    bins: int = Field(10, ge=2, le=100, description="PSI bins, cut at the reference's quantiles")
    psi_warn: float = Field(0.1, gt=0, description="PSI from which a feature shifted moderately")
    psi_alarm: float = Field(0.25, gt=0, description="PSI from which a feature shifted a lot")
    ks_alarm: float = Field(
        0.3, gt=0, le=1, description="KS statistic that must also be reached to call drift"
    )
    min_rows: int = Field(36, ge=2, description="buckets each window needs for a verdict")
    condition_kinds: list[str] = Field(
        default_factory=lambda: ["vibration", "temperature", "current", "sound_level"],
        description="signal kinds that move with the machine's condition (not retraining cues)",
    )
    min_feedback: int = Field(5, ge=1, description="verdicts needed before precision counts")
    min_precision: float = Field(
        0.5, ge=0, le=1, description="live precision (operator verdicts) below which a model decays"
    )
    normal_alarm_factor: float = Field(
        5.0, gt=0, description="alarms after repairs above this x false_alarm_rate: decay"
    )
    min_normal_periods: int = Field(12, ge=1, description="hours after repairs needed to judge it")
    retrain_h: float = Field(48.0, gt=0, description="hours of recent data a challenger learns")
    holdout_h: float = Field(24.0, gt=0, description="latest hours kept out to judge it")
    promote_margin: float = Field(
        0.1, ge=0, description="held-out NLL (nats) the challenger must beat the champion by"
    )
    z_cap: float = Field(10.0, gt=0, description="deviations capped here (sigma) in the NLL")


class MaintenanceSettings(BaseModel):
    bucket: str = Field("10min", description="bucket of the per-signal medians the monitors read")
    context_signal: str = Field(
        "speed", description="signal that sets the operating context (normal is per speed band)"
    )
    normal_window_h: float = Field(
        72.0, gt=0, description="hours after each completed repair taken as known-healthy data"
    )
    false_alarm_rate: float = Field(
        0.005, gt=0, lt=0.5, description="target share of normal hours above the threshold"
    )
    min_threshold_sigma: float = Field(
        4.0, gt=0, description="lowest alarm threshold: median signal deviation in sigmas"
    )
    alert_on: int = Field(3, ge=1, description="consecutive periods above threshold to raise")
    alert_off: int = Field(6, ge=1, description="consecutive periods below release to clear")
    lead_time_h: float = Field(
        24.0, ge=0, description="hours needed to plan a repair (parts, crew, window)"
    )
    cost_failure: float = Field(10000.0, gt=0, description="cost of a run-to-failure repair")
    cost_planned: float = Field(2000.0, gt=0, description="cost of a planned repair")
    drift: DriftSettings = Field(
        default_factory=DriftSettings, description="drift monitoring and retraining"
    )


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_window(text: str) -> tuple[int, int]:
    """A daily working window ``"HH:MM-HH:MM"`` as minutes of the day ``(start, end)``.

    ``end <= start`` means the window crosses midnight into the next day (a night shift,
    ``"22:00-06:00"``); ``"24:00"`` is accepted as an end (the next midnight).
    """
    return window_minutes(text, "working window")


class PlanningSettings(BaseModel):
    working_days: list[str] = Field(
        default_factory=lambda: list(WEEKDAYS[:5]),
        description="days on which working windows start (mon .. sun)",
    )
    working_hours: list[str] = Field(
        default_factory=lambda: ["06:00-22:00"],
        description="daily working windows, local time 'HH:MM-HH:MM' (end <= start: overnight)",
    )
    holidays: list[date] = Field(
        default_factory=list, description="dates (local) on which no working window starts"
    )
    timezone: str | None = Field(
        None, description="time zone of the working calendar (default: production.timezone)"
    )
    horizon_days: int = Field(14, ge=1, description="length of the planning horizon in days")
    objective: Literal["makespan", "weighted_tardiness", "mix"] = Field(
        "mix", description="what the scheduler minimises"
    )
    time_limit_s: float = Field(30.0, gt=0, description="solver time limit in seconds")
    workers: int = Field(2, ge=1, description="solver worker threads")
    seed: int = Field(0, ge=0, description="solver random seed")
    maintenance_window_h: float = Field(
        4.0, gt=0, description="length of the window reserved for a recommended maintenance"
    )
    may_span_break: bool = Field(
        True, description="an operation may pause over a non-working period and resume after"
    )

    @field_validator("working_days")
    @classmethod
    def _valid_days(cls, value: list[str]) -> list[str]:
        return day_list(value, "working day", "at least one working day is needed")

    @field_validator("working_hours")
    @classmethod
    def _valid_hours(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one working window is needed")
        for item in value:
            parse_window(item)
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str | None) -> str | None:
        return check_zone(value)


class SupplySettings(BaseModel):
    period: Literal["day", "week", "month"] = Field(
        "week",
        description="time bucket of demand forecasts and inventory policies (weeks start Monday)",
    )
    horizon_periods: int = Field(13, ge=1, description="forecast horizon in periods")
    fill_rate: float = Field(
        0.95, gt=0, lt=1, description="target fill rate (share of demand served from stock)"
    )
    in_full_tolerance: float = Field(
        0.0, ge=0, lt=1, description="supplier scorecards: a delivery within this share is in full"
    )
    service_level: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="target cycle service level; when set, policies aim at it, not the fill rate",
    )
    policy_kind: Literal["sQ", "sS", "RS"] = Field(
        "sQ", description="inventory policy: sQ (reorder point, lot), sS (min-max), RS (periodic)"
    )
    review_period: int = Field(1, ge=1, description="periods between reviews of an RS policy")
    holding_rate: float = Field(
        0.25, gt=0, description="yearly holding cost as a share of the unit cost"
    )
    order_cost: float = Field(50.0, ge=0, description="cost of placing one purchase order")
    lot_sizing: Literal["auto", "optimal", "eoq"] = Field(
        "auto",
        description="lot size of sQ/sS policies: 'optimal' searches it with the reorder point, "
        "'eoq' takes the lot-sized EOQ, 'auto' searches for slow movers only (fast: EOQ)",
    )
    default_lead_time_days: float = Field(
        14.0, ge=0, description="lead time of a supplier without received deliveries (days)"
    )
    seed: int = Field(0, ge=0, description="seed of the demand forecasts' sampling")


class ServerSettings(BaseModel):
    host: str = Field("127.0.0.1", description="address `shopfloor serve` listens on")
    port: int = Field(8000, ge=1, le=65535, description="port `shopfloor serve` listens on")
    tls_cert: Path | None = Field(None, description="PEM certificate: serve HTTPS when given")
    tls_key: Path | None = Field(None, description="PEM private key of the certificate")
    session_hours: float = Field(12.0, gt=0, description="life of a dashboard login")
    token_days: float = Field(90.0, gt=0, description="default life of an API token")
    max_body_kb: int = Field(
        256, ge=1, description="largest request body outside ingest uploads (KiB)"
    )
    max_upload_mb: int = Field(512, ge=1, description="largest ingest upload (MiB)")
    rate_per_minute: int = Field(
        6000, ge=1, description="requests per minute per credential (or address when none)"
    )
    rate_burst: int = Field(300, ge=1, description="requests allowed at once above the rate")
    login_attempts_per_minute: int = Field(
        10, ge=1, description="failed logins per minute per address and user before a pause"
    )
    cache_seconds: float = Field(
        2.0, ge=0, description="how long table versions are trusted before being re-read"
    )
    sse_poll_s: float = Field(1.0, gt=0, description="how often the alert stream looks for news")
    mqtt: str | None = Field(
        None,
        description="MQTT broker HOST:PORT whose live alerts the SSE stream relays at once",
    )
    alert_topic: str = Field(
        "shopfloor/alerts/#", description="topic filter of the live alerts relayed by SSE"
    )


class ComputeSettings(BaseModel):
    backend: Literal["local", "spark"] = Field(
        "local", description="where batch pipelines run: this machine, or a Spark cluster"
    )
    workers: int = Field(1, ge=1, description="local backend: processes running groups at once")
    spark_master: str | None = Field(
        "local[2]",
        description="Spark master URL (also SHOPFLOOR_SPARK_MASTER); empty: join the running"
        " session (Databricks, spark-submit)",
    )
    spark_conf: dict[str, str] = Field(
        default_factory=dict, description="extra Spark settings, e.g. spark.executor.memory"
    )
    delta_reader: Literal["auto", "delta", "parquet"] = Field(
        "auto",
        description="how Spark reads Delta: delta-spark, the snapshot's Parquet file list, or"
        " delta-spark when its jars are on the classpath",
    )

    @field_validator("spark_master")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


# -- energy: the bands (TariffWindow) and the tariff they make live in shopfloor.tariffs, a
# light base module, so that config needs no analytics import.
class EnergySettings(BaseModel):
    voltage_v: float = Field(400.0, gt=0, description="line-to-line voltage, three-phase (V)")
    power_factor: float = Field(0.85, gt=0, le=1, description="turns current into real power")
    power_signal: str = Field(
        "motor_current", description="current signal (A) used when no 'power' signal (kW) exists"
    )
    currency: str = Field("EUR", min_length=1, description="currency of the tariff's prices")
    tariff_periods: list[TariffWindow] = Field(
        default_factory=arera_bands,
        description=f"time-of-use bands, first match wins (default: {ARERA_SOURCE})",
    )
    default_price_per_kwh: float = Field(
        ARERA_OFF_PEAK,
        ge=0,
        description=f"price outside every band (default: F3 of {ARERA_SOURCE})",
    )
    timezone: str | None = Field(
        None, description="time zone of the tariff's hours (default: production.timezone)"
    )

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str | None) -> str | None:
        return check_zone(value)

    def tariff(self, timezone: str | None = None) -> TouTariff:
        """The configured tariff; ``timezone`` (pass production.timezone) when ours is unset."""
        periods = tuple(p for window in self.tariff_periods for p in window.periods())
        zone = self.timezone or timezone or "UTC"
        return TouTariff(periods, self.default_price_per_kwh, self.currency, zone)


class ValueSettings(BaseModel):
    """Costs of the value report (``shopfloor value``); sources in docs/value.md.

    Repair costs are ``maintenance.cost_failure`` / ``cost_planned`` (or the lake's own
    work-order costs, see ``repair_costs``); they exclude lost production, which is the
    downtime cost here.
    """

    currency: str = Field(
        "USD",
        min_length=1,
        max_length=8,
        description="label of every money figure (no conversion); USD like the published "
        "downtime figures cited for downtime_cost_per_hour",
    )
    downtime_cost_per_hour: float = Field(
        2000.0,
        ge=0,
        description="cost of one hour of a machine's unplanned downtime (lost contribution, "
        "idle labour). Assumption for a small or mid-sized discrete plant; published "
        "plant-level figures are far higher: Siemens, 'The True Cost of Downtime 2024', "
        "about USD 36,000/h (FMCG) to USD 2.3 million/h (automotive line)",
    )
    scrap_cost_per_part: float = Field(
        25.0,
        ge=0,
        description="cost of one scrapped part (material and processing). Assumption: "
        "set your own (the item master's unit costs are raw materials, not parts)",
    )
    holding_rate: float = Field(
        0.25,
        gt=0,
        description="yearly cost of holding stock as a share of its value. Assumption in "
        "the 20-30 % a year commonly quoted for inventory carrying cost (capital, storage, "
        "insurance, obsolescence); the same default as supply.holding_rate",
    )
    sensors_per_asset: float = Field(
        1500.0,
        ge=0,
        description="investment in sensors per monitored machine. Assumption: a wireless "
        "vibration and temperature set and a share of its gateway",
    )
    integration_cost: float = Field(
        25000.0,
        ge=0,
        description="one-off integration (data connections, mappings, commissioning). "
        "Assumption: about 25 engineer-days at 1,000 a day",
    )
    software_cost: float = Field(
        0.0,
        ge=0,
        description="one-off software licences: shopfloor itself is open source; add "
        "what you pay for",
    )
    running_cost_per_year: float = Field(
        10000.0,
        ge=0,
        description="yearly running cost (hosting, sensor batteries and replacements, "
        "looking after models and alerts). Assumption: about 0.1 of an engineer's year",
    )
    repair_costs: Literal["work_orders", "settings"] = Field(
        "work_orders",
        description="'work_orders': the mean cost of the lake's done corrective and planned "
        "work orders (each falls back to maintenance.cost_failure / cost_planned when none "
        "has a cost); 'settings': always maintenance.cost_failure / cost_planned",
    )
    spc_reaction_h: float = Field(
        1.0,
        ge=0,
        description="hours from an SPC alarm until the process is corrected; a "
        "nonconforming part made sooner counts as not caught. Assumption",
    )


class TwinSettings(BaseModel):
    lot_parts: float = Field(
        20.0, gt=0, description="parts the twin moves as one lot (a few minutes of work)"
    )
    buffer_minutes: float = Field(
        30.0,
        gt=0,
        description="minutes of the slowest machine's output between two machines, where "
        "the history shows no breakdown to measure a buffer from",
    )
    replications: int = Field(200, ge=2, description="seeded Monte Carlo replications")
    horizon_days: float = Field(
        28.0, gt=0, description="days a what-if or policy comparison simulates"
    )
    lost_part_cost: float = Field(
        20.0, ge=0, description="margin lost per good part not made (currency units)"
    )
    tardiness_cost_per_h: float = Field(
        50.0, ge=0, description="penalty per order and hour it is late"
    )
    off_shift_premium: float = Field(
        0.5,
        ge=0,
        description="extra share of a planned repair's cost for night or weekend work "
        "(overtime at time and a half)",
    )
    rul_log_sd: float = Field(
        0.35,
        gt=0,
        description="spread (log scale) of the RUL model's error inside the twin (an "
        "assumption: it is not measured from the registry's RUL model)",
    )
    workers: int = Field(2, ge=1, description="processes the replications run in")
    holding_cost_per_unit_day: float = Field(
        0.05, ge=0, description="cost of holding one finished part in stock for a day"
    )
    stockout_cost_per_unit: float = Field(
        30.0, ge=0, description="cost of a forecast part not made by the period it is due in"
    )
    history_days: float | None = Field(
        None, gt=0, description="days of history the twin is calibrated on (default: all)"
    )


class _SparkMasterShorthand(PydanticBaseSettingsSource):
    """``SHOPFLOOR_SPARK_MASTER``: the name Spark users look for, below the nested form."""

    def get_field_value(self, field: object, field_name: str) -> tuple[object, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, object]:
        value = os.environ.get("SHOPFLOOR_SPARK_MASTER")
        return {} if value is None else {"compute": {"spark_master": value}}


class Settings(BaseSettings):
    """Everything configurable; see docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_prefix="SHOPFLOOR_", env_nested_delimiter="__", extra="forbid"
    )

    lake: Path = Field(Path("shopfloor-lake"), description="lake directory")
    datasets: Path = Field(Path("../shared/datasets"), description="public benchmark datasets")
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    production: ProductionSettings = Field(default_factory=ProductionSettings)
    maintenance: MaintenanceSettings = Field(default_factory=MaintenanceSettings)
    planning: PlanningSettings = Field(default_factory=PlanningSettings)
    supply: SupplySettings = Field(default_factory=SupplySettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    compute: ComputeSettings = Field(default_factory=ComputeSettings)
    value: ValueSettings = Field(default_factory=ValueSettings)
    energy: EnergySettings = Field(default_factory=EnergySettings)
    twin: TwinSettings = Field(default_factory=TwinSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            env_settings,
            _SparkMasterShorthand(settings_cls),
        ]
        path = _toml_path()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation failures into one-line ``ConfigError``."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"setting '{loc}': {first['msg']}") from None
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {exc.filename}") from None
