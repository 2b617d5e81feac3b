"""Overall equipment effectiveness per asset, line or site and shift, day or week.

Definitions follow Nakajima's six big losses (the usual OEE); where ISO 22400-2 differs
it is said below.

* **calendar time**: time covered by the asset's ``state`` events in the period.
* **planned production time** (ISO 22400: planned busy time) = calendar time - planned
  downtime: ``planned_stop`` plus *planned* ``maintenance`` (a maintenance state whose
  detail, or a ``maintenance`` event starting at the same instant on the same asset, says
  ``preventive``, ``planned`` or ``predictive``).
* **run time** = planned production time - unplanned stops: ``down``, any other
  (corrective) ``maintenance`` and ``changeover`` (Nakajima's breakdown and set-up
  losses).  A ``down`` state of any length counts here; there is no minor-stop threshold.
* ``starved`` and ``blocked`` count as **run time**: waiting for parts or space is
  Nakajima's *idling and minor stoppages*, a performance loss.  ISO 22400 instead counts
  such delays as lost availability; we do not, because the machine itself is able to
  produce: a neighbour's breakdown should not lower the availability of every machine on
  the line, which would count one breakdown several times in line figures.  Either way
  the OEE is the same; the idle time is reported separately (``idle_time_s``).
* **availability** = run time / planned production time.
* **performance** = ideal cycle time x total count / run time (may exceed 1 when the
  ideal cycle time is set too slow; it is reported, not clipped).
* **quality** = good / total count, weighted by ideal cycle time (identical to the plain
  ratio for one product or equal cycle times), so that availability x performance x
  quality = ideal time of good parts / planned production time = **oee**.

Line and site figures add up their machines' times and ideal times before dividing, so a
line's OEE is the planned-time-weighted mean of its machines' OEE; ``good`` and ``scrap``
are then sums of machine counts (parts processed, not line output - see
:func:`shopfloor.production.losses.throughput` for that).

Intervals are cut exactly at period boundaries; production counts of an interval that
spans a boundary are shared pro rata to time, so counts can be fractional.  Open state
events (null end) close at the latest timestamp in the data; overlapping states of one
asset are resolved in favour of the later one (a new state ends the previous).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.production.periods import (
    DEFAULT_SHIFT_STARTS,
    PeriodKind,
    from_us,
    period_boundaries,
    split_intervals,
    to_us,
)

GroupBy = Literal["asset", "line", "site"]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# Time categories of a state, in the order of the accumulator columns below.
PLANNED, UNPLANNED, CHANGEOVER, IDLE, RUNNING = range(5)
STATE_CATEGORY = {
    "planned_stop": PLANNED,
    "down": UNPLANNED,
    "changeover": CHANGEOVER,
    "starved": IDLE,
    "blocked": IDLE,
    "running": RUNNING,
}  # "maintenance" is PLANNED or UNPLANNED depending on its type
PLANNED_MAINTENANCE = ("preventive", "planned", "predictive")
US = 1_000_000


@dataclass(frozen=True)
class OeeFigures:
    """Totals and ratios over a set of rows (ratios are NaN where undefined)."""

    planned_time_s: float
    run_time_s: float
    ideal_time_s: float
    good: float
    scrap: float
    availability: float
    performance: float
    quality: float
    oee: float


@dataclass(frozen=True)
class OeeResult:
    """``frame``: one row per group and period; ``overall``: the whole selection.

    Columns: group, period_start, period_end, planned_time_s, run_time_s, availability,
    performance, quality, oee, good, scrap, ideal_time_s, then the breakdown
    calendar_time_s, unplanned_stop_s, changeover_s, idle_time_s, ideal_good_s.
    """

    frame: pd.DataFrame
    overall: OeeFigures
    by: GroupBy
    period: PeriodKind


def safe_ratio(num: npt.ArrayLike, den: npt.ArrayLike) -> F64:
    """num / den, NaN where den is not positive."""
    n, d = np.asarray(num, np.float64), np.asarray(den, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)


def state_intervals(events: pd.DataFrame, *, latest_us: int | None = None) -> pd.DataFrame:
    """Clean ``state`` intervals: asset, start_us, end_us, code, category (int).

    Open ends close at the latest timestamp seen (``latest_us``, when the caller sees
    more events than these: one asset's share of a plant's); overlaps are cut by the
    later state; unknown state codes are refused with the row that carries them.
    """
    require_columns(events, ("asset", "start", "end", "kind", "code"), "events")
    state = events[events["kind"] == "state"]
    if state.empty:
        return pd.DataFrame(
            {
                "asset": pd.Series(dtype="str"),
                "start_us": np.zeros(0, np.int64),
                "end_us": np.zeros(0, np.int64),
                "code": pd.Series(dtype="str"),
                "category": np.zeros(0, np.int64),
            }
        )
    code_id, code_names = pd.factorize(state["code"].astype("str"))
    known = np.isin(code_names, [*STATE_CATEGORY, "maintenance"])
    if not known.all():
        bad = int(np.flatnonzero(~known[code_id])[0])
        raise InputError(
            f"state code '{state['code'].iloc[bad]}' is unknown (expected one of "
            f"{', '.join([*STATE_CATEGORY, 'maintenance'])})",
            source="events",
            row=int(state.index[bad]),
            field="code",
        )
    start = to_us(state["start"])
    end = to_us(state["end"].fillna(state["start"]))
    latest = (
        max(int(end.max()), int(to_us(events["start"]).max())) if latest_us is None else latest_us
    )
    end = np.where(state["end"].isna().to_numpy(), latest, end)
    asset_id, asset_names = pd.factorize(state["asset"].astype("str"), sort=True)
    order = np.lexsort((start, asset_id))
    asset_id, start, end, code_id = asset_id[order], start[order], end[order], code_id[order]
    # A new state ends the previous one: cut overlaps in favour of the later state.
    same_next = np.append(asset_id[1:] == asset_id[:-1], False)
    nxt = np.append(start[1:], np.iinfo(np.int64).max)
    end = np.where(same_next, np.minimum(end, nxt), end)
    category = np.array([STATE_CATEGORY.get(c, UNPLANNED) for c in code_names], np.int64)[code_id]
    maint = code_names[code_id] == "maintenance"
    if maint.any():
        planned = _planned_maintenance(events, state.iloc[order], maint)
        category[maint] = np.where(planned, PLANNED, UNPLANNED)
    asset = np.asarray(asset_names, dtype=object)[asset_id]
    codes = np.asarray(code_names, dtype=object)[code_id]
    keep = end > start
    return pd.DataFrame(
        {
            "asset": pd.array(asset[keep], dtype="str"),
            "start_us": start[keep],
            "end_us": end[keep],
            "code": pd.array(codes[keep], dtype="str"),
            "category": category[keep],
        }
    )


def _planned_maintenance(
    events: pd.DataFrame, state: pd.DataFrame, maint: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Whether each maintenance state is planned, from its detail or a matching event."""
    rows = state[maint]
    detail = rows["detail"] if "detail" in rows else pd.Series("", index=rows.index)
    text = detail.fillna("").astype("str").str.lower()
    planned = np.zeros(len(rows), dtype=bool)
    for word in PLANNED_MAINTENANCE:
        planned |= text.str.contains(word, regex=False).to_numpy()
    mev = events[(events["kind"] == "maintenance")]
    if not mev.empty:
        code = mev["code"].fillna("").astype("str").str.lower()
        keys = set(
            zip(
                mev["asset"].astype("str"),
                to_us(mev["start"]).tolist(),
                code.isin(PLANNED_MAINTENANCE),
                strict=True,
            )
        )
        starts = to_us(rows["start"]).tolist()
        planned |= np.array(
            [
                (a, s, True) in keys
                for a, s in zip(rows["asset"].astype("str"), starts, strict=True)
            ],
            dtype=bool,
        )
    return planned


def require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Refuse a frame that lacks columns, naming the first missing one."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", source=name, field=missing[0])


def group_of(
    assets_in_data: npt.NDArray[np.object_], assets: pd.DataFrame, by: GroupBy
) -> npt.NDArray[np.object_]:
    """Group label (asset, line or site) of each asset id; unknown ids are an input error."""
    if by == "asset":
        return assets_in_data
    if by not in ("line", "site"):
        raise InputError(f"by '{by}' is not one of asset, line, site", field="by")
    require_columns(assets, ("asset", by), "assets")
    lookup = dict(zip(assets["asset"].astype("str"), assets[by], strict=True))
    ids, names = pd.factorize(np.asarray(assets_in_data, dtype=object))
    mapped = np.array([lookup.get(a) for a in names], dtype=object)
    bad = [a for a, g in zip(names, mapped, strict=True) if g is None or pd.isna(g)]
    if bad:
        raise InputError(
            f"asset '{bad[0]}' has no {by} in the asset registry", source="assets", field=by
        )
    return mapped[ids]


PRODUCTION_COLUMNS = ("asset", "start", "end", "good", "scrap", "ideal_cycle_s")
# Per-asset sums (see :func:`state_sums` and :func:`count_sums`): time per state category,
# in the order of the categories above, and the production counts.
STATE_SUMS = ("planned_downtime_s", "unplanned_stop_s", "changeover_s", "idle_time_s", "running_s")
COUNT_SUMS = ("good", "scrap", "ideal_time_s", "ideal_good_s")
_KEYS = ("asset", "period_start", "period_end")


def compute_oee(
    events: pd.DataFrame,
    production: pd.DataFrame,
    assets: pd.DataFrame,
    *,
    by: GroupBy = "asset",
    period: PeriodKind = "day",
    shift_starts: Sequence[str] = DEFAULT_SHIFT_STARTS,
    timezone: str = "UTC",
) -> OeeResult:
    """OEE per ``by`` group and ``period``; see the module docstring for the definitions.

    Rows appear for every group and period with planned production time or counted
    output; ratios are NaN where their denominator is zero.  (A backend computes the
    same figures per asset with :func:`state_sums` and :func:`count_sums`, then rolls
    them up with :func:`oee_from_sums`.)
    """
    states = state_intervals(events)
    require_columns(production, PRODUCTION_COLUMNS, "production")
    p_start, p_end = to_us(production["start"]), to_us(production["end"])
    bounds = _bounds(
        [states["start_us"].to_numpy(), states["end_us"].to_numpy(), p_start, p_end],
        period,
        shift_starts,
        timezone,
    )
    if bounds is None:
        return _result(_empty_table(), by, period)
    n_per = bounds.size - 1
    all_assets = np.concatenate(
        [
            states["asset"].to_numpy(dtype=object),
            production["asset"].astype("str").to_numpy(dtype=object),
        ]
    )
    labels, inverse = np.unique(group_of(all_assets, assets, by).astype(str), return_inverse=True)
    g_state, g_prod = inverse[: len(states)], inverse[len(states) :]
    acc = _state_time(states, g_state, labels.size, bounds)
    sums = _counts(production, p_start, p_end, g_prod, labels.size, bounds)
    table = _cells(
        np.repeat(labels, n_per),
        from_us(np.tile(bounds[:-1], labels.size)),
        from_us(np.tile(bounds[1:], labels.size)),
        acc,
        sums,
    )
    return _result(table, by, period)


def state_sums(
    events: pd.DataFrame,
    *,
    period: PeriodKind = "day",
    shift_starts: Sequence[str] = DEFAULT_SHIFT_STARTS,
    timezone: str = "UTC",
    latest_us: int | None = None,
) -> pd.DataFrame:
    """Seconds per state category, asset and period: the events' half of the OEE.

    Columns: asset, period_start, period_end, then :data:`STATE_SUMS` (planned downtime,
    unplanned stops, changeovers, idle time, running), one row per asset and period with
    state time.  Several assets may be given, or one at a time: periods are cut on the
    same calendar either way.  ``latest_us``: where open states close, when ``events``
    are one asset's share of the plant's (see :func:`state_intervals`).
    """
    states = state_intervals(events, latest_us=latest_us)
    bounds = _bounds(
        [states["start_us"].to_numpy(), states["end_us"].to_numpy()], period, shift_starts, timezone
    )
    if bounds is None:
        return _empty_sums(STATE_SUMS)
    labels, ids = np.unique(states["asset"].to_numpy(dtype=object).astype(str), return_inverse=True)
    acc = _state_time(states, ids, labels.size, bounds)
    return _asset_cells(labels, bounds, dict(zip(STATE_SUMS, acc, strict=True)))


def count_sums(
    production: pd.DataFrame,
    *,
    period: PeriodKind = "day",
    shift_starts: Sequence[str] = DEFAULT_SHIFT_STARTS,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Good and scrap counts and ideal times per asset and period: the counts' half.

    Columns: asset, period_start, period_end, then :data:`COUNT_SUMS`, one row per asset
    and period with counted output (counts shared pro rata over the periods an interval
    spans, as in :func:`compute_oee`).
    """
    require_columns(production, PRODUCTION_COLUMNS, "production")
    p_start, p_end = to_us(production["start"]), to_us(production["end"])
    bounds = _bounds([p_start, p_end], period, shift_starts, timezone)
    if bounds is None:
        return _empty_sums(COUNT_SUMS)
    labels, ids = np.unique(
        production["asset"].astype("str").to_numpy(dtype=str), return_inverse=True
    )
    sums = _counts(production, p_start, p_end, ids, labels.size, bounds)
    return _asset_cells(labels, bounds, sums)


def oee_from_sums(
    states: pd.DataFrame,
    counts: pd.DataFrame,
    assets: pd.DataFrame,
    *,
    by: GroupBy = "asset",
    period: PeriodKind = "day",
) -> OeeResult:
    """OEE per ``by`` group and ``period`` from per-asset :func:`state_sums` and
    :func:`count_sums`: the groups add up their assets' sums, then divide.

    Equals :func:`compute_oee` on the same events and counts: exactly per asset, and up
    to the order of floating-point additions (about 1e-15 relative) per line or site.
    """
    require_columns(states, (*_KEYS, *STATE_SUMS), "state sums")
    require_columns(counts, (*_KEYS, *COUNT_SUMS), "count sums")
    values = [*STATE_SUMS, *COUNT_SUMS]
    parts = [
        frame[[*_KEYS, *columns]].assign(**{c: 0.0 for c in values if c not in columns})
        for frame, columns in ((states, STATE_SUMS), (counts, COUNT_SUMS))
        if not frame.empty
    ]
    if not parts:
        return _result(_empty_table(), by, period)
    cells = pd.concat(parts, ignore_index=True)
    cells["group"] = group_of(cells["asset"].astype("str").to_numpy(dtype=object), assets, by)
    cells["group"] = cells["group"].astype("str")
    rolled = cells.groupby(["group", "period_start", "period_end"], sort=True)[values].sum()
    rolled = rolled.reset_index()
    acc = np.vstack([rolled[c].to_numpy(dtype=np.float64) for c in STATE_SUMS])
    table = _cells(
        rolled["group"].to_numpy(dtype=object),
        pd.DatetimeIndex(rolled["period_start"]),
        pd.DatetimeIndex(rolled["period_end"]),
        acc,
        {c: rolled[c].to_numpy(dtype=np.float64) for c in COUNT_SUMS},
    )
    return _result(table, by, period)


def _bounds(
    times: Sequence[npt.NDArray[np.int64]],
    period: PeriodKind,
    shift_starts: Sequence[str],
    timezone: str,
) -> I64 | None:
    """Period boundaries (us) covering every time given; None when there is none."""
    every = np.concatenate([np.asarray(t, np.int64) for t in times])
    if every.size == 0:
        return None
    return to_us(
        period_boundaries(
            from_us(every.min())[0],
            from_us(every.max())[0],
            period,
            shift_starts=shift_starts,
            timezone=timezone,
        )
    )


def _state_time(states: pd.DataFrame, group: I64, n_groups: int, bounds: I64) -> F64:
    """Seconds per state category (rows) and group x period cell (columns)."""
    n_per = bounds.size - 1
    acc = np.zeros((5, n_groups * n_per))
    row, per, ps, pe = split_intervals(
        states["start_us"].to_numpy(), states["end_us"].to_numpy(), bounds
    )
    cell = group[row] * n_per + per
    cat = states["category"].to_numpy()[row]
    np.add.at(acc, (cat, cell), (pe - ps) / US)
    return acc


def _counts(
    production: pd.DataFrame, p_start: I64, p_end: I64, group: I64, n_groups: int, bounds: I64
) -> dict[str, F64]:
    """:data:`COUNT_SUMS` per group x period cell."""
    n_cells = n_groups * (bounds.size - 1)
    # Counts: shared pro rata over the periods an interval spans; instants go whole.
    good = production["good"].to_numpy(dtype=np.float64)
    scrap = production["scrap"].to_numpy(dtype=np.float64)
    ideal = production["ideal_cycle_s"].to_numpy(dtype=np.float64)
    span = np.maximum(p_end - p_start, 1)
    p_end_eff = np.maximum(p_end, p_start + 1)  # a zero-length count still lands somewhere
    prow, pper, pps, ppe = split_intervals(p_start, p_end_eff, bounds)
    share = (ppe - pps) / span[prow]
    pcell = group[prow] * (bounds.size - 1) + pper
    weights = {
        "good": good[prow] * share,
        "scrap": scrap[prow] * share,
        "ideal_time_s": ideal[prow] * (good + scrap)[prow] * share,
        "ideal_good_s": ideal[prow] * good[prow] * share,
    }
    return {
        name: np.bincount(pcell, w, n_cells).astype(np.float64, copy=False)
        for name, w in weights.items()
    }


def _cells(
    group: npt.NDArray[np.object_] | npt.NDArray[np.str_],
    period_start: pd.DatetimeIndex,
    period_end: pd.DatetimeIndex,
    acc: F64,
    sums: dict[str, F64],
) -> pd.DataFrame:
    """The OEE table's sums per group and period from the state time and the counts."""
    calendar = acc.sum(axis=0)
    planned = calendar - acc[PLANNED]
    return pd.DataFrame(
        {
            "group": pd.array(group, dtype="str"),
            "period_start": period_start,
            "period_end": period_end,
            "calendar_time_s": calendar,
            "planned_time_s": planned,
            "run_time_s": planned - acc[UNPLANNED] - acc[CHANGEOVER],
            "unplanned_stop_s": acc[UNPLANNED],
            "changeover_s": acc[CHANGEOVER],
            "idle_time_s": acc[IDLE],
            **sums,
        }
    )


def _asset_cells(labels: npt.NDArray[np.str_], bounds: I64, sums: dict[str, F64]) -> pd.DataFrame:
    """Per-asset sums, keeping the cells where anything was added."""
    n_per = bounds.size - 1
    frame = pd.DataFrame(
        {
            "asset": pd.array(np.repeat(labels, n_per), dtype="str"),
            "period_start": from_us(np.tile(bounds[:-1], labels.size)),
            "period_end": from_us(np.tile(bounds[1:], labels.size)),
            **sums,
        }
    )
    touched = np.zeros(len(frame), dtype=bool)
    for values in sums.values():
        touched |= values != 0
    return frame[touched].reset_index(drop=True)


def _empty_sums(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "asset": pd.Series(dtype="str"),
            "period_start": from_us(np.zeros(0, np.int64)),
            "period_end": from_us(np.zeros(0, np.int64)),
            **{c: np.zeros(0) for c in columns},
        }
    )


def _result(table: pd.DataFrame, by: GroupBy, period: PeriodKind) -> OeeResult:
    """Groups and periods with planned time or output, with their ratios and totals."""
    table = table[(table["planned_time_s"] > 0) | (table["good"] + table["scrap"] > 0)]
    table = _add_ratios(table.reset_index(drop=True))
    return OeeResult(table, _figures(table), by, period)


_SUMS = ("planned_time_s", "run_time_s", "ideal_time_s", "ideal_good_s", "good", "scrap")


def _add_ratios(t: pd.DataFrame) -> pd.DataFrame:
    t = t.copy()
    t["availability"] = safe_ratio(t["run_time_s"], t["planned_time_s"])
    t["performance"] = safe_ratio(t["ideal_time_s"], t["run_time_s"])
    t["quality"] = safe_ratio(t["ideal_good_s"], t["ideal_time_s"])
    t["oee"] = safe_ratio(t["ideal_good_s"], t["planned_time_s"])
    lead = [
        "group",
        "period_start",
        "period_end",
        "planned_time_s",
        "run_time_s",
        "availability",
        "performance",
        "quality",
        "oee",
        "good",
        "scrap",
        "ideal_time_s",
    ]
    return t[lead + [c for c in t.columns if c not in lead]]


def _figures(t: pd.DataFrame) -> OeeFigures:
    s = {c: float(t[c].sum()) if c in t else 0.0 for c in _SUMS}
    return OeeFigures(
        planned_time_s=s["planned_time_s"],
        run_time_s=s["run_time_s"],
        ideal_time_s=s["ideal_time_s"],
        good=s["good"],
        scrap=s["scrap"],
        availability=float(safe_ratio(s["run_time_s"], s["planned_time_s"])),
        performance=float(safe_ratio(s["ideal_time_s"], s["run_time_s"])),
        quality=float(safe_ratio(s["ideal_good_s"], s["ideal_time_s"])),
        oee=float(safe_ratio(s["ideal_good_s"], s["planned_time_s"])),
    )


def _empty_table() -> pd.DataFrame:
    cols = {
        "group": pd.Series(dtype="str"),
        "period_start": from_us(np.zeros(0, np.int64)),
        "period_end": from_us(np.zeros(0, np.int64)),
    }
    for c in (
        "calendar_time_s",
        "planned_time_s",
        "run_time_s",
        "unplanned_stop_s",
        "changeover_s",
        "idle_time_s",
        "good",
        "scrap",
        "ideal_time_s",
        "ideal_good_s",
    ):
        cols[c] = pd.Series(dtype=np.float64)
    return _add_ratios(pd.DataFrame(cols))
