"""Clean sensor readings of the demo plant, driven by machine states and health.

Each machine's six signals follow its state timeline (``events`` of kind ``state``)
through first-order lags (spindles spin up in seconds, housings warm up in ~20 minutes)
and drift with its ``health`` (0 = as new, 1 = failing: vibration triples, the motor
draws more current, runs hotter and louder).  Every sample carries sensor noise, so no
value repeats exactly, and every value stays inside the signal's plausible range.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from scipy.signal import lfilter

from shopfloor.demo_plant.layout import MachineSpec, PlantLayout, SignalSpec

FloatArray = npt.NDArray[np.float64]

STATES = ("running", "starved", "blocked", "changeover", "planned_stop", "maintenance", "down")


@dataclass(frozen=True)
class _Profile:
    spindle: float  # share of nominal speed
    load: float  # share of full cutting load
    heat: float  # share of full-load heating
    powered: float  # drives and hydraulics energised


_PROFILES: dict[str, _Profile] = {
    "running": _Profile(1.0, 1.0, 1.0, 1.0),
    # Waiting for or unable to pass on parts: the spindle idles, the drives stay on.
    "starved": _Profile(0.35, 0.05, 0.3, 1.0),
    "blocked": _Profile(0.35, 0.05, 0.3, 1.0),
    "changeover": _Profile(0.15, 0.25, 0.35, 1.0),
    "planned_stop": _Profile(0.0, 0.0, 0.0, 0.0),
    "maintenance": _Profile(0.0, 0.0, 0.0, 0.0),
    "down": _Profile(0.0, 0.0, 0.0, 0.0),
}
# Time outside any known state is treated as a switched-off machine.
_IDLE = _PROFILES["planned_stop"]

AMBIENT_C = 22.0
TEMPERATURE_LAG_S = 1200.0


def _us(values: pd.Series | pd.Index | pd.Timestamp) -> npt.NDArray[np.int64]:
    if isinstance(values, pd.Timestamp):
        stamp = values.tz_localize("UTC") if values.tzinfo is None else values.tz_convert("UTC")
        return np.array([stamp.value // 1000], dtype=np.int64)
    index = pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("us")
    return np.asarray(index.asi8, dtype=np.int64)


def _lag(target: FloatArray, tau_s: float, dt_s: float) -> FloatArray:
    """First-order lag starting at steady state (a C loop via lfilter, not Python)."""
    if target.size == 0:
        return target
    decay = float(np.exp(-dt_s / tau_s))
    out, _ = lfilter([1.0 - decay], [1.0, -decay], target, zi=[decay * target[0]])
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class _Drivers:
    spindle: FloatArray
    load: FloatArray
    heat: FloatArray
    powered: FloatArray
    health: FloatArray


def _drivers(ts: npt.NDArray[np.int64], states: pd.DataFrame, health: pd.DataFrame) -> _Drivers:
    table = np.array(
        [[p.spindle, p.load, p.heat, p.powered] for p in (*(_PROFILES[s] for s in STATES), _IDLE)]
    )
    profile_index = np.full(ts.size, len(STATES), dtype=np.int64)
    if len(states):
        starts = _us(states["start"])
        ends = np.where(states["end"].isna().to_numpy(), np.iinfo(np.int64).max, 0)
        known_end = ~states["end"].isna().to_numpy()
        if known_end.any():
            ends[known_end] = _us(states["end"][known_end])
        codes = np.array([STATES.index(c) if c in STATES else len(STATES) for c in states["code"]])
        order = np.argsort(starts, kind="stable")
        starts, ends, codes = starts[order], ends[order], codes[order]
        slot = np.searchsorted(starts, ts, side="right") - 1
        inside = (slot >= 0) & (ts < ends[np.maximum(slot, 0)])
        profile_index[inside] = codes[slot[inside]]
    chosen = table[profile_index]
    if len(health):
        wear = np.interp(ts, _us(health["ts"]), health["health"].to_numpy(dtype=np.float64))
    else:
        wear = np.zeros(ts.size)
    return _Drivers(
        spindle=chosen[:, 0],
        load=chosen[:, 1],
        heat=chosen[:, 2],
        powered=chosen[:, 3],
        health=np.clip(wear, 0.0, 1.0),
    )


def _signal_values(
    spec: SignalSpec,
    machine: MachineSpec,
    ts: npt.NDArray[np.int64],
    d: _Drivers,
    noise: FloatArray,
) -> FloatArray:
    dt = spec.period_s
    wear2 = d.health**2
    if spec.kind == "speed":
        level = _lag(machine.nominal_speed_rpm * d.spindle * (1.0 - 0.01 * d.health), 12.0, dt)
        # |.| keeps a stopped spindle's reading at small positive jitter, never a flat 0.
        values = np.abs(level + (0.8 + 0.004 * level) * noise)
    elif spec.kind == "current":
        target = 0.6 + 3.5 * d.powered + 8.0 * d.spindle + 35.0 * d.load * (1.0 + 0.15 * wear2)
        level = _lag(target, 8.0, dt)
        values = level + (0.15 + 0.01 * level) * noise
    elif spec.kind == "pressure":
        level = _lag(1.2 + d.powered * (3.3 + 1.5 * d.load), 30.0, dt)
        values = level + 0.04 * noise
    elif spec.kind == "sound_level":
        machine_db = 7.4 + 0.6 * wear2
        power = 10**4.8 + d.spindle**2 * 10**machine_db + d.load * 10 ** (machine_db + 0.2)
        values = _lag(10.0 * np.log10(power), 5.0, dt) + 0.5 * noise
    elif spec.kind == "vibration":
        own = (2.4 * d.spindle**1.5 + 0.4 * d.load) * (1.0 + 2.0 * wear2)
        level = _lag(np.sqrt(0.35**2 + own**2), 8.0, dt)
        values = level + (0.03 + 0.045 * level) * noise
    elif spec.kind == "temperature":
        hours = (ts / 3.6e9) % 24.0
        ambient = AMBIENT_C + 2.0 * np.sin(2 * np.pi * (hours - 9.0) / 24.0)
        rise = _lag(d.heat * (20.0 + 15.0 * wear2), TEMPERATURE_LAG_S, dt)
        values = ambient + rise + 0.1 * noise
    else:
        middle = 0.5 * (spec.lower + spec.upper)
        values = middle + 0.01 * (spec.upper - spec.lower) * noise
    return _inside(values, spec.lower, spec.upper)


def _inside(values: FloatArray, lower: float, upper: float) -> FloatArray:
    # Reflection rather than clipping: a clipped run would repeat the limit exactly.
    values = np.where(values < lower, 2 * lower - values, values)
    values = np.where(values > upper, 2 * upper - values, values)
    return np.clip(values, lower, upper)


def _grid(start: pd.Timestamp, end: pd.Timestamp, period_s: float) -> npt.NDArray[np.int64]:
    lo, hi = int(_us(start)[0]), int(_us(end)[0])
    step = round(period_s * 1e6)
    return np.arange(lo, hi, step, dtype=np.int64)


def string_column(codes: npt.NDArray[np.integer], names: list[str]) -> pd.Series:
    """A string column built through Arrow dictionary decoding (far faster than objects)."""
    array = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(names)).cast(pa.large_string())
    series = array.to_pandas(types_mapper={pa.large_string(): pd.StringDtype(na_value=np.nan)}.get)
    return pd.Series(series)


def machine_readings(
    layout: PlantLayout,
    machine: MachineSpec,
    events: pd.DataFrame,
    health: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One machine's clean long frame (asset, signal, ts, value), time-major."""
    states = events[(events["asset"] == machine.asset) & (events["kind"] == "state")]
    wear = health[health["asset"] == machine.asset].sort_values("ts")
    per_signal: list[tuple[npt.NDArray[np.int64], FloatArray]] = []
    drivers: dict[float, tuple[npt.NDArray[np.int64], _Drivers]] = {}
    for spec in layout.signals:
        if spec.period_s not in drivers:
            ts = _grid(start, end, spec.period_s)
            drivers[spec.period_s] = (ts, _drivers(ts, states, wear))
        ts, d = drivers[spec.period_s]
        noise = rng.standard_normal(ts.size)
        per_signal.append((ts, _signal_values(spec, machine, ts, d, noise)))

    names = [s.name for s in layout.signals]
    if len({ts.size for ts, _ in per_signal}) == 1 and len(drivers) == 1:
        n = per_signal[0][0].size
        ts_all = np.repeat(per_signal[0][0], len(names))
        values = np.column_stack([v for _, v in per_signal]).ravel()
        codes = np.tile(np.arange(len(names), dtype=np.int8), n)
    else:
        ts_all = np.concatenate([ts for ts, _ in per_signal])
        values = np.concatenate([v for _, v in per_signal])
        codes = np.concatenate(
            [np.full(ts.size, i, dtype=np.int8) for i, (ts, _) in enumerate(per_signal)]
        )
        order = np.argsort(ts_all, kind="stable")
        ts_all, values, codes = ts_all[order], values[order], codes[order]
    return pd.DataFrame(
        {
            "asset": string_column(np.zeros(ts_all.size, dtype=np.int8), [machine.asset]),
            "signal": string_column(codes, names),
            "ts": pd.Series(ts_all.astype("datetime64[us]")).dt.tz_localize("UTC"),
            "value": values,
        }
    )


def simulate_readings(
    layout: PlantLayout,
    events: pd.DataFrame,
    health: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    seed: int,
) -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield ``(asset, frame)`` per machine: every signal every ``period_s`` over [start, end).

    Frames are clean (faults are planted separately by :func:`plant_faults`) and in
    time-major order, as a gateway would send them.  Each machine draws from its own
    generator derived from ``seed``, so a machine's data does not depend on the others.
    """
    for index, machine in enumerate(layout.machines):
        rng = np.random.default_rng([seed, index])
        yield machine.asset, machine_readings(layout, machine, events, health, start, end, rng)
