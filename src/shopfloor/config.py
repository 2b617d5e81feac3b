"""One typed ``Settings`` object for the whole platform.

Values come, in rising precedence, from the defaults below, an optional TOML file
(``shopfloor.toml`` in the working directory or the path in ``SHOPFLOOR_CONFIG``), and
environment variables ``SHOPFLOOR_*`` (nested with ``__``, e.g.
``SHOPFLOOR_INGEST__BATCH_ROWS=500000``).
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shopfloor.errors import ConfigError


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


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_window(text: str) -> tuple[int, int]:
    """A daily working window ``"HH:MM-HH:MM"`` as minutes of the day ``(start, end)``.

    ``end <= start`` means the window crosses midnight into the next day (a night shift,
    ``"22:00-06:00"``); ``"24:00"`` is accepted as an end (the next midnight).
    """
    found = _WINDOW.match(text)
    if found is None:
        raise ValueError(f"working window '{text}' is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"working window '{text}' has an impossible time")
    start, end = 60 * h1 + m1, 60 * h2 + m2
    if start == end:
        raise ValueError(f"working window '{text}' is empty (use 00:00-24:00 for a whole day)")
    return start, end


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
        full = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        days = []
        for item in value:
            day = item.strip().lower()
            if day not in WEEKDAYS and day not in full:
                raise ValueError(f"working day '{item}' is not one of {', '.join(WEEKDAYS)}")
            days.append(day[:3])
        if not days:
            raise ValueError("at least one working day is needed")
        return sorted(set(days), key=WEEKDAYS.index)

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
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone '{value}'") from None
        return value


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
