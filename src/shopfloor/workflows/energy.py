"""Energy workflow: machine power and energy per good part from the lake.

DuckDB reads the power samples (per asset its signal of kind ``power``, else the
``energy.power_signal`` current converted with ``energy.voltage_v`` and
``energy.power_factor``), the machine states and the production counts; the maths is
:mod:`shopfloor.production.energy`'s.  Readings flagged bad (``quality = 2``) or outside
their signal's plausible range are left out: a spike of a broken sensor is not energy.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from shopfloor import units
from shopfloor.config import Settings
from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.production import energy
from shopfloor.production.energy import EnergyPerPart, MachinePower, TouTariff

# kW per unit of a 'power' signal.
_POWER_UNITS = {"kW": 1.0, "kw": 1.0, "W": 1e-3, "w": 1e-3, "MW": 1e3, "mw": 1e3}

_SAMPLES_SQL = """
WITH candidates AS (
    SELECT asset, signal, unit, kind, lower, upper,
           row_number() OVER (
               PARTITION BY asset ORDER BY (kind = 'power') DESC, signal
           ) AS pick
    FROM signals WHERE kind = 'power' OR signal = $signal
), chosen AS (SELECT * FROM candidates WHERE pick = 1)
SELECT r.asset, r.ts, r.value,
       coalesce(c.unit, 'A') AS unit, coalesce(c.kind, 'current') AS kind
FROM readings r LEFT JOIN chosen c ON r.asset = c.asset
WHERE (r.signal = c.signal OR (c.signal IS NULL AND r.signal = $signal))
  AND r.value IS NOT NULL AND isfinite(r.value) AND coalesce(r.quality, 0) < 2
  AND (c.lower IS NULL OR r.value >= c.lower) AND (c.upper IS NULL OR r.value <= c.upper)
"""


def _window(
    start: datetime | str | None, end: datetime | str | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    def utc(value: datetime | str | None, name: str) -> pd.Timestamp | None:
        if value is None:
            return None
        try:
            stamp = pd.Timestamp(value)
        except ValueError:
            raise InputError(f"cannot read '{value}' as a time", field=name) from None
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")

    lo, hi = utc(start, "start"), utc(end, "end")
    if lo is not None and hi is not None and hi <= lo:
        raise InputError(f"end {hi} is not after start {lo}", field="end")
    return lo, hi


def _filters(
    lo: pd.Timestamp | None,
    hi: pd.Timestamp | None,
    assets: Collection[str] | None,
    *,
    alias: str,
    begin: str,
    finish: str,
    day: bool = False,
) -> tuple[str, dict[str, Any]]:
    """SQL conditions for rows overlapping ``[lo, hi)`` of the selected assets."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if lo is not None:
        where.append(f'coalesce({alias}."{finish}", {alias}."{begin}") >= $lo')
        params["lo"] = lo.to_pydatetime()
        if day:
            where.append(f"{alias}.day >= $lo_day")
            params["lo_day"] = lo.date()
    if hi is not None:
        where.append(f'{alias}."{begin}" < $hi')
        params["hi"] = hi.to_pydatetime()
        if day:
            where.append(f"{alias}.day <= $hi_day")
            params["hi_day"] = hi.date()
    if assets is not None:
        where.append(f"list_contains($assets, {alias}.asset)")
        params["assets"] = sorted(str(a) for a in assets)
    return "".join(f" AND {w}" for w in where), params


def power_samples(
    lake: Lake,
    settings: Settings | None = None,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    assets: Collection[str] | None = None,
) -> pd.DataFrame:
    """Power samples ``asset, ts, kw`` of every measured asset (see the module notes)."""
    cfg = (settings or lake.settings).energy
    lo, hi = _window(start, end)
    extra, params = _filters(lo, hi, assets, alias="r", begin="ts", finish="ts", day=True)
    con = lake.connect()
    try:
        raw = con.execute(
            _SAMPLES_SQL + extra + " ORDER BY r.asset, r.ts",
            {"signal": cfg.power_signal, **params},
        ).df()
    finally:
        con.close()
    if raw.empty:
        raise InputError(
            f"no readings of a signal of kind 'power' or of '{cfg.power_signal}' in the lake",
            field="energy.power_signal",
        )
    kw = np.empty(len(raw), dtype=np.float64)
    values = raw["value"].to_numpy(dtype=np.float64)
    for key, rows in raw.groupby(["unit", "kind"], sort=False).indices.items():
        unit, kind = (str(part) for part in key)  # type: ignore[attr-defined]
        kw[rows] = _to_kw(values[rows], unit, kind, cfg.voltage_v, cfg.power_factor)
    return pd.DataFrame(
        {"asset": raw["asset"].astype("str"), "ts": raw["ts"], "kw": kw}, copy=False
    )


def _to_kw(values: np.ndarray, unit: str, kind: str, voltage: float, pf: float) -> np.ndarray:
    if kind == "power":
        if unit not in _POWER_UNITS:
            raise InputError(
                f"power signal unit '{unit}' is not one of kW, W, MW",
                source="signals",
                field="unit",
            )
        return values * _POWER_UNITS[unit]
    if not units.compatible(unit, "A"):
        raise InputError(
            f"the power signal is in '{unit}', not a current (A) nor a power (kW)",
            source="signals",
            field="unit",
        )
    a, b = units.affine(unit, "A")
    return energy.power_kw_from_current(a * values + b, voltage_v=voltage, power_factor=pf)


def _read(lake: Lake, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    con = lake.connect()
    try:
        return con.execute(sql, params).df()
    finally:
        con.close()


def _states(
    lake: Lake, lo: pd.Timestamp | None, hi: pd.Timestamp | None, assets: Collection[str] | None
) -> pd.DataFrame:
    extra, params = _filters(lo, hi, assets, alias="e", begin="start", finish="end")
    frame = _read(
        lake,
        'SELECT e.asset, e.start, e."end", e.kind, e.code, e.detail FROM events e '
        "WHERE e.kind = 'state'" + extra + " ORDER BY e.asset, e.start",
        params,
    )
    if frame.empty:
        raise InputError(
            "the lake has no machine states: ingest them into 'events'", field="events"
        )
    return frame


def machine_power_from_lake(
    lake: Lake,
    settings: Settings | None = None,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    assets: Collection[str] | None = None,
) -> MachinePower:
    """Mean kW per machine while running and while idle, over ``[start, end)`` (all data
    by default); what the twin charges for energy."""
    lo, hi = _window(start, end)
    samples = power_samples(lake, settings, start=lo, end=hi, assets=assets)
    return energy.machine_power(samples, _states(lake, lo, hi, assets))


def tariff(settings: Settings) -> TouTariff:
    """The configured time-of-use tariff, its hours in the plant's time zone by default."""
    return settings.energy.tariff(settings.production.timezone)


def energy_report(
    lake: Lake,
    settings: Settings | None = None,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    assets: Collection[str] | None = None,
) -> EnergyPerPart:
    """kWh and energy cost per good part by asset, line and product over ``[start, end)``."""
    cfg = settings or lake.settings
    lo, hi = _window(start, end)
    samples = power_samples(lake, cfg, start=lo, end=hi, assets=assets)
    extra, params = _filters(lo, hi, assets, alias="p", begin="start", finish="end")
    counts = _read(
        lake,
        'SELECT p.asset, p.start, p."end", p.product, p.good FROM production p WHERE TRUE'
        + extra
        + " ORDER BY p.asset, p.start",
        params,
    )
    if counts.empty:
        raise InputError(
            "the lake has no production counts: ingest them into 'production'",
            field="production",
        )
    registry = lake.table("assets").to_pandas()
    return energy.energy_per_good_part(samples, counts, registry, tariff=tariff(cfg))
