"""Seeded simulation of the demo plant's supply side: items, demand, stock, deliveries.

Demand is generated daily per item and location from ``start - 2 years`` to ``end`` so
forecasting has history.  Each series has a designed pattern, recorded in ``patterns``:

* ``smooth``: weekly profile plus yearly seasonality, Poisson noise;
* ``trending``: a linear trend (up or down) with Poisson noise;
* ``erratic``: demand most days, sizes highly variable (CV^2 >= 0.49);
* ``intermittent``: many zero days (mean interval ADI >= 1.32), regular sizes;
* ``lumpy``: many zero days and highly variable sizes.

(The four demand classes of Syntetos & Boylan, 2005, plus a trend.)  Stock follows a
daily-review (s, S) policy: when the inventory position falls to the reorder point
a purchase order goes to the item's supplier, rounded up to the pack size and at least
the MOQ.  Suppliers differ in lead time, punctuality and short deliveries (ground truth
in ``suppliers``).  Inventory snapshots are the stock at 00:00 UTC of each day; with
``received`` the day's receipts and ``shipped = min(demand, on_hand + received)`` (lost
sales beyond stock), ``on_hand[d + 1] = on_hand[d] + received[d] - shipped[d]`` holds
exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.demo_plant.layout import LOCATIONS
from shopfloor.demo_plant.operations import canonical_frame
from shopfloor.errors import InputError

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
PATTERNS = ("smooth", "trending", "erratic", "intermittent", "lumpy")
_DAY_US = 86_400 * 1_000_000
# supplier, mean promised lead time (days), on-time probability, short-delivery probability
_SUPPLIERS = (
    ("SUP-ACME", 7, 0.92, 0.03),
    ("SUP-BOLT", 12, 0.75, 0.10),
    ("SUP-CAST", 21, 0.60, 0.05),
    ("SUP-DYNA", 5, 0.85, 0.15),
)


@dataclass(frozen=True)
class Supply:
    """Canonical ``items``, ``demand``, ``inventory``, ``deliveries`` plus ground truth."""

    items: pd.DataFrame
    demand: pd.DataFrame
    inventory: pd.DataFrame
    deliveries: pd.DataFrame
    patterns: pd.DataFrame  # item, location, pattern, mean_size, adi, cv2, trend_per_year,
    #                         seasonal_amplitude (the parameters the series was drawn with)
    suppliers: pd.DataFrame  # supplier, lead_time_d, on_time_rate, short_rate


def _series(
    rng: np.random.Generator, pattern: str, days: pd.DatetimeIndex
) -> tuple[F64, dict[str, float]]:
    """One daily demand series and the parameters it was drawn with."""
    n = days.size
    t = np.arange(n) / 365.25
    level = float(rng.uniform(5.0, 60.0))
    p = {
        "mean_size": level,
        "adi": 1.0,
        "cv2": 0.0,
        "trend_per_year": 0.0,
        "seasonal_amplitude": 0.0,
    }
    if pattern in ("smooth", "trending"):
        weekly = np.array([1.1, 1.15, 1.1, 1.05, 1.0, 0.4, 0.2])[days.dayofweek]
        mu = level * weekly / weekly.mean()
        if pattern == "smooth":
            amp = float(rng.uniform(0.2, 0.5))
            phase = float(rng.uniform(0.0, 2.0 * np.pi))
            mu = mu * (1.0 + amp * np.sin(2.0 * np.pi * t + phase))
            p["seasonal_amplitude"] = amp
        else:
            slope = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 0.4))  # share per year
            mu = mu * np.maximum(1.0 + slope * (t - t[-1] / 2.0), 0.05)
            p["trend_per_year"] = slope * level
        p["cv2"] = 1.0 / level  # Poisson
        return rng.poisson(mu).astype(np.float64), p
    adi = 1.0 if pattern == "erratic" else float(rng.uniform(1.6, 6.0))
    occurs = rng.random(n) < (0.95 if pattern == "erratic" else 1.0 / adi)
    if pattern == "intermittent":
        mean = float(rng.uniform(3.0, 12.0))
        size = 1.0 + rng.poisson(mean - 1.0, n)
        cv2 = (mean - 1.0) / mean**2
    else:  # erratic and lumpy: log-normal sizes, CV^2 = exp(sigma^2) - 1 >= 0.6
        sigma = float(rng.uniform(0.75, 1.1))
        mean = level * (1.0 if pattern == "erratic" else 3.0)
        size = np.ceil(rng.lognormal(np.log(mean) - sigma**2 / 2.0, sigma, n))
        cv2 = float(np.expm1(sigma**2))
    p.update(mean_size=mean, adi=adi if pattern != "erratic" else 1.0 / 0.95, cv2=cv2)
    return np.where(occurs, size, 0.0), p


def simulate_supply(start: pd.Timestamp, end: pd.Timestamp, seed: int, items: int = 40) -> Supply:
    """Simulate supply over whole days from ``start - 2 years`` to the day before ``end``.

    Deterministic for a given ``seed``; a partial last day (``end`` not at midnight UTC) is
    left out so every day in the frames is complete.
    """
    t0, t1 = (_utc(pd.Timestamp(x)) for x in (start, end))
    if t1 <= t0:
        raise InputError(f"end {t1} is not after start {t0}", field="end")
    if items < 1:
        raise InputError("items must be at least 1", field="items")
    rng = np.random.default_rng(seed)
    days = pd.date_range(
        (t0 - pd.DateOffset(years=2)).normalize(),
        t1.normalize(),
        freq="D",
        inclusive="left",
        unit="us",
    )
    # Patterns in turn, so every pattern is present from five items on.
    kinds = [PATTERNS[i % len(PATTERNS)] for i in rng.permutation(items)]
    sup_idx = rng.integers(0, len(_SUPPLIERS), items)
    item_ids = [f"RM-{i + 1:04d}" for i in range(items)]
    pack = rng.choice(np.array([1, 5, 10, 25, 50]), items)
    series, pattern_rows, keys = [], [], []
    for i, (item, kind) in enumerate(zip(item_ids, kinds, strict=True)):
        # A quarter of the items are stocked at both locations.
        for loc in LOCATIONS[: 2 if rng.random() < 0.25 else 1]:
            q, params = _series(rng, kind, days)
            series.append(q)
            pattern_rows.append({"item": item, "location": loc, "pattern": kind, **params})
            keys.append(i)
    demand_q = np.array(series)  # (series, days)
    idx = np.array(keys)
    # MOQ: about a week of the item's demand at its busiest location, in whole packs.
    week = pack[idx] * np.ceil(7.0 * demand_q.mean(axis=1) / pack[idx])
    moq = pack.copy()
    np.maximum.at(moq, idx, week.astype(np.int64))
    inv, po = _replenish(rng, demand_q, idx, sup_idx, pack, moq, days)
    po["item"] = [item_ids[k] for k in po.pop("series_item")]
    names = np.array(item_ids, dtype=object)[idx]
    locs = np.array([r["location"] for r in pattern_rows], dtype=object)
    frame_keys = {"item": np.repeat(names, days.size), "location": np.repeat(locs, days.size)}
    demand = canonical_frame(
        "demand",
        {
            **frame_keys,
            "quantity": demand_q.ravel(),
            "date": np.tile(days.values.astype("datetime64[D]"), idx.size),
        },
    )
    inventory = canonical_frame(
        "inventory", {**frame_keys, **inv, "ts": np.tile(days.values, idx.size)}
    )
    items_frame = canonical_frame(
        "items",
        {
            "item": item_ids,
            "description": [f"raw material {i + 1}" for i in range(items)],
            "unit": rng.choice(["pcs", "kg", "m"], items, p=[0.7, 0.2, 0.1]).tolist(),
            "unit_cost": np.round(rng.lognormal(np.log(12.0), 0.9, items), 2),
            "pack_size": pack,
            "moq": moq,
            "supplier": [_SUPPLIERS[s][0] for s in sup_idx],
        },
    )
    suppliers = pd.DataFrame(
        list(_SUPPLIERS), columns=["supplier", "lead_time_d", "on_time_rate", "short_rate"]
    )
    patterns = pd.DataFrame(pattern_rows)
    return Supply(
        items=items_frame,
        demand=demand,
        inventory=inventory,
        deliveries=canonical_frame("deliveries", po),
        patterns=patterns.astype({"item": "str", "location": "str", "pattern": "str"}),
        suppliers=suppliers.astype({"supplier": "str"}),
    )


def _utc(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _replenish(
    rng: np.random.Generator,
    demand: F64,
    idx: I64,
    sup_idx: I64,
    pack: I64,
    moq: I64,
    days: pd.DatetimeIndex,
) -> tuple[dict[str, F64], dict[str, Any]]:
    """Day-by-day (s, S) simulation, vectorised across all item-location series."""
    n, n_days = demand.shape
    sup = sup_idx[idx]
    lead = np.array([_SUPPLIERS[s][1] for s in sup], dtype=np.float64)
    on_time = np.array([_SUPPLIERS[s][2] for s in sup])
    short = np.array([_SUPPLIERS[s][3] for s in sup])
    mean_d, sd_d = demand.mean(axis=1), demand.std(axis=1)
    # Reorder point: demand over lead time plus a late-delivery allowance and safety stock;
    # order-up-to level: reorder point plus two weeks of demand.
    rop = mean_d * (lead + 3.0) + 1.65 * sd_d * np.sqrt(lead + 3.0)
    top = rop + 14.0 * mean_d
    on_hand, on_order = np.ceil(top), np.zeros(n)
    got_at = np.zeros((n, n_days + 1))  # received units per arrival day (n_days: beyond)
    ordered_at = np.zeros((n, n_days + 1))  # ordered units of those POs
    snap = {k: np.zeros((n, n_days)) for k in ("on_hand", "on_order", "allocated")}
    rows: list[tuple[int, int, int, int, int, float, float]] = []
    for d in range(n_days):
        snap["on_hand"][:, d], snap["on_order"][:, d] = on_hand, on_order
        snap["allocated"][:, d] = np.minimum(on_hand, demand[:, d])  # today's picks reserved
        on_hand = on_hand + got_at[:, d]
        on_order = on_order - ordered_at[:, d]
        on_hand = on_hand - np.minimum(demand[:, d], on_hand)  # lost sales beyond stock
        need = np.flatnonzero(on_hand + on_order <= rop)
        if need.size == 0:
            continue
        qty = np.maximum(
            np.ceil((top[need] - on_hand[need] - on_order[need]) / pack[idx[need]])
            * pack[idx[need]],
            moq[idx[need]],
        )
        promised = np.maximum(np.round(rng.normal(lead[need], 0.15 * lead[need])), 1)
        late = np.where(rng.random(need.size) < on_time[need], 0, rng.integers(1, 8, need.size))
        got = np.where(
            rng.random(need.size) < short[need],
            np.floor(qty * rng.uniform(0.6, 0.95, need.size)),
            qty,
        )
        arrive = np.minimum(d + promised.astype(np.int64) + late, n_days)
        got_at[need, arrive] += got
        ordered_at[need, arrive] += qty
        on_order[need] += qty
        rows += [
            (int(k), d, int(p), int(a), int(s), float(q), float(g))
            for k, p, a, s, q, g in zip(need, promised, arrive, sup[need], qty, got, strict=True)
        ]
    day0 = days.values[0].astype("datetime64[us]")
    hour = np.timedelta64(3600 * 1_000_000, "us")
    r = np.array([x[:5] for x in rows], dtype=np.int64).reshape(-1, 5)
    arrived = r[:, 3] < n_days
    rec = day0 + r[:, 3].astype("timedelta64[D]") + 11 * hour
    po: dict[str, Any] = {
        "po": [f"PO-{i + 1:06d}" for i in range(len(rows))],
        "supplier": [_SUPPLIERS[s][0] for s in r[:, 4]],
        "series_item": idx[r[:, 0]].tolist(),
        "quantity_ordered": np.array([x[5] for x in rows]),
        "quantity_received": np.where(arrived, np.array([x[6] for x in rows]), np.nan),
        "ordered": day0 + r[:, 1].astype("timedelta64[D]") + 17 * hour,
        "promised": day0 + (r[:, 1] + r[:, 2]).astype("timedelta64[D]") + 12 * hour,
        "received": np.where(arrived, rec, np.datetime64("NaT")),
    }
    return {k: v.ravel() for k, v in snap.items()}, po
