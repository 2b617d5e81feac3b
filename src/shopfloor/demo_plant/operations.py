"""Seeded simulation of the demo plant's operations: states, failures, counts, quality.

The simulation runs on an *operating clock*: seconds of staffed shift time (Mon-Fri
06:00-22:00 UTC).  Wear, orders, stops and waiting all live on that clock, so a repair
started at 21:30 resumes at 06:00 the next morning instead of running through the night,
and nights and weekends become ``planned_stop`` when the clock is mapped back to calendar
time.  Each machine's state timeline is painted from prioritised layers (breakdown >
preventive > planned maintenance > changeover > minor stops > blocked > starved > short
waits > running), which makes it a gap-free tiling by construction.

Flow-line coupling is approximate but keeps the signatures the analytics rely on: a stop
of one machine makes the others of its line wait once the buffers between them are
exhausted (upstream ``blocked``, downstream ``starved``), and each non-bottleneck machine
waits briefly and often in proportion to its spare capacity against the bottleneck's pace,
so the bottleneck has by far the longest uninterrupted active periods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from shopfloor.demo_plant.layout import MachineSpec, PlantLayout
from shopfloor.errors import InputError
from shopfloor.schema import LAKE_COLUMNS, TABLES

IntArr = npt.NDArray[np.int64]
FloatArr = npt.NDArray[np.float64]
Layer = tuple[IntArr, IntArr, IntArr]  # start, end (operating seconds), label id

STATES = ("running", "starved", "blocked", "changeover", "planned_stop", "maintenance", "down")
GRID_S = 600  # health sampling period and wear step (seconds)
# Operating time an inter-station buffer bridges: 30 min, and 4 h on both sides of the
# bottleneck (decoupling buffers protect it, so it almost never waits).
_BUFFER_S, _BN_BUFFER_S = 1800, 4 * 3600
_SHIFT_S = (6 * 3600, 22 * 3600)
_DAY_U = _SHIFT_S[1] - _SHIFT_S[0]
_LOOKAHEAD_DAYS = 21  # clock kept beyond `end` so planned orders and open repairs get dates
# Failure modes by machine kind, the more frequent first.
_MODES = {"saw": ("motor", "bearing"), "cnc": ("spindle", "bearing")}
_MODES |= {"press": ("hydraulic", "motor"), "weld": ("motor", "seal")}
_MODES |= {"paint": ("belt", "motor"), "pack": ("belt", "bearing")}
# A machine's own stops in paint priority, with the state each shows as.
_OWN_STOPS = {"corrective": "down", "preventive": "maintenance", "planned": "maintenance"}
_OWN_STOPS["changeover"] = "changeover"
_PART_COST = {"bearing": 400.0, "spindle": 2500.0, "hydraulic": 900.0, "motor": 1500.0}
# (characteristic, position of the machine that makes it, nominal of product 1, half tolerance)
_CHARACTERISTICS = (("length_mm", 0, 100.0, 0.20), ("diameter_mm", 1, 20.0, 0.05))
_INSPECTIONS_PER_H = 6.0


@dataclass(frozen=True)
class Operations:
    """Everything :func:`simulate_operations` produces; canonical frames use schema columns."""

    events: pd.DataFrame
    health: pd.DataFrame  # ground truth: asset, ts (every GRID_S), health in [0, 1]
    failures: pd.DataFrame  # ground truth: asset, ts, mode, health_before
    production: pd.DataFrame
    work_orders: pd.DataFrame
    orders: pd.DataFrame
    routings: pd.DataFrame
    inspections: pd.DataFrame


def canonical_frame(table: str, data: Mapping[str, object]) -> pd.DataFrame:
    """A frame with exactly the loadable columns and dtypes of canonical ``table``.

    Going through Arrow gives timestamps ``datetime64[us, UTC]``, strings pandas' ``str``
    and days ``date32[pyarrow]``; columns missing from ``data`` become all-null.
    """
    spec = TABLES[table]
    names = [n for n in spec.schema.names if n not in LAKE_COLUMNS]
    n_rows = len(np.asarray(next(iter(data.values())))) if data else 0
    arrays = [
        pa.nulls(n_rows, spec.schema.field(n).type)
        if data.get(n) is None
        else pa.array(data[n], type=spec.schema.field(n).type, from_pandas=True)
        for n in names
    ]
    dates = {pa.date32(): pd.ArrowDtype(pa.date32())}
    return cast(pd.DataFrame, pa.table(arrays, names=names).to_pandas(types_mapper=dates.get))


def _utc(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _stamp(base_us: int, seconds: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
    """Seconds since ``start`` (NaN for null) as datetime64[us], read as UTC."""
    sec = np.asarray(seconds, dtype=np.float64)
    out = np.full(sec.shape, np.datetime64("NaT"), dtype="datetime64[us]")
    ok = np.isfinite(sec)
    out[ok] = (base_us + np.round(sec[ok] * 1e6).astype(np.int64)).astype("datetime64[us]")
    return out


class _Clock:
    """Maps calendar seconds since ``start`` to operating (shift) seconds and back."""

    def __init__(self, start: pd.Timestamp, horizon_s: int) -> None:
        first = start.normalize()
        self.lead, self.horizon = int((start - first).total_seconds()), horizon_s
        days = np.arange((self.lead + horizon_s) // 86400 + 1 + _LOOKAHEAD_DAYS)
        weekday = (first.dayofweek + days) % 7
        cs, ce = days * 86400 - self.lead + _SHIFT_S[0], days * 86400 - self.lead + _SHIFT_S[1]
        keep = (weekday < 5) & (ce > 0)
        self.weekday, self.full = weekday[keep], cs[keep] >= 0
        self.cs: IntArr = np.maximum(cs[keep], 0).astype(np.int64)
        self.ce: IntArr = ce[keep].astype(np.int64)
        self.off: IntArr = np.concatenate([[0], np.cumsum(self.ce - self.cs)[:-1]]).astype(np.int64)
        self.u_end = int(self.to_u(np.array([horizon_s]))[0])

    def to_u(self, t: IntArr) -> IntArr:
        k = np.searchsorted(self.cs, t, side="right") - 1
        kk = np.maximum(k, 0)
        u = self.off[kk] + np.clip(t - self.cs[kk], 0, self.ce[kk] - self.cs[kk])
        return np.where(k < 0, 0, u).astype(np.int64)

    def to_cal(self, u: IntArr, *, end: bool = False) -> IntArr:
        # An end exactly on a window boundary belongs to the window it closes.
        k = np.maximum(np.searchsorted(self.off, u, side="left" if end else "right") - 1, 0)
        return (self.cs[k] + (u - self.off[k])).astype(np.int64)

    def cal1(self, u: int, *, end: bool = False) -> int:
        return int(self.to_cal(np.array([u], dtype=np.int64), end=end)[0])

    def gaps(self) -> tuple[IntArr, IntArr]:
        """Calendar intervals in [0, horizon) outside every shift window."""
        cs = self.cs[self.cs < self.horizon]
        s = np.concatenate([[0], np.minimum(self.ce[: cs.size], self.horizon)])
        e = np.concatenate([cs, [self.horizon]])
        return s[e > s].astype(np.int64), e[e > s].astype(np.int64)


class _Labels:
    """Interns (state code, detail) pairs so timelines can be painted with integers."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str | None], int] = {}

    def __call__(self, code: str, detail: str | None = None) -> int:
        return self._ids.setdefault((code, detail), len(self._ids))

    def table(self) -> list[tuple[str, str | None]]:
        return sorted(self._ids, key=self._ids.__getitem__)


@dataclass
class _Stop:
    kind: str  # corrective | preventive | planned | changeover | open | cancelled
    start: int  # operating seconds (-1: never started)
    end: int
    created: int  # calendar seconds
    detail: str  # failure mode, changeover code or text
    health_before: float = float("nan")
    response: int = 0  # operating seconds from failure until the repair crew starts


@dataclass
class _Machine:
    spec: MachineSpec
    rng: np.random.Generator
    actual_cycle_s: float
    setup_s: float
    health: FloatArr = field(default_factory=lambda: np.zeros(0))
    stops: list[_Stop] = field(default_factory=list)


class _Rows:
    """Column collector; ``add`` takes one value per column (scalars are broadcast)."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self.chunks: list[list[npt.NDArray[np.generic]]] = [[] for _ in self.columns]

    @classmethod
    def canonical(cls, table: str) -> _Rows:
        """Columns of a canonical table, in schema order (the order ``add`` expects)."""
        return cls([n for n in TABLES[table].schema.names if n not in LAKE_COLUMNS])

    def add(self, *values: object) -> None:
        arrays = [np.asarray(v) for v in values]
        n = max((a.size for a in arrays if a.ndim), default=1)
        for chunk, a in zip(self.chunks, arrays, strict=True):
            chunk.append(
                np.full(n, a, object if a.dtype.kind in "UO" else a.dtype) if a.ndim == 0 else a
            )

    def arrays(self, base_us: int, *ts_cols: str) -> dict[str, object]:
        """Concatenated columns; ``ts_cols`` (seconds since start) become datetime64[us]."""
        data: dict[str, object] = {
            c: np.concatenate(ch) if ch else np.zeros(0)
            for c, ch in zip(self.columns, self.chunks, strict=True)
        }
        for c in ts_cols:
            data[c] = _stamp(base_us, np.asarray(data[c], dtype=np.float64))
        return data


def _union(start: IntArr, end: IntArr) -> tuple[IntArr, IntArr]:
    """Merge overlapping intervals (several stops may make a machine wait at once)."""
    if start.size == 0:
        return start, end
    order = np.argsort(start, kind="stable")
    s, e = start[order], end[order]
    new = np.concatenate([[True], s[1:] > np.maximum.accumulate(e)[:-1]])
    return s[new], np.maximum.reduceat(e, np.flatnonzero(new)).astype(np.int64)


def _degrade(m: _Machine, clock: _Clock) -> None:
    """Gamma-process wear (health = z**2, convex like a P-F curve) ending in failure or PM.

    Each life draws its own wear rate (life-to-life spread about 30 %); within a life the
    gamma increments are small so health rises smoothly and monotonically.
    """
    rng, n = m.rng, max(-(-clock.u_end // GRID_S), 1)
    mean_life_s = rng.uniform(90.0, 260.0) * 3600.0  # operating time from new to failure
    detect, beta = rng.uniform(0.55, 0.8), 0.003
    m.health = np.empty(n)
    z, k = rng.uniform(0.0, 0.75), 0  # machines are part-worn at the start
    while k < n:
        life = mean_life_s * rng.lognormal(0.0, 0.3)
        inc = rng.gamma(GRID_S / (life * beta), beta, n - k)
        zs = z + np.cumsum(inc) - inc
        h = np.minimum(zs, 1.0) ** 2
        hit = np.flatnonzero(zs + inc >= 1.0)
        fj = int(hit[0]) if hit.size else n - k
        fail_u = (k + fj) * GRID_S + int(rng.integers(0, GRID_S))
        fj = fj if fail_u < clock.u_end else n - k
        seen = np.flatnonzero(h[:fj] >= detect)
        if seen.size and rng.random() < 0.5:  # half the developing faults are caught
            found = (k + int(seen[0])) * GRID_S
            w = int(np.searchsorted(clock.off, found, side="right"))
            pm_s = int(clock.off[w]) if w < clock.off.size else clock.u_end
            if pm_s < min(fail_u, clock.u_end):
                # Caught in time: preventive maintenance at the next shift start resets wear.
                pm_e, sj = pm_s + int(rng.integers(12, 37)) * 300, pm_s // GRID_S - k
                m.stops.append(_Stop("preventive", pm_s, pm_e, clock.cal1(found), "wear found"))
                m.health[k : k + sj], m.health[k + sj : -(-pm_e // GRID_S)] = h[:sj], h[sj]
                k, z = -(-pm_e // GRID_S), rng.uniform(0.0, 0.2)
                continue
            # Not done in time: overtaken by the failure, or still open at the horizon.
            late = "cancelled" if fj < n - k else "open"
            m.stops.append(_Stop(late, -1, -1, clock.cal1(found), "wear found"))
        if fj >= n - k:
            m.health[k:] = h
            break
        down = int(np.clip(rng.lognormal(np.log(2.5 * 3600), 0.7), 1800, 28800)) // 60 * 60
        mode = str(rng.choice(_MODES.get(m.spec.kind, ("motor", "bearing")), p=[0.6, 0.4]))
        resp = int(rng.integers(5, 21)) * 60
        m.stops.append(
            _Stop("corrective", fail_u, fail_u + down, clock.cal1(fail_u), mode, float(h[fj]), resp)
        )
        m.health[k : k + fj + 1] = h[: fj + 1]
        m.health[k + fj + 1 : -(-(fail_u + down) // GRID_S)] = 1.0  # failed until repaired
        k, z = -(-(fail_u + down) // GRID_S), rng.uniform(0.0, 0.15)


def _renewal(
    rng: np.random.Generator, u_end: int, mean_gap: float, gap_shape: float, mean_stop: float
) -> tuple[IntArr, IntArr]:
    """Alternating gap/stop renewal process over [0, u_end): gamma gaps and stops."""
    n = int(u_end / (mean_gap + mean_stop) * 1.3) + 50
    gap = np.maximum(np.round(rng.gamma(gap_shape, mean_gap / gap_shape, n)), 1).astype(np.int64)
    stop = np.maximum(np.round(rng.gamma(2.0, mean_stop / 2.0, n)), 5).astype(np.int64)
    end = np.cumsum(gap + stop)
    keep = end - stop < u_end
    return (end - stop)[keep], np.minimum(end[keep], u_end)


def _paint(layers: Sequence[Layer], cuts: IntArr, u_end: int, base: int) -> Layer:
    """Tile [0, u_end) with the first layer covering each piece (else ``base``).

    Pieces never straddle a ``cut`` (shift window start) so each maps to one window.
    """
    pts = [np.array([0, u_end]), cuts] + [x for s, e, _ in layers for x in (s, e)]
    bp = np.unique(np.clip(np.concatenate(pts), 0, u_end))
    a, mid = bp[:-1], (bp[:-1] + bp[1:]) / 2.0
    label = np.full(a.size, base, dtype=np.int64)
    free = np.ones(a.size, dtype=bool)
    for start, end, lab in layers:
        if start.size:
            order = np.argsort(start, kind="stable")
            idx = np.searchsorted(start[order], mid, side="right") - 1
            hit = free & (idx >= 0) & (mid < end[order][np.maximum(idx, 0)])
            label[hit], free = lab[order][idx[hit]], free & ~hit
    win = np.searchsorted(cuts, a, side="right")
    first = np.flatnonzero(
        np.concatenate([[True], (label[1:] != label[:-1]) | (win[1:] != win[:-1])])
    )
    return a[first], np.append(a[first[1:]], bp[-1]).astype(np.int64), label[first]


def _split(start: IntArr, end: IntArr, bounds: IntArr) -> tuple[IntArr, IntArr, IntArr]:
    """Cut intervals at sorted ``bounds``; returns (bucket index, piece start, piece end)."""
    i0 = np.searchsorted(bounds, start, side="right") - 1
    cnt = np.maximum(np.searchsorted(bounds, end, side="left") - i0, 0)
    row = np.repeat(np.arange(start.size), cnt)
    bucket = i0[row] + np.arange(row.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    pe = np.minimum(end[row], bounds[bucket + 1])
    return bucket.astype(np.int64), np.maximum(start[row], bounds[bucket]), pe


def simulate_operations(
    layout: PlantLayout, start: pd.Timestamp, end: pd.Timestamp, seed: int
) -> Operations:
    """Simulate the plant over [start, end); deterministic for a given ``seed``."""
    t0, t1 = _utc(pd.Timestamp(start)), _utc(pd.Timestamp(end))
    horizon = int((t1 - t0).total_seconds())
    if horizon <= 0:
        raise InputError(f"end {t1} is not after start {t0}", field="end")
    clock, labels = _Clock(t0, horizon), _Labels()
    out = {name: _Rows.canonical(name) for name, _, _ in _OUTPUTS}
    out["health"] = _Rows(("asset", "ts", "health"))
    out["failures"] = _Rows(("asset", "ts", "mode", "health_before"))
    seeds = np.random.SeedSequence(seed)
    # One stream per line and per machine: changing one machine leaves the others' draws.
    line_seeds, machine_seeds = seeds.spawn(len(layout.lines)), seeds.spawn(len(layout.machines))
    machines: dict[str, _Machine] = {}
    for spec, sq in zip(layout.machines, machine_seeds, strict=True):
        rng = np.random.default_rng(sq)
        # Actual cycle 5-15 % slower than ideal; changeovers of 10-40 min on average.
        cycle, setup = spec.ideal_cycle_s * rng.uniform(1.05, 1.15), rng.uniform(600.0, 2400.0)
        machines[spec.asset] = _Machine(spec, rng, cycle, setup)
    for li, line in enumerate(layout.lines):
        ms = [machines[s.asset] for s in layout.machines_on(line)]
        ms.sort(key=attrgetter("spec.position"))
        if ms:
            rng = np.random.default_rng(line_seeds[li])
            _simulate_line(_Line(li, ms, layout.bottleneck(line), rng), clock, labels, out)
    base = int((t0 - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1))
    frames = {n: canonical_frame(n, out[n].arrays(base, *ts)) for n, ts, _ in _OUTPUTS}
    for n, _, keys in _OUTPUTS:
        frames[n] = frames[n].sort_values(keys, kind="stable", ignore_index=True)
    wo = frames["work_orders"]
    wo["work_order"] = [f"WO-{i + 1:05d}" for i in range(len(wo))]  # in order of creation
    failures = _truth(out["failures"], base, {"asset": "str", "mode": "str", "health_before": "f8"})
    return Operations(
        health=_truth(out["health"], base, {"asset": "str", "health": "float64"}),
        failures=failures.sort_values(["ts", "asset"], ignore_index=True),
        routings=canonical_frame("routings", _routings(layout, machines)),
        **frames,
    )


# Canonical outputs collected row-wise: (table, timestamp columns, sort keys).
_OUTPUTS = (
    ("events", ("start", "end"), ["asset", "start", "kind"]),
    ("production", ("start", "end"), ["asset", "start"]),
    ("inspections", ("ts",), ["ts", "asset"]),
    ("orders", ("release", "due"), ["order"]),
    ("work_orders", ("created", "start", "end"), ["created", "asset"]),
)


def _truth(rows: _Rows, base: int, columns: dict[str, str]) -> pd.DataFrame:
    """A ground-truth frame (not a canonical table) with a UTC ``ts`` column."""
    data = rows.arrays(base, "ts")
    df = pd.DataFrame({c: pd.Series(data[c], dtype=t) for c, t in columns.items()})
    df.insert(1, "ts", pd.Series(data["ts"], dtype="datetime64[us]").dt.tz_localize("UTC"))
    return df


@dataclass
class _Line:
    index: int
    machines: list[_Machine]
    bottleneck: str
    rng: np.random.Generator
    products: list[str] = field(default_factory=list)
    o_start: IntArr = field(default_factory=lambda: np.zeros(0, np.int64))  # operating s
    o_product: IntArr = field(default_factory=lambda: np.zeros(0, np.int64))
    o_cal: IntArr = field(default_factory=lambda: np.zeros(0, np.int64))  # calendar s

    def order_ids(self, idx: npt.ArrayLike) -> npt.NDArray[np.object_]:
        ids = [f"MO{self.index + 1}-{int(x) + 1:05d}" for x in np.atleast_1d(idx)]
        return np.array(ids, dtype=object)


def _plan_orders(line: _Line, pace: float, clock: _Clock) -> list[int]:
    """Back-to-back orders on the operating clock, running on past the horizon (planned)."""
    rng, u, prev = line.rng, 0, -1
    starts: list[int] = []
    prods: list[int] = []
    qty: list[int] = []
    line.products = [f"P{line.index + 1}{k + 1:03d}" for k in range(4)]
    while u < clock.u_end + 2 * _DAY_U:
        if prev < 0 or rng.random() >= 0.3:  # 30 % of orders repeat the previous product
            prev = int(rng.choice([k for k in range(len(line.products)) if k != prev]))
        starts.append(u)
        prods.append(prev)
        qty.append(int(rng.integers(20, 121)) * 10)
        u += int(qty[-1] * pace / 0.8)  # planned at 80 % efficiency
    line.o_start, line.o_product = np.array([*starts, u], np.int64), np.array(prods, np.int64)
    line.o_cal = clock.to_cal(line.o_start[:-1])
    return qty


def _simulate_line(line: _Line, clock: _Clock, labels: _Labels, out: dict[str, _Rows]) -> None:
    u_end, ms, rng = clock.u_end, line.machines, line.rng
    bn = next(m for m in ms if m.spec.asset == line.bottleneck)
    # The bottleneck paces the line; keep it the slowest whatever the slow-down draws were.
    others = [m.actual_cycle_s for m in ms if m is not bn]
    pace = bn.actual_cycle_s = max(bn.actual_cycle_s, 1.03 * max(others, default=0.0))
    qty = _plan_orders(line, pace, clock)
    o_s, o_p, names = line.o_start, line.o_product, line.products
    for m in ms:  # the whole line changes over when the product changes
        for c in np.flatnonzero((o_p[1:] != o_p[:-1]) & (o_s[1:-1] < u_end)) + 1:
            d = int(np.clip(m.setup_s * m.rng.uniform(0.8, 1.2), 600, 2400)) // 60 * 60
            code = f"{names[o_p[c - 1]]}->{names[o_p[c]]}"
            m.stops.append(_Stop("changeover", int(o_s[c]), int(o_s[c]) + d, 0, code))
    win = np.flatnonzero(clock.full & (clock.off < u_end))
    for idx in rng.choice(len(ms), size=min(2, len(ms)), replace=False):
        weekday, dur = int(rng.integers(0, 5)), int(rng.integers(18, 31)) * 300
        for w in win[clock.weekday[win] == weekday]:  # first hours of that weekday's shift
            s, created = int(clock.off[w]), int(clock.cs[w]) - 7 * 86400
            ms[idx].stops.append(_Stop("planned", s, s + dur, created, "weekly planned"))
    for m in ms:
        _degrade(m, clock)
    own = [np.array([(x.start, x.end) for x in m.stops if x.start >= 0], np.int64) for m in ms]
    cuts = clock.off[(clock.off > 0) & (clock.off < u_end)]
    gs, ge = clock.gaps()
    bn_i = ms.index(bn)
    buf = [_BN_BUFFER_S if k in (bn_i - 1, bn_i) else _BUFFER_S for k in range(len(ms) - 1)]
    reach = np.concatenate([[0], np.cumsum(buf)])  # buffer time from the line start
    for i, m in enumerate(ms):
        layers = _own_layers(m, labels)
        # Minor stops (jams, sensor trips): a few minutes every half hour or so, on every machine.
        js, je = _renewal(m.rng, u_end, m.rng.uniform(25.0, 50.0) * 60.0, 1.0, 150.0)
        layers.append((js, je, np.full(js.size, labels("down", "minor stop"), dtype=np.int64)))
        for code, upstream in (("blocked", True), ("starved", False)):
            s_, e_ = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
            for j, iv in enumerate(own):
                if iv.size and (j > i if upstream else j < i):
                    # A stop reaches machine i once the buffers between them are exhausted.
                    delay = abs(int(reach[i] - reach[j]))
                    ok = iv[:, 1] - iv[:, 0] > delay
                    s_, e_ = [*s_, iv[ok, 0] + delay], [*e_, iv[ok, 1]]
            bs, be = _union(np.concatenate(s_), np.concatenate(e_))
            layers.append((bs, be, np.full(bs.size, labels(code), dtype=np.int64)))
        if m is not bn:
            # Many short waits, their share the spare capacity against the bottleneck's pace.
            frac, mean_wait = max(1.0 - m.actual_cycle_s / pace, 0.03), m.rng.uniform(40.0, 120.0)
            ws, we = _renewal(m.rng, u_end, mean_wait * (1.0 - frac) / frac, 1.5, mean_wait)
            # Upstream of the bottleneck a machine mostly waits for space, downstream for parts.
            p_blocked = 1.0 if m.spec.position == 0 else 0.85
            if m.spec.position > bn.spec.position:
                p_blocked = 0.0 if i == len(ms) - 1 else 0.15
            ids = np.where(m.rng.random(ws.size) < p_blocked, labels("blocked"), labels("starved"))
            layers.append((ws, we, ids.astype(np.int64)))
        ua, ub, lab = _paint(layers, cuts, u_end, labels("running"))
        k = np.searchsorted(clock.off, ua, side="right") - 1
        ca, cb = clock.cs[k] + ua - clock.off[k], clock.cs[k] + ub - clock.off[k]
        pairs = np.array([*labels.table(), ("", None)], dtype=object)  # 2-D: code, detail
        a = m.spec.asset
        out["events"].add(a, ca, cb, "state", pairs[lab, 0], pairs[lab, 1])
        out["events"].add(a, gs, ge, "state", "planned_stop", "no shift")
        _stop_records(m, clock, out)
        run = lab == labels("running")
        _production(m, ca[run], cb[run], line, clock, out)
        grid = np.arange(0, clock.horizon, GRID_S, dtype=np.int64)
        at_grid = np.minimum(clock.to_u(grid) // GRID_S, m.health.size - 1)
        out["health"].add(a, grid, m.health[at_grid])
    cal_s, cal_e = line.o_cal, clock.to_cal(o_s[1:], end=True)
    n, horizon = cal_s.size, clock.horizon
    release = (cal_s - rng.uniform(1.0, 4.0, n) * 86400) // 3600 * 3600
    due = (cal_e + rng.uniform(-0.5, 2.5, n) * 86400) // 3600 * 3600  # some are due too soon
    when = [cal_e <= horizon, cal_s < horizon, release <= horizon]
    status = np.select(when, ["done", "running", "released"], "planned").astype(object)
    priority = rng.choice([1.0, 2.0, 3.0], n, p=[0.6, 0.3, 0.1])
    ids, items = line.order_ids(np.arange(n)), np.array(names, dtype=object)[o_p]
    out["orders"].add(ids, items, np.array(qty), release, due, priority, status)


def _own_layers(m: _Machine, labels: _Labels) -> list[Layer]:
    """The machine's own stops in paint priority: down > preventive > planned > changeover."""
    layers = []
    for kind, code in _OWN_STOPS.items():
        sel = [x for x in m.stops if x.kind == kind]
        ids = [labels(code, x.detail if code in ("down", "changeover") else kind) for x in sel]
        bounds = np.array([(x.start, x.end) for x in sel], np.int64).reshape(-1, 2)
        layers.append((bounds[:, 0], bounds[:, 1], np.array(ids, dtype=np.int64)))
    return layers


def _stop_records(m: _Machine, clock: _Clock, out: dict[str, _Rows]) -> None:
    """Events, failures and work orders of a machine's stops; ends past the horizon stay open.

    Wear found but not repaired yet is an open work order, or a cancelled one when the
    failure came first.  Work order ids are given once all machines are done.
    """

    def at(u: int, end: bool = False) -> float:
        t = clock.cal1(u, end=end)
        return float("nan") if end and t > clock.horizon else float(t)

    a, ev, wo = m.spec.asset, out["events"], out["work_orders"]
    for x in m.stops:
        text = f"{x.kind}: {x.detail}"
        if x.start >= clock.u_end or x.created >= clock.horizon:
            continue
        if x.start < 0:
            cost = 0.0 if x.kind == "cancelled" else float("nan")
            wo.add("", a, "preventive", x.created, np.nan, np.nan, x.kind, cost, text)
            continue
        begin, finish = at(x.start + x.response), at(x.end, True)
        if x.kind == "changeover":
            ev.add(a, begin, finish, "changeover", x.detail, None)
            continue
        ev.add(a, begin, finish, "maintenance", x.kind, x.detail)
        parts = 150.0
        if x.kind == "corrective":
            out["failures"].add(a, x.created, x.detail, x.health_before)
            hb = f"health before failure {x.health_before:.2f}"
            ev.add(a, at(x.start), finish, "failure", x.detail, hb)
            parts = _PART_COST.get(x.detail, 250.0) * m.rng.lognormal(0.0, 0.3)
        hours = (x.end - x.start - x.response) / 3600.0
        cost = round(85.0 * (1 if x.kind == "planned" else 2) * hours + parts, 2)
        kind = "corrective" if x.kind == "corrective" else "preventive"
        status = "in_progress" if np.isnan(finish) else "done"
        wo.add("", a, kind, x.created, begin, finish, status, cost, text)


def _production(
    m: _Machine, run_s: IntArr, run_e: IntArr, line: _Line, clock: _Clock, out: dict[str, _Rows]
) -> None:
    """Hourly counts per order segment; scrap and measured drift rise with wear."""
    hours = np.arange(-(clock.lead % 3600), clock.horizon + 3600, 3600)
    bounds = np.unique(np.clip(np.concatenate([hours, line.o_cal]), 0, clock.horizon))
    bucket, ps, pe = _split(run_s, run_e, bounds)
    run_b = np.bincount(bucket, weights=pe - ps, minlength=bounds.size - 1)
    keep = np.flatnonzero(run_b > 0)
    bs, be, rb = bounds[keep], bounds[keep + 1], run_b[keep]
    oi = np.searchsorted(line.o_cal, bs, side="right") - 1
    pidx = line.o_product[oi]
    noise = np.clip(1.0 + m.rng.normal(0.0, 0.02, keep.size), 0.9, 1.1)
    # Whole parts from the running time: carry the fractions over between hours.
    total = np.diff(np.floor(np.cumsum(rb / (m.actual_cycle_s * noise))), prepend=0.0)
    total = total.astype(np.int64)
    h = m.health[np.minimum(clock.to_u((bs + be) // 2) // GRID_S, m.health.size - 1)]
    scrap = m.rng.binomial(total, 0.01 + 0.07 * h**2)  # 1 % when new, 8 % when worn out
    names, orders, a = np.array(line.products, dtype=object), line.order_ids(oi), m.spec.asset
    out["production"].add(
        a, bs, be, names[pidx], orders, total - scrap, scrap, m.spec.ideal_cycle_s
    )
    for name, pos, nominal0, half in _CHARACTERISTICS:
        if m.spec.position != pos:
            continue
        rows = np.repeat(np.arange(keep.size), m.rng.poisson(_INSPECTIONS_PER_H * rb / 3600))
        ts = bs[rows] + np.floor(m.rng.random(rows.size) * (be - bs)[rows])
        ts, first = np.unique(ts, return_index=True)  # (asset, ts, characteristic) is the key
        rows = rows[first]
        nominal = nominal0 * (1.0 + 0.25 * pidx[rows])
        sign = 1.0 if a.endswith(("1", "3", "5", "7", "9")) else -1.0
        # Capable when new (Cp 1.33); the mean walks towards a limit as the machine wears.
        noise_v = m.rng.normal(0.0, half / 4.0, rows.size)
        value = (nominal + sign * 0.9 * half * h[rows] ** 2 + noise_v).round(4)
        lsl, usl = nominal - half, nominal + half
        ok = (value >= lsl) & (value <= usl)
        label = np.where(value > usl, "oversize", "undersize").astype(object)
        label[ok] = None
        verdict = np.where(ok, "pass", "fail").astype(object)
        out["inspections"].add(
            a, ts, names[pidx[rows]], orders[rows], name, value, lsl, usl, verdict, None, label,
            None, np.nan, None,
        )  # fmt: skip


def _routings(layout: PlantLayout, machines: dict[str, _Machine]) -> dict[str, object]:
    """Serial routings on the home line; two operations may also run on the twin line."""
    rows = _Rows.canonical("routings")
    for li, line in enumerate(layout.lines):
        twin = layout.lines[(li + 1) % len(layout.lines)]
        alt = {m.position: m for m in layout.machines_on(twin)} if twin != line else {}
        for k in range(4):
            for spec in sorted(layout.machines_on(line), key=lambda s: s.position):
                opts = [(spec, 1.0)]
                if spec.position in (1, 4) and spec.position in alt:
                    opts.append((alt[spec.position], 1.1))  # slower on the other line's fixture
                for mach, f in opts:
                    rows.add(
                        f"P{li + 1}{k + 1:03d}",
                        (spec.position + 1) * 10,
                        spec.kind,
                        mach.asset,
                        round(mach.ideal_cycle_s * f, 1),
                        float(round(machines[mach.asset].setup_s)),
                        60.0 * (1 + spec.position % 3),
                    )
    return rows.arrays(0)
