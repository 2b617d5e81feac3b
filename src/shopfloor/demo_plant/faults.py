"""Plant data-quality faults into clean readings, keeping the ground truth.

The demo plant's readings are perfect; real ones are not.  :func:`plant_faults` damages
one machine's frame the ways gateways, PLCs and networks do (null values, lost rows,
sentinels, frozen sensors, spikes, re-sent and late batches, skewed clocks, unit
mix-ups, dead sensors) at seeded, non-overlapping places, and returns a ground-truth
row per episode so the data-quality checks can be scored against it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.demo_plant.layout import PlantLayout, SignalSpec
from shopfloor.demo_plant.sensors import string_column
from shopfloor.units import affine

FAULT_TYPES = (
    "stale",
    "unit_shift",
    "gap",
    "stuck",
    "duplicate",
    "out_of_order",
    "missing",
    "out_of_range",
    "future_timestamp",
    "spike",
)
TRUTH_COLUMNS = ("check", "asset", "signal", "start", "end", "rows")

# What a misconfigured gateway sends instead of the registered unit.
UNIT_MIX_UPS = {"degC": "degF", "mm/s": "in/s"}
SENTINELS = (-999.0, -9999.0, 1e6, 32767.0, 65535.0)

_MARGIN_S = 1800.0  # free time between two episodes of one signal
_EDGE_S = 3600.0  # no episode in the first and last hour
_CALM_US = 60_000_000  # a spike keeps a minute clear of machine state changes


@dataclass
class _Signal:
    spec: SignalSpec
    rows: npt.NDArray[np.int64]  # frame rows of this signal, in ts order
    busy: list[tuple[int, int]] = field(default_factory=list)  # sample ranges taken
    usable: int = 0  # samples before the stale tail (if any)


@dataclass
class _Plan:
    """What happens to one machine's frame: value edits, dropped rows, new rows, new keys."""

    asset: str
    names: list[str]  # signal name of each code
    ts: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    signal: npt.NDArray[np.int64]
    key: npt.NDArray[np.float64]  # arrival order
    keep: npt.NDArray[np.bool_]
    extra: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64],
                      npt.NDArray[np.float64]]] = field(default_factory=list)  # fmt: skip
    truth: list[tuple[str, str, str, int, int, int]] = field(default_factory=list)

    def record(self, check: str, spec: SignalSpec, ts: npt.NDArray[np.int64]) -> None:
        self.truth.append((check, self.asset, spec.name, int(ts.min()), int(ts.max()), ts.size))


def _us(stamp: pd.Timestamp) -> int:
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1000)


def _episodes_per_type(days: float) -> int:
    # A few per machine: 2 on a test plant of days, 5 on the 30-day demo plant.
    return int(np.clip(round(days / 6), 2, 6))


class _Allocator:
    """Seeded positions that keep episodes of one signal (and all spikes) apart.

    Spikes and the edges of unit mix-ups also keep clear of machine state changes: a
    spike at the very moment a machine stops, or a switch of units in the same second,
    cannot be told from the stop even by eye, so it would be no fair ground truth.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        period_s: float,
        ts: npt.NDArray[np.int64],
        changes: npt.NDArray[np.int64],
    ) -> None:
        self.rng = rng
        self.margin = int(_MARGIN_S / period_s)
        self.edge = int(_EDGE_S / period_s)
        self.ts = ts
        self.changes = changes
        self.spikes: list[int] = []

    def _calm(self, start_us: int, end_us: int) -> bool:
        lo, hi = np.searchsorted(self.changes, [start_us, end_us + 1])
        return bool(hi == lo)

    def place(self, sig: _Signal, length: int, check: str) -> int | None:
        latest = sig.usable - self.edge - length
        if latest <= self.edge:
            return None
        spike = check == "spike"
        for _ in range(400):
            at = int(self.rng.integers(self.edge, latest))
            lo, hi = at - self.margin, at + length + self.margin
            if any(lo < b and a < hi for a, b in sig.busy):
                continue
            if spike and any(abs(at - other) < self.margin for other in self.spikes):
                continue
            first, last = int(self.ts[sig.rows[at]]), int(self.ts[sig.rows[at + length - 1]])
            if spike and not self._calm(first - _CALM_US, last + _CALM_US):
                continue
            if check == "unit_shift" and not (
                self._calm(first - 2 * _CALM_US, first + 2 * _CALM_US)
                and self._calm(last - 2 * _CALM_US, last + 2 * _CALM_US)
            ):
                continue
            sig.busy.append((at, at + length))
            if spike:
                self.spikes.append(at)
            return at
        return None


def _state_changes(
    signals: list[_Signal], ts: npt.NDArray[np.int64], value: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Sorted timestamps at which any signal of the machine jumps (a state change)."""
    found = []
    for sig in signals:
        series = value[sig.rows]
        step = np.abs(np.diff(series))
        typical = float(np.nanmedian(step)) if step.size else 0.0
        found.append(ts[sig.rows[1:]][step > 8.0 * typical])
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def _spike_values(
    value: npt.NDArray[np.float64], spec: SignalSpec, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    span = spec.upper - spec.lower
    low, high = spec.lower + 0.02 * span, spec.upper - 0.02 * span
    out = value.copy()
    for i, v in enumerate(value):
        jump = rng.uniform(0.25, 0.45) * span
        up, down = high - v, v - low
        if up >= jump:
            out[i] = v + jump
        elif down >= jump:
            out[i] = v - jump
        else:
            out[i] = v + 0.9 * up if up > down else v - 0.9 * down
    return out


def _out_of_range_values(
    length: int, spec: SignalSpec, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    span = spec.upper - spec.lower
    if rng.random() < 0.6:
        candidates = [s for s in SENTINELS if not spec.lower <= s <= spec.upper]
        return np.full(length, float(rng.choice(candidates)))
    # Physically impossible readings that still vary (a broken wire, a wrong scaling).
    if rng.random() < 0.5:
        return spec.lower - rng.uniform(0.1, 0.5) * span - rng.uniform(0, 0.05 * span, length)
    return spec.upper + rng.uniform(0.2, 1.0) * span + rng.uniform(0, 0.05 * span, length)


def plant_faults(
    frame: pd.DataFrame,
    layout: PlantLayout,
    start: pd.Timestamp,
    end: pd.Timestamp,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Damage one machine's clean frame; return (faulty frame in arrival order, truth).

    Truth has one row per planted episode: check, asset, signal, start and end (UTC,
    inclusive, as the timestamps appear in the faulty frame) and rows affected.
    Episodes of one signal never overlap, and spikes keep apart across signals, so
    every episode is one unambiguous target for the checks.
    """
    if len(frame) == 0:
        return frame.copy(), _truth_frame([])
    asset = str(frame["asset"].iloc[0])
    rng = np.random.default_rng([seed, zlib.crc32(asset.encode())])
    specs = {s.name: s for s in layout.signals}
    present, names = pd.factorize(frame["signal"])
    ts = np.asarray(
        pd.DatetimeIndex(pd.to_datetime(frame["ts"], utc=True)).as_unit("us").asi8, dtype=np.int64
    )
    codes = np.full(len(frame), -1, dtype=np.int64)
    signals: list[_Signal] = []
    by_name = np.argsort(present, kind="stable")
    cuts = np.searchsorted(present[by_name], np.arange(len(names) + 1))
    for index, name in enumerate(names):
        spec = specs.get(str(name))
        if spec is None:
            continue  # a signal the layout does not know is passed through untouched
        mine = by_name[cuts[index] : cuts[index + 1]]
        codes[mine] = len(signals)
        rows = mine[np.argsort(ts[mine], kind="stable")].astype(np.int64)
        signals.append(_Signal(spec, rows, usable=rows.size))
    if not signals:
        return frame.copy(), _truth_frame([])
    passed_through = [str(name) for name in names if str(name) not in specs]
    for extra, name in enumerate(passed_through):
        index = list(names).index(name)
        codes[by_name[cuts[index] : cuts[index + 1]]] = len(signals) + extra

    plan = _Plan(
        asset=asset,
        names=[*(sig.spec.name for sig in signals), *passed_through],
        ts=ts,
        value=frame["value"].to_numpy(dtype=np.float64, na_value=np.nan).copy(),
        signal=codes,
        key=np.arange(len(frame), dtype=np.float64),
        keep=np.ones(len(frame), dtype=bool),
    )
    period_s = min(s.spec.period_s for s in signals)
    days = (end - start) / pd.Timedelta(days=1)
    per_type = _episodes_per_type(days)
    changes = _state_changes(signals, ts, plan.value)
    allocator = _Allocator(rng, period_s, ts, changes)
    samples = round(86400 / period_s)

    planters: dict[str, Callable[[_Signal, int, int], None]] = {
        "missing": lambda s, lo, hi: _missing(plan, s, lo, hi),
        "gap": lambda s, lo, hi: _gap(plan, s, lo, hi),
        "out_of_range": lambda s, lo, hi: _out_of_range(plan, s, lo, hi, rng),
        "stuck": lambda s, lo, hi: _stuck(plan, s, lo, hi),
        "spike": lambda s, lo, hi: _spike(plan, s, lo, hi, rng),
        "duplicate": lambda s, lo, hi: _duplicate(plan, s, lo, hi),
        "out_of_order": lambda s, lo, hi: _out_of_order(plan, s, lo, hi, rng, samples),
        "future_timestamp": lambda s, lo, hi: _future(plan, s, lo, hi, rng, _us(end)),
        "unit_shift": lambda s, lo, hi: _unit_shift(plan, s, lo, hi),
    }
    span = int(days * samples)
    lengths: dict[str, tuple[int, int]] = {
        "missing": (1, 90),
        "gap": (12, 720),
        "out_of_range": (1, 18),
        "stuck": (60, 360),
        "spike": (1, 3),
        "duplicate": (6, 120),
        "out_of_order": (3, 60),
        "future_timestamp": (1, 6),
        "unit_shift": (samples // 24, max(samples // 12, min(2 * samples, span // 8))),
    }

    stale_signal = signals[int(rng.integers(len(signals)))]
    stale_length = int(
        rng.integers(samples // 8, max(samples // 8 + 1, min(2 * samples, span // 6)))
    )
    if stale_signal.rows.size > 4 * stale_length:
        _stale(plan, stale_signal, stale_length)

    for check in FAULT_TYPES[1:]:
        eligible = [s for s in signals if check != "unit_shift" or s.spec.unit in UNIT_MIX_UPS]
        if not eligible:
            continue
        low, high = lengths[check]
        for _ in range(per_type):
            sig = eligible[int(rng.integers(len(eligible)))]
            length = int(rng.integers(low, high + 1))
            at = allocator.place(sig, length, check)
            if at is not None:
                planters[check](sig, at, at + length)

    return _assemble(plan), _truth_frame(plan.truth)


def _missing(plan: _Plan, sig: _Signal, lo: int, hi: int) -> None:
    rows = sig.rows[lo:hi]
    plan.value[rows] = np.nan
    plan.record("missing", sig.spec, plan.ts[rows])


def _gap(plan: _Plan, sig: _Signal, lo: int, hi: int) -> None:
    rows = sig.rows[lo:hi]
    plan.keep[rows] = False
    plan.record("gap", sig.spec, plan.ts[rows])


def _out_of_range(plan: _Plan, sig: _Signal, lo: int, hi: int, rng: np.random.Generator) -> None:
    rows = sig.rows[lo:hi]
    plan.value[rows] = _out_of_range_values(rows.size, sig.spec, rng)
    plan.record("out_of_range", sig.spec, plan.ts[rows])


def _stuck(plan: _Plan, sig: _Signal, lo: int, hi: int) -> None:
    rows = sig.rows[lo:hi]
    plan.value[rows] = plan.value[rows[0]]
    plan.record("stuck", sig.spec, plan.ts[rows])


def _spike(plan: _Plan, sig: _Signal, lo: int, hi: int, rng: np.random.Generator) -> None:
    rows = sig.rows[lo:hi]
    plan.value[rows] = _spike_values(plan.value[rows], sig.spec, rng)
    plan.record("spike", sig.spec, plan.ts[rows])


def _unit_shift(plan: _Plan, sig: _Signal, lo: int, hi: int) -> None:
    rows = sig.rows[lo:hi]
    gain, offset = affine(sig.spec.unit, UNIT_MIX_UPS[sig.spec.unit])
    shifted = plan.value[rows] * gain + offset
    if not (np.all(shifted >= sig.spec.lower) and np.all(shifted <= sig.spec.upper)):
        return  # a mix-up that leaves the plausible range is an out-of-range fault instead
    plan.value[rows] = shifted
    plan.record("unit_shift", sig.spec, plan.ts[rows])


def _duplicate(plan: _Plan, sig: _Signal, lo: int, hi: int) -> None:
    # The gateway re-sends the batch right after sending it the first time.
    rows = sig.rows[lo:hi]
    after = plan.key[rows].max() + 0.5
    keys = after + np.arange(rows.size) * 1e-6
    plan.extra.append((plan.signal[rows], plan.ts[rows], plan.value[rows].copy(), keys))
    plan.record("duplicate", sig.spec, plan.ts[rows])


def _out_of_order(
    plan: _Plan, sig: _Signal, lo: int, hi: int, rng: np.random.Generator, per_day: int
) -> None:
    # The batch is held up and delivered after later samples (1-30 minutes later).
    rows = sig.rows[lo:hi]
    delay = int(rng.integers(max(2, per_day // 1440), max(3, per_day // 48)))
    landing = sig.rows[min(hi - 1 + delay, sig.usable - 1)]
    plan.key[rows] = plan.key[landing] + 0.5 + np.arange(rows.size) * 1e-6
    plan.record("out_of_order", sig.spec, plan.ts[rows])


def _future(
    plan: _Plan, sig: _Signal, lo: int, hi: int, rng: np.random.Generator, end_us: int
) -> None:
    # A second sender whose clock was set a wrong year ahead (a reset real-time clock)
    # repeats a few samples.  Years, not days: data ingested weeks after ``end`` must
    # still see these rows in its future.
    rows = sig.rows[lo:hi]
    ahead_days = 365.25 * rng.integers(1, 20) + rng.uniform(2, 60)
    ahead = end_us - int(plan.ts[rows[0]]) + int(ahead_days * 86400e6)
    shifted = plan.ts[rows] + ahead
    keys = plan.key[rows].max() + 0.25 + np.arange(rows.size) * 1e-6
    plan.extra.append((plan.signal[rows], shifted, plan.value[rows].copy(), keys))
    plan.record("future_timestamp", sig.spec, shifted)


def _stale(plan: _Plan, sig: _Signal, length: int) -> None:
    rows = sig.rows[-length:]
    plan.keep[rows] = False
    sig.usable = sig.rows.size - length
    plan.record("stale", sig.spec, plan.ts[rows])


def _assemble(plan: _Plan) -> pd.DataFrame:
    kept = np.flatnonzero(plan.keep)
    parts_code = [plan.signal[kept], *(e[0] for e in plan.extra)]
    parts_ts = [plan.ts[kept], *(e[1] for e in plan.extra)]
    parts_value = [plan.value[kept], *(e[2] for e in plan.extra)]
    parts_key = [plan.key[kept], *(e[3] for e in plan.extra)]
    order = np.argsort(np.concatenate(parts_key), kind="stable")
    code = np.concatenate(parts_code)[order]
    stamps = np.concatenate(parts_ts)[order]
    return pd.DataFrame(
        {
            "asset": string_column(np.zeros(order.size, dtype=np.int8), [plan.asset]),
            "signal": string_column(code, plan.names),
            "ts": pd.Series(stamps.astype("datetime64[us]")).dt.tz_localize("UTC"),
            "value": np.concatenate(parts_value)[order],
        }
    )


def _truth_frame(rows: list[tuple[str, str, str, int, int, int]]) -> pd.DataFrame:
    truth = pd.DataFrame(rows, columns=list(TRUTH_COLUMNS))
    for column in ("start", "end"):
        truth[column] = pd.to_datetime(truth[column].astype("int64"), unit="us", utc=True).astype(
            "datetime64[us, UTC]"
        )
    truth["rows"] = truth["rows"].astype("int64")
    return truth.sort_values(["check", "signal", "start"], ignore_index=True)
