"""Time-of-use electricity tariffs: price bands by weekday and local time.

:class:`TariffWindow` is a band as a person configures it (``energy.tariff_periods``);
:class:`TariffPeriod` and :class:`TouTariff` are what prices are computed with.  Base layer
(imports nothing of ours but errors), so that ``EnergySettings.tariff()`` in
:mod:`shopfloor.config` can build a tariff without importing analytics;
:mod:`shopfloor.production.energy` re-exports the two types.  numpy and pandas are imported
inside the methods: ``import shopfloor`` must stay light.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator

from shopfloor.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MINUTES_PER_DAY = 1440
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class TariffPeriod:
    """A price band: on ``days`` (0 = Monday), local minutes ``[start_minute, end_minute)``."""

    name: str
    days: tuple[int, ...]
    start_minute: int
    end_minute: int
    price_per_kwh: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", tuple(self.days))
        where = f"tariff period '{self.name}'"
        if not str(self.name).strip():
            raise InputError("a tariff period needs a name", field="name")
        if not self.days or any(d not in range(7) for d in self.days):
            raise InputError(
                f"{where}: days {list(self.days)} are not 0 (Monday) .. 6", field="days"
            )
        if not 0 <= self.start_minute < MINUTES_PER_DAY:
            raise InputError(
                f"{where}: start_minute {self.start_minute} is not in 0 .. 1439",
                field="start_minute",
            )
        if not self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise InputError(
                f"{where}: end_minute {self.end_minute} is not after start_minute and <= 1440 "
                "(split a band that crosses midnight)",
                field="end_minute",
            )
        if not _is_price(self.price_per_kwh):
            raise InputError(
                f"{where}: {self.price_per_kwh!r} is not a price", field="price_per_kwh"
            )


def _is_price(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value >= 0


@dataclass(frozen=True)
class TouTariff:
    """Time-of-use prices: the first period matching a time wins, else the default price.

    Bands are wall-clock times in ``timezone``; timestamps are UTC (naive ones read as UTC).
    """

    periods: tuple[TariffPeriod, ...]
    default_price_per_kwh: float
    currency: str = "EUR"
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        object.__setattr__(self, "periods", tuple(self.periods))
        if not all(isinstance(p, TariffPeriod) for p in self.periods):
            raise InputError("tariff periods must be TariffPeriod objects", field="periods")
        if not _is_price(self.default_price_per_kwh):
            raise InputError(
                f"{self.default_price_per_kwh!r} is not a price", field="default_price_per_kwh"
            )
        if not str(self.currency).strip():
            raise InputError("the currency is empty", field="currency")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(f"unknown time zone '{self.timezone}'", field="timezone") from None

    def price_at(self, ts: Any) -> npt.NDArray[np.float64]:
        """Price per kWh at each timestamp, as a float64 ``np.ndarray``."""
        import numpy as np
        import pandas as pd

        scalar = isinstance(ts, str | datetime) or not hasattr(ts, "__len__")
        try:
            index = pd.DatetimeIndex(pd.to_datetime([ts] if scalar else ts, utc=True))
        except (ValueError, TypeError) as exc:
            raise InputError(f"timestamps are not readable: {exc}", field="ts") from None
        if index.isna().any():
            raise InputError("a timestamp is missing", field="ts")
        local = index.tz_convert(self.timezone)
        minute = np.asarray(local.hour * 60 + local.minute + local.second / 60.0, np.float64)
        day = np.asarray(local.day_of_week)
        price = np.full(len(index), self.default_price_per_kwh, dtype=np.float64)
        free = np.ones(len(index), dtype=bool)
        for p in self.periods:
            hit = free & np.isin(day, p.days) & (minute >= p.start_minute) & (minute < p.end_minute)
            price[hit], free = p.price_per_kwh, free & ~hit
        return price

    def cost(self, ts: Any, kwh: Any) -> float:
        """Cost of ``kwh[i]`` used at ``ts[i]`` (e.g. the start of its interval)."""
        import numpy as np

        price = self.price_at(ts)
        energy = np.asarray(kwh, dtype=np.float64).reshape(-1)
        if energy.size != price.size or not np.isfinite(energy).all():
            raise InputError(f"need {price.size} finite energy values", field="kwh")
        return float(np.dot(price, energy))


# -- bands as configured -------------------------------------------------------------------------
def window_minutes(text: str, what: str = "window") -> tuple[int, int]:
    """``"HH:MM-HH:MM"`` as local minutes ``(start, end)``; ``end <= start`` runs overnight
    and ``24:00`` is the next midnight.  ``what`` names the window in errors (the planning
    calendar's working hours are read by this function too)."""
    found = _WINDOW.match(text)
    if found is None:
        raise ValueError(f"{what} '{text}' is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{what} '{text}' has an impossible time")
    start, end = 60 * h1 + m1, 60 * h2 + m2
    if start == end:
        raise ValueError(f"{what} '{text}' is empty (use 00:00-24:00 for a whole day)")
    return start, end


def day_list(value: list[str], what: str, empty: str) -> list[str]:
    """Day names or abbreviations as sorted, unique ``mon`` .. ``sun``; ``what`` names one
    day in errors, ``empty`` is the error for none."""
    days = []
    for item in value:
        day = item.strip().lower()
        if day not in DAYS and day not in DAY_NAMES:
            raise ValueError(f"{what} '{item}' is not one of {', '.join(DAYS)}")
        days.append(day[:3])
    if not days:
        raise ValueError(empty)
    return sorted(set(days), key=DAYS.index)


def check_zone(value: str | None) -> str | None:
    """``value`` when it is a known IANA time zone (or None); a ValueError otherwise."""
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
    return value


class TariffWindow(BaseModel):
    """One configured band: on ``days`` during the local ``window``, ``price_per_kwh``."""

    name: str = Field(description="band name, e.g. 'peak'")
    days: list[str] = Field(description="days the band applies (mon .. sun)")
    window: str = Field(description="local 'HH:MM-HH:MM'; an end at or before the start: overnight")
    price_per_kwh: float = Field(ge=0, description="price in the tariff's currency")

    @field_validator("days")
    @classmethod
    def _valid_days(cls, value: list[str]) -> list[str]:
        return day_list(value, "day", "a band needs at least one day")

    @field_validator("window")
    @classmethod
    def _valid_window(cls, value: str) -> str:
        window_minutes(value)
        return value

    def periods(self) -> list[TariffPeriod]:
        """As :class:`TariffPeriod` s; an overnight window goes on into the next day."""
        (start, end), days = window_minutes(self.window), tuple(DAYS.index(d) for d in self.days)
        if end > start:
            return [TariffPeriod(self.name, days, start, end, self.price_per_kwh)]
        bands = [TariffPeriod(self.name, days, start, MINUTES_PER_DAY, self.price_per_kwh)]
        if end:
            after = tuple(sorted({(d + 1) % 7 for d in days}))
            bands.append(TariffPeriod(self.name, after, 0, end, self.price_per_kwh))
        return bands


# The default: the Italian bands F1 (peak) / F2 (shoulder) / F3 (off-peak: the default
# price) of ARERA (AEEG deliberation 181/06), priced with ARERA's energy element PE per band
# for non-household low-voltage customers, Q1 2016 (euro cents/kWh: F1 6.603, F2 6.232,
# F3 4.850; energy only: no network or system charges, no taxes).  docs/configuration.md.
ARERA_SOURCE = "ARERA bands F1/F2/F3, energy element PE for non-household LV customers, Q1 2016"
ARERA_OFF_PEAK = 0.0485


def arera_bands() -> list[TariffWindow]:
    week = list(DAYS[:5])
    bands = [
        ("peak", week, "08:00-19:00", 0.06603),
        ("shoulder", week, "07:00-08:00", 0.06232),
        ("shoulder", week, "19:00-23:00", 0.06232),
        ("shoulder", ["sat"], "07:00-23:00", 0.06232),
    ]
    return [TariffWindow(name=n, days=d, window=w, price_per_kwh=p) for n, d, w, p in bands]
