"""Where the time goes: downtime Pareto, reliability (MTBF/MTTR) and throughput.

Loss classes follow the OEE definitions in :mod:`shopfloor.production.oee`:
``breakdown`` (``down`` and corrective ``maintenance``), ``setup`` (``changeover``),
``idle`` (``starved``/``blocked``) and ``planned`` (``planned_stop`` and planned
maintenance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.production.oee import (
    CHANGEOVER,
    IDLE,
    PLANNED,
    RUNNING,
    UNPLANNED,
    GroupBy,
    group_of,
    require_columns,
    safe_ratio,
    state_intervals,
)
from shopfloor.production.periods import (
    DEFAULT_SHIFT_STARTS,
    I64,
    PeriodKind,
    from_us,
    period_boundaries,
    split_intervals,
    to_us,
)

LOSS_CLASS = {UNPLANNED: "breakdown", CHANGEOVER: "setup", IDLE: "idle", PLANNED: "planned"}
US = 1_000_000


def _clip(
    states: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> tuple[pd.DataFrame, npt.NDArray[np.bool_]]:
    """States cut to [start, end) and the mask of the rows that keep some time."""
    s, e = states["start_us"].to_numpy(), states["end_us"].to_numpy()
    if start is not None:
        s = np.maximum(s, to_us([pd.Timestamp(start)])[0])
    if end is not None:
        e = np.minimum(e, to_us([pd.Timestamp(end)])[0])
    keep = e > s
    return states.assign(start_us=s, end_us=e)[keep].reset_index(drop=True), keep


def downtime_pareto(
    events: pd.DataFrame,
    *,
    assets: Sequence[str] | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    include_idle: bool = False,
    include_planned: bool = False,
) -> pd.DataFrame:
    """Stop time by reason, largest first, with shares and cumulative shares.

    ``reason`` is the state code; ``down`` and ``maintenance`` are broken down by their
    detail (failure mode, maintenance type) where one is given.  ``kind`` is the loss
    class (breakdown, setup, idle, planned).  ``count`` counts state intervals.  Idle
    (starved/blocked) is left out by default: it is caused elsewhere on the line and would
    swamp a machine's own stops; ``include_idle=True`` adds it.
    """
    states = state_intervals(events)
    detail = _details(events, states)  # matched on the unclipped start
    states, keep = _clip(states, start, end)
    detail = detail[keep]
    if assets is not None:
        keep = states["asset"].isin(list(assets)).to_numpy()
        states, detail = states[keep], detail[keep]
    cat = states["category"].to_numpy()
    wanted = np.isin(
        cat, [UNPLANNED, CHANGEOVER] + [IDLE] * include_idle + [PLANNED] * include_planned
    )
    states, detail = states[wanted], detail[wanted]
    code = states["code"].astype("str").to_numpy(dtype=object)
    split = np.isin(code, ["down", "maintenance"]) & (detail != "")
    reason = np.where(split, code + ": " + detail, code)
    frame = pd.DataFrame(
        {
            "reason": reason,
            "kind": [LOSS_CLASS[c] for c in states["category"]],
            "duration_s": (states["end_us"] - states["start_us"]).to_numpy() / US,
        }
    )
    out = frame.groupby(["reason", "kind"], as_index=False).agg(
        duration_s=("duration_s", "sum"), count=("duration_s", "size")
    )
    out = out.sort_values(["duration_s", "reason"], ascending=[False, True], ignore_index=True)
    total = float(out["duration_s"].sum())
    out["share"] = out["duration_s"] / total if total > 0 else np.nan
    out["cumulative_share"] = out["share"].cumsum()
    out["reason"], out["kind"] = out["reason"].astype("str"), out["kind"].astype("str")
    out["count"] = out["count"].astype(np.int64)
    return out


def _details(events: pd.DataFrame, states: pd.DataFrame) -> np.ndarray:  # type: ignore[type-arg]
    """Detail text of each cleaned state interval ('' where none), matched on asset+start."""
    if "detail" not in events.columns or states.empty:
        return np.full(len(states), "", dtype=object)
    st = events[events["kind"] == "state"]
    key = pd.MultiIndex.from_arrays([st["asset"].astype("str"), to_us(st["start"])])
    lookup = pd.Series(st["detail"].fillna("").astype("str").to_numpy(), index=key)
    lookup = lookup[~lookup.index.duplicated(keep="last")]
    want = pd.MultiIndex.from_arrays([states["asset"], states["start_us"].to_numpy()])
    found = lookup.reindex(want)
    return found.fillna("").to_numpy(dtype=object)


def reliability(
    events: pd.DataFrame, *, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Failures, MTBF and MTTR per asset.

    Uptime is run time in the OEE sense (running, starved, blocked: the machine was able to
    work); MTBF = uptime / failures; inherent availability = MTBF / (MTBF + MTTR).  When the
    data has ``failure`` events, those are the failures and a failure's repair time is the
    breakdown-state time (``down``, corrective maintenance) of its asset between the failure
    and its end (when open or instantaneous: the end of the breakdown episode it starts),
    so minor stops do not inflate MTTR.  Without failure events every breakdown episode
    counts as a failure and all breakdown time as repair time.
    """
    states, _ = _clip(state_intervals(events), start, end)
    dur = (states["end_us"] - states["start_us"]).to_numpy() / US
    cat = states["category"].to_numpy()
    up = pd.Series(dur * np.isin(cat, [RUNNING, IDLE])).groupby(states["asset"]).sum()
    down = states[cat == UNPLANNED]
    fev = events[events["kind"] == "failure"]
    if len(fev):
        t = to_us(fev["start"])
        lo = to_us([pd.Timestamp(start)])[0] if start is not None else np.iinfo(np.int64).min
        hi = to_us([pd.Timestamp(end)])[0] if end is not None else np.iinfo(np.int64).max
        fev = fev[(t >= lo) & (t < hi)]
        failures = fev["asset"].astype("str").value_counts()
        repair = _repair_time(down, fev)
    else:
        failures = down["asset"][_episode_starts(down)].value_counts()
        repair = pd.Series(dur[cat == UNPLANNED]).groupby(down["asset"].to_numpy()).sum()
    out = pd.DataFrame({"asset": pd.array(up.index.to_numpy(dtype=object), dtype="str")})
    out["failures"] = failures.reindex(up.index).fillna(0).astype(np.int64).to_numpy()
    out["uptime_h"] = up.to_numpy() / 3600.0
    out["repair_h"] = repair.reindex(up.index).fillna(0.0).to_numpy() / 3600.0
    out["mtbf_h"] = safe_ratio(out["uptime_h"], out["failures"])
    out["mttr_h"] = safe_ratio(out["repair_h"], out["failures"])
    out["availability"] = safe_ratio(out["mtbf_h"], out["mtbf_h"] + out["mttr_h"])
    return out.sort_values("asset", ignore_index=True)


def _episode_starts(down: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """True where a breakdown interval does not continue the previous one of its asset."""
    a, s, e = down["asset"].to_numpy(), down["start_us"].to_numpy(), down["end_us"].to_numpy()
    return np.concatenate([[True], (a[1:] != a[:-1]) | (s[1:] != e[:-1])])[: len(down)]


def _repair_time(down: pd.DataFrame, failures: pd.DataFrame) -> pd.Series:
    """Seconds of breakdown state inside each failure's repair window, summed per asset."""
    total: dict[str, float] = {}
    f_asset = failures["asset"].astype("str").to_numpy(dtype=object)
    f_start = to_us(failures["start"])
    f_end = to_us(failures["end"].fillna(failures["start"]))
    f_open = failures["end"].isna().to_numpy() | (f_end <= f_start)  # open or instantaneous
    for asset in np.unique(f_asset):
        mine = down[down["asset"] == asset]
        s, e = mine["start_us"].to_numpy(), mine["end_us"].to_numpy()
        if s.size == 0:
            continue
        # Breakdown time before t, from the cumulative durations of the sorted intervals.
        cum = np.concatenate([[0], np.cumsum(e - s)])

        def before(t: npt.NDArray[np.int64], s: I64 = s, e: I64 = e, cum: I64 = cum) -> I64:
            i = np.maximum(np.searchsorted(s, t, side="right") - 1, 0)
            return np.where(t <= s[0], 0, cum[i] + np.clip(t - s[i], 0, e[i] - s[i]))

        sel = f_asset == asset
        fs, fe = f_start[sel], f_end[sel]
        # Open (or instantaneous) failures last until their breakdown episode ends.
        episode = np.cumsum(_episode_starts(mine)) - 1
        episode_end = np.maximum.reduceat(e, np.flatnonzero(_episode_starts(mine)))[episode]
        i = np.maximum(np.searchsorted(s, fs, side="right") - 1, 0)
        inside = (fs >= s[i]) & (fs < e[i])
        fe = np.where(f_open[sel], np.where(inside, episode_end[i], fs), fe)
        total[str(asset)] = float(np.sum(before(fe) - before(fs))) / US
    return pd.Series(total, dtype=np.float64)


def throughput(
    production: pd.DataFrame,
    period: PeriodKind = "day",
    *,
    by: GroupBy = "asset",
    assets: pd.DataFrame | None = None,
    shift_starts: Sequence[str] = DEFAULT_SHIFT_STARTS,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Good units, and good units per hour, per group and period.

    ``hours`` is the calendar time of the period within the span of the production data.

    By line or site the output is counted where it leaves the line: at the line's last
    machine, the one with the highest ``position`` when ``assets`` has that column, else
    the last asset id in sort order (ids like ``L1-M06`` sort in flow order).  Counts of an
    interval spanning a period boundary are shared pro rata to time.
    """
    require_columns(production, ("asset", "start", "end", "good", "scrap"), "production")
    prod = production
    if by != "asset":
        if assets is None:
            raise InputError(f"grouping by {by} needs the asset registry", field="assets")
        prod = prod[prod["asset"].astype("str").isin(_line_ends(assets, prod))]
    cols = ["group", "period_start", "period_end", "good", "scrap", "hours", "good_per_hour"]
    if prod.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols}).astype(
            {
                "group": "str",
                "period_start": "datetime64[us, UTC]",
                "period_end": "datetime64[us, UTC]",
            }
        )
    s, e = to_us(prod["start"]), to_us(prod["end"])
    e = np.maximum(e, s + 1)
    bounds = to_us(
        period_boundaries(
            from_us(s.min())[0],
            from_us(e.max())[0],
            period,
            shift_starts=shift_starts,
            timezone=timezone,
        )
    )
    ids = prod["asset"].astype("str").to_numpy(dtype=object)
    group = group_of(ids, assets, by) if assets is not None else ids
    row, per, ps, pe = split_intervals(s, e, bounds)
    share = (pe - ps) / (e - s)[row]
    frame = pd.DataFrame(
        {
            "group": group[row].astype(str),
            "p": per,
            "good": prod["good"].to_numpy(np.float64)[row] * share,
            "scrap": prod["scrap"].to_numpy(np.float64)[row] * share,
        }
    )
    out = frame.groupby(["group", "p"], as_index=False)[["good", "scrap"]].sum()
    p = out["p"].to_numpy()
    out.insert(1, "period_start", from_us(bounds[p]))
    out.insert(2, "period_end", from_us(bounds[p + 1]))
    # Hours of the period inside the data's span, so a partial first/last period is fair.
    covered = np.minimum(bounds[p + 1], e.max()) - np.maximum(bounds[p], s.min())
    out["hours"] = covered / (3600.0 * US)
    out["good_per_hour"] = out["good"] / out["hours"]
    out["group"] = out["group"].astype("str")
    return out[cols]


def _line_ends(assets: pd.DataFrame, production: pd.DataFrame) -> list[str]:
    require_columns(assets, ("asset", "line"), "assets")
    present = set(production["asset"].astype("str"))
    reg = assets[assets["asset"].astype("str").isin(present) & assets["line"].notna()]
    key = "position" if "position" in reg.columns else "asset"
    return [str(g.sort_values(key)["asset"].iloc[-1]) for _, g in reg.groupby("line")]
