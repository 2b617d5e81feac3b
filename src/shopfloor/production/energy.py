"""Energy analytics: power from current, machine power by state, energy per good part.

Pure layer: pandas frames in, typed results out; the lake is read by
:mod:`shopfloor.workflows.energy`.

* **Power samples** are a frame ``asset, ts, kw`` (UTC timestamps, real power in kW).
  Where a plant measures motor current only, :func:`power_kw_from_current` turns it into
  three-phase real power, ``P = sqrt(3) * V_line * I * pf / 1000``.
* **Energy** of a sample is its power held until the next sample of the same asset
  (``kW * h``).  A gap longer than ``max_gap_s`` (default three times the asset's median
  sampling period) is a data gap: the sample before it counts for one median period only,
  so missing data is not invented as energy.
* **Running / idle power** (:func:`machine_power`): the mean of the samples taken while
  the machine's ``state`` event says ``running``, and while it says one of
  ``idle_states``: waiting for parts or space (``starved``, ``blocked``) or setting up
  (``changeover``), the in-shift states in which the drives stay energised.  ``down``,
  ``maintenance`` (the machine is locked out) and ``planned_stop`` (out of shift) are
  ``off``.
* **Energy per good part** (:func:`energy_per_good_part`): each sample's energy goes to
  the production interval (``production`` row) of its asset that contains it, and so to
  the product made then.  Energy drawn outside every interval (idling between counts,
  standby overnight) is spread over the asset's products in proportion to their energy
  inside intervals: every kWh a machine drew is carried by the parts it made.  A line's
  (and a product's) good parts are counted where they leave the line: at its last
  machine (highest ``position`` when the registry has it, else the last asset id),
  because the same part passes every machine of the line; an asset on no line counts
  its own good parts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.production.oee import require_columns, state_intervals
from shopfloor.production.periods import to_us
from shopfloor.tariffs import TariffPeriod, TouTariff

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

RUNNING_STATES = ("running",)
IDLE_STATES = ("starved", "blocked", "changeover")
POWER_COLUMNS = ("asset", "ts", "kw")
NO_PRODUCT = "(none)"
US_PER_H = 3_600_000_000


def power_kw_from_current(
    current_a: npt.ArrayLike, *, voltage_v: float, power_factor: float
) -> F64:
    """Three-phase real power in kW from line current: sqrt(3) * V * I * pf / 1000."""
    if not (isinstance(voltage_v, int | float) and math.isfinite(voltage_v) and voltage_v > 0):
        raise InputError(f"voltage {voltage_v!r} V is not a positive number", field="voltage_v")
    if not (isinstance(power_factor, int | float) and 0 < power_factor <= 1):
        raise InputError(f"power factor {power_factor!r} is not in (0, 1]", field="power_factor")
    current = np.asarray(current_a, dtype=np.float64)
    return np.asarray(math.sqrt(3.0) * voltage_v * current * power_factor / 1000.0)


# -- samples -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Samples:
    """Power samples sorted by asset and time, with the hours each one stands for."""

    asset: npt.NDArray[np.object_]
    ts_us: I64
    kw: F64
    hours: F64
    bounds: dict[str, tuple[int, int]]  # asset -> [first, last) row


def _samples(power: pd.DataFrame, max_gap_s: float | None) -> _Samples:
    require_columns(power, POWER_COLUMNS, "power")
    if max_gap_s is not None and not max_gap_s > 0:
        raise InputError(f"max_gap_s {max_gap_s!r} must be positive", field="max_gap_s")
    kw = pd.to_numeric(power["kw"], errors="coerce").to_numpy(dtype=np.float64)
    keep = np.isfinite(kw) & power["ts"].notna().to_numpy() & power["asset"].notna().to_numpy()
    asset = power["asset"].astype("str").to_numpy(dtype=object)[keep]
    ts = to_us(pd.DatetimeIndex(power["ts"][keep]))
    kw = kw[keep]
    codes, names = pd.factorize(asset, sort=True)
    order = np.lexsort((ts, codes))
    asset, ts, kw, codes = asset[order], ts[order], kw[order], codes[order]
    hours = np.zeros(ts.size, dtype=np.float64)
    bounds: dict[str, tuple[int, int]] = {}
    edges = np.searchsorted(codes, np.arange(len(names) + 1))
    for number, name in enumerate(names):
        lo, hi = int(edges[number]), int(edges[number + 1])
        bounds[str(name)] = (lo, hi)
        hours[lo:hi] = _held_hours(ts[lo:hi], max_gap_s)
    return _Samples(asset, ts, kw, hours, bounds)


def _held_hours(ts: I64, max_gap_s: float | None) -> F64:
    """Hours each sample stands for: until the next one, one median period over a gap."""
    if ts.size < 2:
        return np.zeros(ts.size, dtype=np.float64)
    step = np.diff(ts).astype(np.float64)
    positive = step[step > 0]
    nominal = float(np.median(positive)) if positive.size else 0.0
    limit = 3.0 * nominal if max_gap_s is None else max_gap_s * 1e6
    held = np.append(step, nominal)
    held = np.where(held > limit, nominal, held)
    return held / US_PER_H


def _locate(ts: I64, starts: I64, ends: I64) -> I64:
    """Row of the interval (sorted, non-overlapping) holding each time; -1 where none."""
    slot = np.searchsorted(starts, ts, side="right") - 1
    inside = (slot >= 0) & (ts < ends[np.maximum(slot, 0)]) if starts.size else slot >= 0
    return np.where(inside, slot, -1)


# -- running and idle power --------------------------------------------------------------------
@dataclass(frozen=True)
class MachinePower:
    """Mean power per asset by state (NaN where the asset was never measured in it).

    ``frame`` columns: asset, running_kw, idle_kw, off_kw (mean kW of the samples in
    running, idle and the remaining states), running_h, idle_h (measured hours in them),
    samples.
    """

    frame: pd.DataFrame
    idle_states: tuple[str, ...] = IDLE_STATES

    def of(self, asset: str) -> tuple[float, float]:
        """``(running_kw, idle_kw)`` of one asset."""
        row = self.frame[self.frame["asset"] == asset]
        if row.empty:
            raise InputError(f"no power figures for asset '{asset}'", field="asset")
        return float(row["running_kw"].iloc[0]), float(row["idle_kw"].iloc[0])


def machine_power(
    power: pd.DataFrame,
    events: pd.DataFrame,
    *,
    idle_states: Sequence[str] = IDLE_STATES,
    max_gap_s: float | None = None,
) -> MachinePower:
    """Mean kW per asset while running and while idle, from its ``state`` events.

    ``power``: asset, ts, kw.  ``events``: the canonical events (only ``kind == 'state'``
    rows are read; open states close at the latest event time, overlaps are cut in favour
    of the later state, as for OEE).
    """
    idle = tuple(str(s) for s in idle_states)
    if set(idle) & set(RUNNING_STATES):
        raise InputError("'running' cannot be an idle state", field="idle_states")
    samples = _samples(power, max_gap_s)
    states = state_intervals(events)
    rows = []
    for asset, (lo, hi) in samples.bounds.items():
        mine = states[states["asset"] == asset]
        where = _locate(
            samples.ts_us[lo:hi],
            mine["start_us"].to_numpy(dtype=np.int64),
            mine["end_us"].to_numpy(dtype=np.int64),
        )
        codes = np.array([*mine["code"].to_numpy(dtype=object), None], dtype=object)[where]
        running = np.isin(codes, RUNNING_STATES)
        idling = np.isin(codes, idle)
        kw, hours = samples.kw[lo:hi], samples.hours[lo:hi]
        rows.append(
            {
                "asset": asset,
                "running_kw": _mean(kw[running]),
                "idle_kw": _mean(kw[idling]),
                "off_kw": _mean(kw[~running & ~idling]),
                "running_h": float(hours[running].sum()),
                "idle_h": float(hours[idling].sum()),
                "samples": hi - lo,
            }
        )
    columns = ["asset", "running_kw", "idle_kw", "off_kw", "running_h", "idle_h", "samples"]
    frame = pd.DataFrame(rows, columns=columns).astype({"asset": "str", "samples": "int64"})
    return MachinePower(frame=frame, idle_states=idle)


def _mean(values: F64) -> float:
    return float(values.mean()) if values.size else float("nan")


# -- energy per good part ----------------------------------------------------------------------
@dataclass(frozen=True)
class EnergyPerPart:
    """kWh (and energy cost, with a tariff) per good part by asset, line and product.

    Frames: ``by_asset`` (asset, line, kwh, good, kwh_per_good), ``by_line`` (line, kwh,
    good, kwh_per_good: good parts leaving the line) and ``by_product`` (product, kwh,
    good, kwh_per_good: good parts of the product leaving their lines); with a tariff each
    also has cost and cost_per_good.  ``unallocated_kwh``: energy of assets that made
    nothing in the data (in ``by_asset`` and ``by_line``, in no product).
    """

    by_asset: pd.DataFrame
    by_line: pd.DataFrame
    by_product: pd.DataFrame
    total_kwh: float
    unallocated_kwh: float
    good: float
    kwh_per_good: float
    cost: float | None = None
    currency: str | None = None

    def frame(self, by: str) -> pd.DataFrame:
        frames = {"asset": self.by_asset, "line": self.by_line, "product": self.by_product}
        if by not in frames:
            raise InputError(f"by must be asset, line or product, not '{by}'", field="by")
        return frames[by]


def energy_per_good_part(
    power: pd.DataFrame,
    production: pd.DataFrame,
    assets: pd.DataFrame | None = None,
    *,
    tariff: TouTariff | None = None,
    max_gap_s: float | None = None,
) -> EnergyPerPart:
    """kWh per good part by asset, line and product (see the module notes for the rules).

    ``power``: asset, ts, kw; ``production``: asset, start, end, product, good (the
    canonical table, for the same period as ``power``); ``assets``: the registry (asset,
    line, optionally position) that says which machines make up a line; without it every
    asset counts its own good parts and ``by_line`` is empty.  ``tariff`` adds costs.
    """
    require_columns(production, ("asset", "start", "end", "good"), "production")
    samples = _samples(power, max_gap_s)
    kwh = samples.kw * samples.hours
    money = None if tariff is None else tariff.price_at(_utc(samples.ts_us)) * kwh
    prod = _production_frame(production)
    per_product: list[pd.DataFrame] = []
    totals: dict[str, tuple[float, float]] = {}
    unallocated = 0.0
    for asset, (lo, hi) in samples.bounds.items():
        totals[asset] = (float(kwh[lo:hi].sum()), 0.0 if money is None else money[lo:hi].sum())
        mine = prod[prod["asset"] == asset]
        if mine.empty:
            unallocated += totals[asset][0]
            continue
        where = _locate(
            samples.ts_us[lo:hi],
            mine["start_us"].to_numpy(dtype=np.int64),
            mine["end_us"].to_numpy(dtype=np.int64),
        )
        share = _product_shares(mine["product"].to_numpy(dtype=object), where, kwh[lo:hi])
        share["asset"] = asset
        share["kwh"] = share["weight"] * totals[asset][0]
        share["cost"] = share["weight"] * totals[asset][1]
        per_product.append(share)
    lines = _line_of(assets)
    outputs = _output_assets(prod, assets)
    result = _assemble(prod, totals, per_product, lines, outputs, tariff)
    return replace(result, unallocated_kwh=unallocated)


def _utc(us: I64) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(us.astype("datetime64[us]")).tz_localize("UTC")


def _production_frame(production: pd.DataFrame) -> pd.DataFrame:
    start = to_us(pd.DatetimeIndex(production["start"]))
    end = to_us(pd.DatetimeIndex(production["end"].fillna(production["start"])))
    good = pd.to_numeric(production["good"], errors="coerce").fillna(0.0)
    product = production.get("product")
    frame = pd.DataFrame(
        {
            "asset": production["asset"].astype("str").to_numpy(dtype=object),
            "start_us": start,
            "end_us": np.maximum(end, start),
            "product": (
                NO_PRODUCT
                if product is None
                else product.astype("object").where(product.notna(), NO_PRODUCT)
            ),
            "good": good.to_numpy(dtype=np.float64),
        }
    )
    # Overlapping counts of one asset: a new interval ends the one before (as for states).
    frame = frame.sort_values(["asset", "start_us"], kind="stable", ignore_index=True)
    nxt = frame.groupby("asset")["start_us"].shift(-1)
    frame["end_us"] = np.minimum(frame["end_us"], nxt.fillna(np.iinfo(np.int64).max)).astype(
        np.int64
    )
    return frame


def _product_shares(products: npt.NDArray[np.object_], where: I64, kwh: F64) -> pd.DataFrame:
    """Each product's share of the asset's energy: its in-interval energy, plus the
    energy outside every interval spread in the same proportion (by interval time when no
    sample fell inside any interval)."""
    inside = where >= 0
    names, codes = np.unique(products, return_inverse=True)
    energy = np.bincount(codes[where[inside]], weights=kwh[inside], minlength=names.size)
    if energy.sum() <= 0:
        energy = np.bincount(codes, minlength=names.size).astype(np.float64)
    return pd.DataFrame({"product": names.astype(str), "weight": energy / energy.sum()})


def _line_of(assets: pd.DataFrame | None) -> dict[str, str]:
    if assets is None:
        return {}
    require_columns(assets, ("asset", "line"), "assets")
    known = assets[assets["line"].notna()]
    return dict(zip(known["asset"].astype("str"), known["line"].astype("str"), strict=True))


def _output_assets(prod: pd.DataFrame, assets: pd.DataFrame | None) -> set[str]:
    """Assets whose good parts leave the plant: the last machine of each line, and
    every producing asset on no line."""
    present = set(prod["asset"])
    if assets is None:
        return present
    lines = _line_of(assets)
    registry = assets[assets["asset"].astype("str").isin(present) & assets["line"].notna()]
    key = "position" if "position" in registry.columns else "asset"
    ends = {str(g.sort_values(key)["asset"].iloc[-1]) for _, g in registry.groupby("line")}
    return ends | {a for a in present if a not in lines}


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(np.float64)


def _assemble(
    prod: pd.DataFrame,
    totals: dict[str, tuple[float, float]],
    per_product: list[pd.DataFrame],
    lines: dict[str, str],
    outputs: set[str],
    tariff: TouTariff | None,
) -> EnergyPerPart:
    good_by_asset = prod.groupby("asset")["good"].sum()
    names = sorted(set(totals) | set(good_by_asset.index))
    by_asset = pd.DataFrame(
        {
            "asset": names,
            "line": [lines.get(a) for a in names],
            "kwh": [totals.get(a, (0.0, 0.0))[0] for a in names],
            "good": [float(good_by_asset.get(a, 0.0)) for a in names],
            "cost": [totals.get(a, (0.0, 0.0))[1] for a in names],
        }
    )
    by_line = (
        by_asset.assign(good=by_asset["good"].where(by_asset["asset"].isin(outputs), 0.0))
        .dropna(subset=["line"])
        .groupby("line", as_index=False)[["kwh", "good", "cost"]]
        .sum()
    )
    shares = pd.concat(per_product) if per_product else None
    out_prod = prod[prod["asset"].isin(outputs)].groupby("product")["good"].sum()
    if shares is None:
        by_product = pd.DataFrame({"product": [], "kwh": [], "cost": []})
    else:
        by_product = shares.groupby("product", as_index=False)[["kwh", "cost"]].sum()
    by_product["good"] = by_product["product"].map(out_prod).fillna(0.0).astype(np.float64)
    frames = []
    for frame, key in ((by_asset, "asset"), (by_line, "line"), (by_product, "product")):
        frame = frame.assign(kwh_per_good=_ratio(frame["kwh"], frame["good"]))
        columns = [key, *(["line"] if key == "asset" else []), "kwh", "good", "kwh_per_good"]
        if tariff is not None:
            frame = frame.assign(cost_per_good=_ratio(frame["cost"], frame["good"]))
            columns += ["cost", "cost_per_good"]
        frames.append(frame[columns].sort_values(key, ignore_index=True))
    total = float(by_asset["kwh"].sum())
    good = float(prod.loc[prod["asset"].isin(outputs), "good"].sum())
    return EnergyPerPart(
        by_asset=frames[0].astype({"asset": "str"}),
        by_line=frames[1].astype({"line": "str"}),
        by_product=frames[2].astype({"product": "str"}),
        total_kwh=total,
        unallocated_kwh=0.0,
        good=good,
        kwh_per_good=total / good if good > 0 else float("nan"),
        cost=None if tariff is None else float(by_asset["cost"].sum()),
        currency=None if tariff is None else tariff.currency,
    )


__all__ = [
    "IDLE_STATES",
    "RUNNING_STATES",
    "EnergyPerPart",
    "MachinePower",
    "TariffPeriod",
    "TouTariff",
    "energy_per_good_part",
    "machine_power",
    "power_kw_from_current",
]
