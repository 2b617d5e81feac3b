"""SPC and capability on the lake's inspections: one chart per asset, product and characteristic.

Measurements come from the ``inspections`` table (rows with a ``value``), in time order,
one series per (asset, product, characteristic): a characteristic's nominal differs by
product, so pooling products would chart the product mix, not the process.

Charting follows the two phases of Montgomery (ch. 6-7):

- **phase I** takes the first ``baseline`` points of a series (subgroups for X̄-R /
  X̄-S, individuals for I-MR), or those before ``baseline_until``; it estimates the mean
  and sigma, drops the out-of-control points and re-estimates, so that a disturbed
  baseline does not widen the limits;
- **phase II** applies those fixed limits to every later point.

The run rules (Western Electric or Nelson) run over the location chart of both phases
with the phase I center and sigma; points beyond the spread chart's limits are
reported too (rule ``spread``).  Subgroups are consecutive measurements of a series
(rational subgroups by time); a trailing incomplete subgroup is left out and said so
in ``SpcSeries.dropped``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.quality import (
    Capability,
    RuleReport,
    VariablesChart,
    capability,
    individuals_chart,
    nelson,
    western_electric,
    xbar_r_chart,
    xbar_s_chart,
)
from shopfloor.workflows.planning_problem import utc

__all__ = [
    "CapabilityRow",
    "CapabilityStudy",
    "RuleSet",
    "SpcReport",
    "SpcSeries",
    "capability_study",
    "measurements",
    "spc",
]

RuleSet = Literal["western_electric", "nelson"]
GROUP = ("asset", "product", "characteristic")
# Montgomery recommends 20-25 subgroups for trial limits.
DEFAULT_BASELINE = 25
# Rule names as quality engineers write them: WE1-WE4, N1-N8.
_RULE_PREFIX = {"western_electric": "WE", "nelson": "N"}
# X̄-R up to this subgroup size, X̄-S above (the range wastes information in large groups).
_RANGE_UP_TO = 10


def measurements(
    lake: Lake,
    *,
    asset: str | None = None,
    product: str | None = None,
    characteristic: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
) -> pd.DataFrame:
    """Measured inspections (rows with a finite value) in time order, with their limits."""
    where = ["value IS NOT NULL", "isfinite(value)"]
    params: list[object] = []
    for column, wanted in (("asset", asset), ("product", product)):
        if wanted is not None:
            where.append(f"{column} = ?")
            params.append(wanted)
    if characteristic is not None:
        where.append("characteristic = ?")
        params.append(characteristic)
    if since is not None:
        where.append("ts >= ?")
        params.append(utc(since, "since"))
    if until is not None:
        where.append("ts < ?")
        params.append(utc(until, "until"))
    query = (
        "SELECT coalesce(asset, '') AS asset, coalesce(product, '') AS product, "
        "characteristic, ts, value, lsl, usl FROM inspections "
        f"WHERE {' AND '.join(where)} ORDER BY asset, product, characteristic, ts"
    )
    frame = lake.sql(query, params)
    if frame.empty:
        what = ", ".join(
            f"{k}={v}"
            for k, v in (("asset", asset), ("product", product), ("characteristic", characteristic))
            if v is not None
        )
        raise InputError(
            "no measured inspections in the lake"
            + (f" for {what}" if what else "")
            + ": ingest measurements into 'inspections' (value, lsl, usl)",
            field="inspections",
        )
    return frame


@dataclass(frozen=True)
class SpcSeries:
    """The charts of one series: phase I limits, phase II points, rule hits."""

    asset: str
    product: str
    characteristic: str
    chart: str  # "I-MR", "Xbar-R" or "Xbar-S"
    subgroup_size: int
    ts: npt.NDArray[np.datetime64]  # time of each point (a subgroup's last measurement)
    baseline: int  # points in phase I
    phase_one: VariablesChart  # limits and the phase I points
    charted: VariablesChart  # every point against the phase I limits
    rules: RuleReport
    lsl: float | None
    usl: float | None
    dropped: int  # measurements left out of an incomplete last subgroup

    @property
    def points(self) -> int:
        return int(self.charted.location.statistic.size)

    def violations(self) -> pd.DataFrame:
        """One row per (point, rule) that fired, phase and value included."""
        rows: list[tuple[object, ...]] = []
        location = self.charted.location
        for hit in self.rules.hits:
            for i in hit.indices:
                rows.append(
                    (int(i), f"{_RULE_PREFIX[self.rules.rule_set]}{hit.rule}", hit.description)
                )
        spread = self.charted.spread
        offset = location.statistic.size - spread.statistic.size  # MR has one point fewer
        for i in spread.violations:
            rows.append((int(i) + offset, "spread", f"{spread.name} beyond its limits"))
        frame = pd.DataFrame(rows, columns=["point", "rule", "description"])
        at = self.ts[frame["point"].to_numpy(dtype=np.int64)]
        frame["ts"] = pd.DatetimeIndex(at).tz_localize("UTC")  # the lake's times are UTC
        frame["value"] = location.statistic[frame["point"].to_numpy(dtype=np.int64)]
        frame["phase"] = np.where(frame["point"] < self.baseline, "I", "II")
        for key in GROUP:
            frame[key] = getattr(self, key)
        frame["chart"] = self.chart
        columns = [*GROUP, "chart", "ts", "point", "phase", "rule", "description", "value"]
        return frame[columns].sort_values(["ts", "rule"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class SpcReport:
    rule_set: RuleSet
    series: tuple[SpcSeries, ...]

    def violations(self) -> pd.DataFrame:
        frames = [s.violations() for s in self.series]
        frames = [f for f in frames if not f.empty]
        if not frames:
            return _empty_violations()
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """One row per series: limits, points per phase, alarms in phase II, the first one."""
        rows = []
        for s in self.series:
            v = s.violations()
            later = v[v["phase"] == "II"]
            rows.append(
                {
                    "asset": s.asset,
                    "product": s.product,
                    "characteristic": s.characteristic,
                    "chart": s.chart,
                    "points": s.points,
                    "baseline": s.baseline,
                    "mean": s.phase_one.mean,
                    "sigma": s.phase_one.sigma,
                    "lcl": float(s.phase_one.location.lower[0]),
                    "ucl": float(s.phase_one.location.upper[0]),
                    "excluded_in_phase_one": int(s.phase_one.excluded.size),
                    "alarms_phase_two": int(later["point"].nunique()),
                    "first_alarm": later["ts"].min() if not later.empty else pd.NaT,
                }
            )
        return pd.DataFrame(rows)


def _empty_violations() -> pd.DataFrame:
    columns = [*GROUP, "chart", "ts", "point", "phase", "rule", "description", "value"]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _check_subgroup_size(n: int) -> None:
    if not 1 <= n <= 25:
        raise InputError(f"must be 1 (individuals) to 25, got {n}", field="subgroup_size")


def _utc_naive(column: pd.Series) -> npt.NDArray[np.datetime64]:
    """Times as naive UTC datetime64 (numpy has no time zones; the lake stores UTC)."""
    stamps = pd.DatetimeIndex(column)
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[us]")


def _chart(
    values: npt.NDArray[np.float64],
    n: int,
    mean: float | None = None,
    sigma: float | None = None,
    phase_one: bool = False,
) -> VariablesChart:
    """I-MR for n = 1, X̄-R up to ``_RANGE_UP_TO``, X̄-S above; phase I drops outliers."""
    if n == 1:
        return individuals_chart(values, mean=mean, sigma=sigma, remove_out_of_control=phase_one)
    chart = xbar_r_chart if n <= _RANGE_UP_TO else xbar_s_chart
    return chart(values.reshape(-1, n), mean=mean, sigma=sigma, remove_out_of_control=phase_one)


def _limits(frame: pd.DataFrame, key: tuple[str, ...]) -> tuple[float | None, float | None]:
    """The series' specification limits: its latest row's (limits may be revised)."""
    last = frame.iloc[-1]
    lsl = None if pd.isna(last["lsl"]) else float(last["lsl"])
    usl = None if pd.isna(last["usl"]) else float(last["usl"])
    if lsl is not None and usl is not None and lsl >= usl:
        raise InputError(f"{'/'.join(key)}: lsl {lsl} is not below usl {usl}", field="lsl")
    return lsl, usl


def _series(
    frame: pd.DataFrame,
    key: tuple[str, ...],
    n: int,
    baseline: int,
    baseline_until: pd.Timestamp | None,
    rule_set: RuleSet,
) -> SpcSeries | None:
    values = frame["value"].to_numpy(dtype=np.float64)
    ts = _utc_naive(frame["ts"])
    usable = values.size - values.size % n
    points = usable // n
    if baseline_until is not None:
        limit = baseline_until.tz_convert("UTC").tz_localize(None).to_datetime64()
        before = int(np.searchsorted(ts, limit, side="left"))
        baseline = before // n
    minimum = 3 if n == 1 else 2
    if points < minimum or min(baseline, points) < minimum:
        return None  # too short to chart; the caller reports what it skipped
    baseline = min(baseline, points)
    values, ts = values[:usable], ts[:usable]
    phase_one = _chart(values[: baseline * n], n, phase_one=True)
    charted = _chart(values, n, mean=phase_one.mean, sigma=phase_one.sigma)
    location = charted.location
    rules = (western_electric if rule_set == "western_electric" else nelson)(
        location.statistic, location.center, location.sigma
    )
    lsl, usl = _limits(frame, key)
    name = "I-MR" if n == 1 else ("Xbar-R" if n <= _RANGE_UP_TO else "Xbar-S")
    return SpcSeries(
        asset=key[0],
        product=key[1],
        characteristic=key[2],
        chart=name,
        subgroup_size=n,
        ts=ts[n - 1 :: n] if n > 1 else ts,
        baseline=baseline,
        phase_one=phase_one,
        charted=charted,
        rules=rules,
        lsl=lsl,
        usl=usl,
        dropped=int(frame.shape[0] - usable),
    )


def spc(
    lake: Lake,
    *,
    subgroup_size: int = 5,
    baseline: int = DEFAULT_BASELINE,
    baseline_until: datetime | str | None = None,
    rule_set: RuleSet = "western_electric",
    asset: str | None = None,
    product: str | None = None,
    characteristic: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
) -> SpcReport:
    """Control charts and rule violations of every measured series (module docstring)."""
    _check_subgroup_size(subgroup_size)
    if baseline < 2:
        raise InputError(f"needs at least 2 points, got {baseline}", field="baseline")
    if rule_set not in ("western_electric", "nelson"):
        raise InputError(f"must be western_electric or nelson, not {rule_set!r}", field="rule_set")
    until_ts = None if baseline_until is None else pd.Timestamp(utc(baseline_until, "until"))
    frame = measurements(
        lake,
        asset=asset,
        product=product,
        characteristic=characteristic,
        since=since,
        until=until,
    )
    series = []
    for key, group in frame.groupby(list(GROUP), sort=True):
        one = _series(
            group, tuple(str(k) for k in key), subgroup_size, baseline, until_ts, rule_set
        )
        if one is not None:
            series.append(one)
    if not series:
        raise InputError(
            f"no series has enough measurements for a {subgroup_size}-point subgroup chart "
            f"with a baseline of {baseline} points",
            field="inspections",
        )
    return SpcReport(rule_set, tuple(series))


@dataclass(frozen=True)
class CapabilityRow:
    asset: str
    product: str
    characteristic: str
    lsl: float | None
    usl: float | None
    observed_out_of_spec: float  # share of measurements outside the limits
    result: Capability


@dataclass(frozen=True)
class CapabilityStudy:
    rows: tuple[CapabilityRow, ...]
    skipped: tuple[str, ...]  # series without limits or variation, with the reason

    def frame(self) -> pd.DataFrame:
        def interval(value: object, part: str) -> float:
            return float("nan") if value is None else float(getattr(value, part))

        records = []
        for row in self.rows:
            c = row.result
            record: dict[str, object] = {
                "asset": row.asset,
                "product": row.product,
                "characteristic": row.characteristic,
                "n": c.n,
                "mean": c.mean,
                "lsl": row.lsl,
                "usl": row.usl,
                "sigma_within": c.sigma_within,
                "sigma_overall": c.sigma_overall,
                "out_of_spec": row.observed_out_of_spec,
            }
            for name in ("cp", "cpk", "pp", "ppk"):
                value = getattr(c, name)
                record[name] = interval(value, "estimate")
                record[f"{name}_lower"] = interval(value, "lower")
                record[f"{name}_upper"] = interval(value, "upper")
            records.append(record)
        return pd.DataFrame(records)


def capability_study(
    lake: Lake,
    *,
    subgroup_size: int = 5,
    confidence: float = 0.95,
    asset: str | None = None,
    product: str | None = None,
    characteristic: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
) -> CapabilityStudy:
    """Cp, Cpk, Pp, Ppk with confidence intervals per series, against its latest limits.

    The within sigma comes from R̄/d2 of consecutive subgroups of ``subgroup_size``
    (MR̄/1.128 when it is 1); the overall sigma is the sample standard deviation.
    Capability presumes a stable process: read it beside the SPC chart of the same window.
    """
    _check_subgroup_size(subgroup_size)
    frame = measurements(
        lake,
        asset=asset,
        product=product,
        characteristic=characteristic,
        since=since,
        until=until,
    )
    rows, skipped = [], []
    for key, group in frame.groupby(list(GROUP), sort=True):
        name = "/".join(str(k) for k in key)
        lsl, usl = _limits(group, tuple(str(k) for k in key))
        values = group["value"].to_numpy(dtype=np.float64)
        if lsl is None and usl is None:
            skipped.append(f"{name}: no specification limits")
            continue
        usable = values.size - values.size % subgroup_size
        data = values if subgroup_size == 1 else values[:usable].reshape(-1, subgroup_size)
        try:
            result = capability(data, lsl=lsl, usl=usl, confidence=confidence)
        except InputError as exc:
            skipped.append(f"{name}: {exc}")
            continue
        low = values < lsl if lsl is not None else np.zeros(values.size, dtype=bool)
        high = values > usl if usl is not None else np.zeros(values.size, dtype=bool)
        out = float(np.mean(low | high))
        a, p, c = (str(k) for k in key)
        rows.append(CapabilityRow(a, p, c, lsl, usl, out, result))
    return CapabilityStudy(tuple(rows), tuple(skipped))
