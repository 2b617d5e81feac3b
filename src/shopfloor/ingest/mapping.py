"""Declarative mapping from a source file's layout to a canonical table.

A mapping is a small TOML file.  Readings in wide layout (one column per signal)::

    [timestamp]
    column = "Time"
    format = "%d/%m/%Y %H:%M:%S"     # strptime; or "iso" (default), "epoch_s", "epoch_ms"
    timezone = "Europe/Berlin"       # how to read timestamps that carry no offset

    [asset]
    constant = "L1-M03"              # or: column = "Machine"

    [signals]
    T1 = { signal = "temperature", unit = "degF" }
    Vib = { signal = "vibration_rms", unit = "in/s", scale = 1.0, offset = 0.0 }
    Speed = "speed"                  # short form: just the signal name

Readings in long layout with other column names::

    [long]
    signal_column = "tag"
    value_column = "val"

    [units]                           # unit per signal, converted to the registered unit
    temperature = "degF"

Any other table maps canonical field names to source columns::

    [columns]
    asset = "Machine"
    start = "Begin"

A file whose columns already carry the canonical names needs no mapping at all.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shopfloor.errors import MappingError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimestampMap(_Strict):
    column: str = "ts"
    format: str = "iso"
    timezone: str | None = None


class AssetMap(_Strict):
    column: str | None = "asset"
    constant: str | None = None


class SignalMap(_Strict):
    signal: str
    unit: str | None = None
    scale: float = 1.0
    offset: float = 0.0


class LongMap(_Strict):
    signal_column: str = "signal"
    value_column: str = "value"
    quality_column: str | None = None


class Mapping(_Strict):
    format: Literal["csv", "parquet", "jsonl"] | None = None
    delimiter: str | None = None
    timestamp: TimestampMap = Field(default_factory=TimestampMap)
    asset: AssetMap = Field(default_factory=AssetMap)
    signals: dict[str, SignalMap] = Field(default_factory=dict)
    long: LongMap | None = None
    units: dict[str, str] = Field(default_factory=dict)
    columns: dict[str, str] = Field(default_factory=dict)

    @field_validator("signals", mode="before")
    @classmethod
    def _short_form(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: {"signal": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @property
    def layout(self) -> Literal["wide", "long"]:
        return "wide" if self.signals else "long"

    def fingerprint(self) -> str:
        """Stable hash: the same file under another mapping is another ingest."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


DEFAULT_MAPPING = Mapping()


def load_mapping(path: Path | None) -> Mapping:
    """Read a mapping file; errors name the file and the offending key."""
    if path is None:
        return DEFAULT_MAPPING
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError("mapping file not found", source=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"not valid TOML ({exc})", source=str(path)) from None
    try:
        mapping = Mapping.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise MappingError(first["msg"], source=str(path), field=loc) from None
    if mapping.asset.column is None and mapping.asset.constant is None:
        raise MappingError("give [asset] column or constant", source=str(path), field="asset")
    return mapping
