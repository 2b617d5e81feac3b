"""Energy analytics: power from current, time-of-use tariffs, machine power, kWh per part."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from shopfloor.config import EnergySettings, load_settings
from shopfloor.errors import ConfigError, InputError
from shopfloor.production.energy import (
    TariffPeriod,
    TouTariff,
    energy_per_good_part,
    machine_power,
    power_kw_from_current,
)

T0 = pd.Timestamp("2026-11-02 06:00", tz="UTC")  # a Monday


def _h(hours: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=hours)


# -- power from current --------------------------------------------------------------------------
def test_three_phase_power_from_current() -> None:
    kw = power_kw_from_current([0.0, 10.0, 100.0], voltage_v=400.0, power_factor=0.85)
    assert kw == pytest.approx([0.0, math.sqrt(3) * 400 * 10 * 0.85 / 1000, 58.889727], rel=1e-6)
    assert power_kw_from_current(10.0, voltage_v=230.0, power_factor=1.0) == pytest.approx(
        3.98372, rel=1e-5
    )


@pytest.mark.parametrize(
    ("voltage", "pf", "field"),
    [(0.0, 0.85, "voltage_v"), (float("nan"), 0.85, "voltage_v"), (400.0, 1.2, "power_factor")],
)
def test_bad_electrical_settings_name_the_field(voltage: float, pf: float, field: str) -> None:
    with pytest.raises(InputError, match=field):
        power_kw_from_current([1.0], voltage_v=voltage, power_factor=pf)


# -- tariffs ---------------------------------------------------------------------------------------
def _tariff(timezone: str = "UTC") -> TouTariff:
    return TouTariff(
        periods=(
            TariffPeriod("peak", (0, 1, 2, 3, 4), 8 * 60, 19 * 60, 0.30),
            TariffPeriod("shoulder", (0, 1, 2, 3, 4, 5), 7 * 60, 23 * 60, 0.20),
        ),
        default_price_per_kwh=0.10,
        timezone=timezone,
    )


def test_first_matching_period_wins_else_the_default() -> None:
    tariff = _tariff()
    ts = pd.DatetimeIndex(
        [
            "2026-11-02 07:59:59Z",  # Monday: shoulder
            "2026-11-02 08:00:00Z",  # Monday: peak (listed first, though shoulder matches too)
            "2026-11-02 18:59:00Z",  # peak
            "2026-11-02 19:00:00Z",  # shoulder: the end is exclusive
            "2026-11-02 23:00:00Z",  # off-peak
            "2026-11-07 12:00:00Z",  # Saturday: shoulder only
            "2026-11-08 12:00:00Z",  # Sunday: default
        ]
    )
    prices = tariff.price_at(ts)
    assert isinstance(prices, np.ndarray) and prices.dtype == np.float64
    assert prices.tolist() == [0.2, 0.3, 0.3, 0.2, 0.1, 0.2, 0.1]
    assert tariff.price_at(pd.Series(ts)).tolist() == prices.tolist()
    assert tariff.price_at(ts.tz_localize(None)).tolist() == prices.tolist()  # naive = UTC
    assert tariff.price_at(ts.to_numpy()).tolist() == prices.tolist()
    assert tariff.price_at("2026-11-02T09:00Z").tolist() == [0.3]
    assert tariff.cost(ts[:3], [1.0, 2.0, 3.0]) == pytest.approx(0.2 + 0.6 + 0.9)


def test_bands_are_local_time_across_daylight_saving() -> None:
    tariff = _tariff("Europe/Rome")
    # 07:30 UTC is 08:30 in Rome in winter (peak) and 09:30 in summer (peak); 06:30 UTC is
    # 07:30 in winter (shoulder) but 08:30 in summer (peak).
    winter = tariff.price_at(pd.DatetimeIndex(["2026-11-02 06:30Z", "2026-11-02 07:30Z"]))
    summer = tariff.price_at(pd.DatetimeIndex(["2026-07-06 06:30Z", "2026-07-06 07:30Z"]))
    assert winter.tolist() == [0.2, 0.3]
    assert summer.tolist() == [0.3, 0.3]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": ()}, "days"),
        ({"days": (7,)}, "days"),
        ({"start_minute": -1}, "start_minute"),
        ({"end_minute": 480}, "end_minute"),
        ({"end_minute": 1441}, "end_minute"),
        ({"price_per_kwh": -0.1}, "price_per_kwh"),
        ({"price_per_kwh": float("inf")}, "price_per_kwh"),
        ({"name": " "}, "name"),
    ],
)
def test_bad_period_names_the_field(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "name": "p",
        "days": (0,),
        "start_minute": 480,
        "end_minute": 600,
        "price_per_kwh": 0.1,
    }
    with pytest.raises(InputError) as info:
        TariffPeriod(**(base | kwargs))  # type: ignore[arg-type]
    assert info.value.field == field and "\n" not in str(info.value)


def test_bad_tariff_and_cost_inputs_name_the_field() -> None:
    with pytest.raises(InputError, match="default_price_per_kwh"):
        TouTariff((), default_price_per_kwh=-1.0)
    with pytest.raises(InputError, match="timezone"):
        TouTariff((), 0.1, timezone="Mars/Olympus")
    with pytest.raises(InputError, match="kwh"):
        _tariff().cost(pd.DatetimeIndex(["2026-11-02 08:00Z"]), [1.0, 2.0])
    with pytest.raises(InputError, match="kwh"):
        _tariff().cost(pd.DatetimeIndex(["2026-11-02 08:00Z"]), [float("nan")])
    with pytest.raises(InputError, match="ts"):
        _tariff().price_at(["not a time"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        _tariff().default_price_per_kwh = 0.0  # type: ignore[misc]


def test_default_settings_tariff_is_the_arera_bands() -> None:
    settings = load_settings()
    assert settings.energy.voltage_v == 400.0 and settings.energy.power_factor == 0.85
    assert settings.energy.power_signal == "motor_current"
    tariff = settings.energy.tariff("Europe/Rome")
    assert tariff.currency == "EUR" and tariff.timezone == "Europe/Rome"
    local = pd.DatetimeIndex(
        [
            "2026-11-02 10:00",  # Monday F1
            "2026-11-02 07:30",  # Monday F2
            "2026-11-02 21:00",  # Monday F2
            "2026-11-02 23:30",  # Monday F3
            "2026-11-07 10:00",  # Saturday F2
            "2026-11-07 06:00",  # Saturday F3
            "2026-11-08 10:00",  # Sunday F3
        ]
    ).tz_localize("Europe/Rome")
    expected = [0.06603, 0.06232, 0.06232, 0.0485, 0.06232, 0.0485, 0.0485]
    assert tariff.price_at(local.tz_convert("UTC")).tolist() == expected
    # The tariff's own zone wins over the one passed in; UTC when neither is set.
    assert EnergySettings(timezone="Asia/Seoul").tariff("Europe/Rome").timezone == "Asia/Seoul"
    assert EnergySettings().tariff().timezone == "UTC"


def test_configured_bands_overnight_and_errors() -> None:
    band = {"name": "night", "days": ["fri", "Saturday"], "window": "22:00-06:00"}
    energy = load_settings(energy={"tariff_periods": [band | {"price_per_kwh": 0.05}]}).energy
    tariff = energy.tariff()
    assert [(p.days, p.start_minute, p.end_minute) for p in tariff.periods] == [
        ((4, 5), 1320, 1440),
        ((5, 6), 0, 360),
    ]
    ts = pd.DatetimeIndex(["2026-11-06 23:00Z", "2026-11-08 05:00Z", "2026-11-08 07:00Z"])
    assert tariff.price_at(ts).tolist() == [0.05, 0.05, 0.0485]
    whole = band | {"window": "00:00-24:00", "price_per_kwh": 0.07}
    [sunday] = load_settings(energy={"tariff_periods": [whole]}).energy.tariff().periods
    assert (sunday.start_minute, sunday.end_minute) == (0, 1440)
    with pytest.raises(ConfigError, match=r"energy\.tariff_periods\.0\.days"):
        load_settings(energy={"tariff_periods": [band | {"days": ["xyz"], "price_per_kwh": 1}]})
    with pytest.raises(ConfigError, match=r"energy\.tariff_periods\.0\.window"):
        load_settings(energy={"tariff_periods": [band | {"window": "25:00-26:00"}]})
    with pytest.raises(ConfigError, match=r"energy\.power_factor"):
        load_settings(energy={"power_factor": 1.5})
    with pytest.raises(ConfigError, match=r"energy\.timezone"):
        load_settings(energy={"timezone": "Nowhere/Land"})


# -- machine power -------------------------------------------------------------------------------
def _power(asset: str, hours: float, kw: object, every_s: float = 60.0) -> pd.DataFrame:
    ts = pd.date_range(T0, _h(hours), freq=pd.Timedelta(seconds=every_s), inclusive="left")
    values = kw(np.arange(ts.size) * every_s / 3600.0) if callable(kw) else np.full(ts.size, kw)
    return pd.DataFrame({"asset": asset, "ts": ts, "kw": values})


def _states(asset: str, spans: list[tuple[float, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"asset": asset, "start": _h(a), "end": _h(b), "kind": "state", "code": c}
            for a, b, c in spans
        ]
    )


def test_machine_power_by_state() -> None:
    spans = [(0, 1, "running"), (1, 1.5, "starved"), (1.5, 1.75, "down"), (1.75, 2, "blocked")]
    levels = {"running": 30.0, "starved": 5.0, "blocked": 7.0, "down": 0.5}

    def kw(hours: np.ndarray) -> np.ndarray:
        return np.select(
            [hours < a for _, a, _ in spans], [levels[c] for *_, c in spans], default=0.5
        )

    power = pd.concat([_power("M1", 2.0, kw), _power("M2", 2.0, 12.0)], ignore_index=True)
    events = pd.concat([_states("M1", spans), _states("M2", [(0, 2, "planned_stop")])])
    result = machine_power(power.sample(frac=1.0, random_state=1), events)  # order irrelevant
    frame = result.frame.set_index("asset")
    m1 = frame.loc["M1"]
    assert m1["running_kw"] == pytest.approx(30.0)
    assert m1["idle_kw"] == pytest.approx((5.0 * 30 + 7.0 * 15) / 45)  # starved + blocked
    assert m1["off_kw"] == pytest.approx(0.5)
    assert m1["running_h"] == pytest.approx(1.0) and m1["idle_h"] == pytest.approx(0.75)
    assert frame.loc["M2", "off_kw"] == pytest.approx(12.0)
    assert np.isnan(frame.loc["M2", "running_kw"]) and np.isnan(frame.loc["M2", "idle_kw"])
    assert result.of("M1") == pytest.approx((30.0, m1["idle_kw"]))
    only_starved = machine_power(power, events, idle_states=("starved",))
    assert only_starved.of("M1")[1] == pytest.approx(5.0)
    with pytest.raises(InputError, match="asset"):
        result.of("M9")
    with pytest.raises(InputError, match="idle_states"):
        machine_power(power, events, idle_states=("running",))
    with pytest.raises(InputError, match="kw"):
        machine_power(power.drop(columns="kw"), events)


# -- energy per good part ---------------------------------------------------------------------
def _counts(asset: str, rows: list[tuple[float, float, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"asset": asset, "start": _h(a), "end": _h(b), "product": p, "good": g, "scrap": 0}
            for a, b, p, g in rows
        ]
    )


ASSETS = pd.DataFrame({"asset": ["M1", "M2", "X"], "line": ["L1", "L1", None]})


def test_energy_per_good_part_by_asset_line_and_product() -> None:
    # M1 draws 10 kW for 3 h, M2 20 kW for 2 h; hour 3 of M1 makes nothing: its energy is
    # spread over M1's products like its energy inside intervals (half each).
    power = pd.concat([_power("M1", 3.0, 10.0), _power("M2", 2.0, 20.0)], ignore_index=True)
    production = pd.concat(
        [
            _counts("M1", [(0, 1, "P1", 10), (1, 2, "P2", 30)]),
            _counts("M2", [(0, 1, "P1", 9), (1, 2, "P2", 28)]),
        ]
    )
    flat = TouTariff((), default_price_per_kwh=0.2, currency="EUR")
    result = energy_per_good_part(power, production, ASSETS, tariff=flat)
    by_asset = result.by_asset.set_index("asset")
    assert by_asset["kwh"].to_dict() == pytest.approx({"M1": 30.0, "M2": 40.0})
    assert by_asset["good"].to_dict() == {"M1": 40.0, "M2": 37.0}
    assert by_asset.loc["M1", "kwh_per_good"] == pytest.approx(0.75)
    assert by_asset.loc["M1", "cost"] == pytest.approx(6.0)
    line = result.by_line.set_index("line").loc["L1"]
    assert line["kwh"] == pytest.approx(70.0) and line["good"] == 37.0  # at the line's end
    assert line["kwh_per_good"] == pytest.approx(70.0 / 37.0)
    product = result.by_product.set_index("product")
    assert product["kwh"].to_dict() == pytest.approx({"P1": 15.0 + 20.0, "P2": 15.0 + 20.0})
    assert product["good"].to_dict() == {"P1": 9.0, "P2": 28.0}
    assert product.loc["P2", "cost_per_good"] == pytest.approx(0.2 * 35.0 / 28.0)
    assert result.total_kwh == pytest.approx(70.0) and result.unallocated_kwh == 0.0
    assert result.good == 37.0 and result.kwh_per_good == pytest.approx(70.0 / 37.0)
    assert result.cost == pytest.approx(14.0) and result.currency == "EUR"
    assert result.frame("line") is result.by_line
    with pytest.raises(InputError, match="by"):
        result.frame("site")


def test_gaps_are_not_energy_and_idle_assets_are_unallocated() -> None:
    # M1 sampled every minute but silent from 1 h to 2 h: the hour is not counted.
    power = _power("M1", 3.0, 6.0)
    power = power[(power["ts"] < _h(1)) | (power["ts"] >= _h(2))]
    idle = _power("X", 1.0, 3.0)
    production = _counts("M1", [(0, 3, "P1", 12)])
    result = energy_per_good_part(pd.concat([power, idle]), production, ASSETS)
    by_asset = result.by_asset.set_index("asset")
    assert by_asset.loc["M1", "kwh"] == pytest.approx(12.0)  # the last sample before: 1 min
    assert by_asset.loc["X", "good"] == 0.0 and np.isnan(by_asset.loc["X", "kwh_per_good"])
    assert result.unallocated_kwh == pytest.approx(3.0)
    assert "cost" not in result.by_asset and result.cost is None
    lenient = energy_per_good_part(power, production, ASSETS, max_gap_s=7200.0)
    assert lenient.total_kwh == pytest.approx(18.0)  # a 2 h limit holds the value over the gap
    with pytest.raises(InputError, match="max_gap_s"):
        energy_per_good_part(power, production, ASSETS, max_gap_s=0.0)


def test_without_a_registry_every_asset_counts_its_own_parts() -> None:
    power = pd.concat([_power("M1", 1.0, 10.0), _power("M2", 1.0, 10.0)], ignore_index=True)
    production = pd.concat([_counts("M1", [(0, 1, "P1", 10)]), _counts("M2", [(0, 1, "P1", 10)])])
    result = energy_per_good_part(power, production)
    assert result.by_line.empty
    assert result.by_product.set_index("product").loc["P1", "good"] == 20.0
    assert result.kwh_per_good == pytest.approx(1.0)
