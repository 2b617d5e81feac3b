"""Bottleneck detection by the active-period method (Roser, Nakano & Tanaka, 2001/2002).

A machine is *active* in every state except ``starved``, ``blocked`` and
``planned_stop``: it is working, being repaired, maintained or changed over, and so is
not waiting for the rest of the line.  An *active period* is an uninterrupted run of
active states.

* **Average bottleneck** of a line: the machine with the largest mean active-period
  duration.
* **Momentary bottleneck**: at each instant, the active machine whose current active
  period is the longest (ties go to the earlier machine in asset order).  Where the
  active periods of two consecutive momentary bottlenecks overlap, the bottleneck is
  *shifting*; the rest of a machine's momentary-bottleneck time is *sole*.  Shares are of
  the line's observed time (from its first to its last state).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.production.oee import require_columns, state_intervals

INACTIVE = ("starved", "blocked", "planned_stop")


@dataclass(frozen=True)
class BottleneckResult:
    """``frame``: one row per line; ``machines``: one row per machine.

    ``frame`` columns: line, bottleneck (the average bottleneck), mean_active_s (its mean
    active period), runner_up, ratio (its mean over the runner-up's: how clearly it stands
    out), momentary (the machine most often the momentary bottleneck).  ``machines``
    columns: line, asset, active_periods, mean_active_s, active_share, momentary_share,
    sole_share, shifting_share.
    """

    frame: pd.DataFrame
    machines: pd.DataFrame

    def bottleneck(self, line: str) -> str:
        """The average bottleneck of ``line``."""
        hit = self.frame[self.frame["line"] == line]
        if hit.empty:
            raise InputError(f"line '{line}' has no state data", field="line")
        return str(hit["bottleneck"].iloc[0])


def active_periods(states: pd.DataFrame) -> pd.DataFrame:
    """Merge consecutive active state intervals per asset: asset, start_us, end_us."""
    active = ~states["code"].isin(INACTIVE).to_numpy()
    asset = states["asset"].to_numpy(dtype=object)
    s, e = states["start_us"].to_numpy(), states["end_us"].to_numpy()
    a, s, e = asset[active], s[active], e[active]
    # Active intervals touching the previous one of the same asset continue its period.
    cont = np.concatenate([[False], (a[1:] == a[:-1]) & (s[1:] == e[:-1])])[: a.size]
    first = np.flatnonzero(~cont)
    ends = np.maximum.reduceat(e, first) if first.size else e[:0]
    return pd.DataFrame({"asset": a[first], "start_us": s[first], "end_us": ends})


def find_bottlenecks(events: pd.DataFrame, assets: pd.DataFrame) -> BottleneckResult:
    """Average and shifting bottlenecks of every line found in ``events``."""
    states = state_intervals(events)
    require_columns(assets, ("asset", "line"), "assets")
    line_of = dict(zip(assets["asset"].astype("str"), assets["line"], strict=True))
    present = sorted(set(states["asset"]))
    unknown = [a for a in present if pd.isna(line_of.get(a))]
    if unknown:
        raise InputError(
            f"asset '{unknown[0]}' has no line in the asset registry", source="assets", field="line"
        )
    periods = active_periods(states)
    dur = (periods["end_us"] - periods["start_us"]).to_numpy()
    stats = pd.DataFrame({"asset": periods["asset"], "dur": dur / 1e6}).groupby("asset")["dur"]
    count, mean, total = stats.size(), stats.mean(), stats.sum()
    rows = []
    for line in sorted({str(line_of[a]) for a in present}):
        on_line = [a for a in present if str(line_of[a]) == line]
        st = states[states["asset"].isin(on_line)]
        lo, hi = int(st["start_us"].min()), int(st["end_us"].max())
        span = (hi - lo) / 1e6
        shares = _momentary(periods[periods["asset"].isin(on_line)], on_line, lo, hi)
        for k, asset in enumerate(on_line):
            rows.append(
                {
                    "line": line,
                    "asset": asset,
                    "active_periods": int(count.get(asset, 0)),
                    "mean_active_s": float(mean.get(asset, 0.0)),
                    "active_share": float(total.get(asset, 0.0)) / span if span else np.nan,
                    "momentary_share": shares[0][k],
                    "sole_share": shares[1][k],
                    "shifting_share": shares[2][k],
                }
            )
    cols = [
        "line",
        "asset",
        "active_periods",
        "mean_active_s",
        "active_share",
        "momentary_share",
        "sole_share",
        "shifting_share",
    ]
    machines = pd.DataFrame(rows, columns=cols)
    machines = machines.astype({"line": "str", "asset": "str", "active_periods": "int64"})
    return BottleneckResult(_line_summary(machines), machines)


def _line_summary(machines: pd.DataFrame) -> pd.DataFrame:
    out = []
    for line, g in machines.groupby("line", sort=True):
        g = g.sort_values(["mean_active_s", "asset"], ascending=[False, True])
        top = g.iloc[0]
        second = g.iloc[1] if len(g) > 1 else None
        mom = g.sort_values(["momentary_share", "asset"], ascending=[False, True]).iloc[0]
        out.append(
            {
                "line": str(line),
                "bottleneck": str(top["asset"]),
                "mean_active_s": float(top["mean_active_s"]),
                "runner_up": None if second is None else str(second["asset"]),
                # How clearly the bottleneck stands out: its mean over the runner-up's.
                "ratio": np.nan
                if second is None or second["mean_active_s"] <= 0
                else float(top["mean_active_s"] / second["mean_active_s"]),
                "momentary": str(mom["asset"]),
            }
        )
    cols = ["line", "bottleneck", "mean_active_s", "runner_up", "ratio", "momentary"]
    return pd.DataFrame(out, columns=cols).astype({"line": "str", "bottleneck": "str"})


def _momentary(
    periods: pd.DataFrame, names: list[str], lo: int, hi: int
) -> tuple[list[float], list[float], list[float]]:
    """Momentary, sole and shifting bottleneck shares of each machine in ``names``."""
    n = len(names)
    if periods.empty or hi <= lo:
        return [0.0] * n, [0.0] * n, [0.0] * n
    order = np.argsort(
        periods["asset"].map({a: k for k, a in enumerate(names)}).to_numpy(), kind="stable"
    )
    machine = periods["asset"].map({a: k for k, a in enumerate(names)}).to_numpy()[order]
    gs, ge = periods["start_us"].to_numpy()[order], periods["end_us"].to_numpy()[order]
    bp = np.unique(np.concatenate([gs, ge, [lo, hi]]))
    a, b = bp[:-1], bp[1:]
    mid = a + (b - a) // 2
    # dur[k, i]: length of machine k's active period covering piece i (0 when it waits);
    # gid[k, i]: that period's row in (gs, ge).
    dur = np.zeros((n, a.size), dtype=np.int64)
    gid = np.zeros((n, a.size), dtype=np.int64)
    for k in range(n):
        rows = np.flatnonzero(machine == k)
        if rows.size == 0:
            continue
        idx = np.searchsorted(gs[rows], mid, side="right") - 1
        inside = (idx >= 0) & (mid < ge[rows][np.maximum(idx, 0)])
        g = rows[idx[inside]]
        dur[k, inside], gid[k, inside] = ge[g] - gs[g], g
    who = np.argmax(dur, axis=0)  # ties: first machine in asset order
    busy = np.flatnonzero(dur.max(axis=0) > 0)
    length = (b - a).astype(np.float64)
    momentary = np.bincount(who[busy], length[busy], minlength=n)
    # Stints: runs of pieces held by the same active period without a gap.
    w, g, pa, pb = who[busy], gid[who[busy], busy], a[busy], b[busy]
    new = np.concatenate([[True], (g[1:] != g[:-1]) | (pa[1:] != pb[:-1])])
    first = np.flatnonzero(new)
    sw, sg, t0 = w[first], g[first], pa[first]
    t1 = np.append(pa[first[1:]], pb[-1])
    # Hand-overs: consecutive stints without a gap; the overlap of their periods shifts.
    j = np.flatnonzero(t0[1:] == t1[:-1]) + 1
    prev, cur = j - 1, j
    o0 = np.maximum(gs[sg[prev]], gs[sg[cur]])
    o1 = np.minimum(ge[sg[prev]], ge[sg[cur]])
    ov = np.maximum(o1 - o0, 0).astype(np.float64)
    shifting = np.bincount(sw[prev], ov, n) + np.bincount(sw[cur], ov, n)
    # The part of an overlap a machine held as momentary bottleneck is not sole time.
    held_prev = np.maximum(np.minimum(o1, t1[prev]) - np.maximum(o0, t0[prev]), 0) * (ov > 0)
    held_cur = np.maximum(np.minimum(o1, t1[cur]) - np.maximum(o0, t0[cur]), 0) * (ov > 0)
    sole = momentary - np.bincount(sw[prev], held_prev, n) - np.bincount(sw[cur], held_cur, n)
    total = float(hi - lo)
    return (list(momentary / total), list(np.maximum(sole, 0.0) / total), list(shifting / total))
