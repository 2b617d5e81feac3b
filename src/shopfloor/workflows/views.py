"""What the API and the dashboard show, cut to the sites a principal may see.

Every function takes ``sites``: the principal's sites, or None for a principal of every
site.  Site isolation is enforced here, once, for both adapters:

- data that names an asset (readings, events, production, alerts, inspections, schedules'
  machines, data-quality issues) is visible when the asset's site is;
- supply data names a location; a location belongs to the site of the asset registered
  under the same id (e.g. an ``area`` asset ``DC-NORTH``);
- data that belongs to no single site (supplier scorecards, models trained on the whole
  lake, ingest lineage) is visible only to a principal who sees every site of the lake.

Anything of a site the principal cannot see is answered as if it did not exist
(:class:`NotFoundError`), so that no route tells another site's names apart from typos.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import pandas as pd

from shopfloor.errors import InputError, NotFoundError
from shopfloor.lake import Lake
from shopfloor.workflows import maintenance, planning, production, reorder, supply
from shopfloor.workflows.spc import spc

Sites = frozenset[str] | None


@dataclass(frozen=True)
class SiteMap:
    """The asset registry's answer to 'which site is this on?'."""

    asset_site: dict[str, str]
    asset_line: dict[str, str]
    sites: frozenset[str]

    def assets(self, sites: Sites) -> set[str]:
        return {a for a, s in self.asset_site.items() if sites is None or s in sites}

    def sees(self, sites: Sites, asset: str) -> bool:
        site = self.asset_site.get(asset)
        return site is not None and (sites is None or site in sites)

    def sees_everything(self, sites: Sites) -> bool:
        return sites is None or self.sites <= sites


def site_map(lake: Lake) -> SiteMap:
    with lake.meta.connect() as con:
        rows = con.execute("SELECT asset, site, line FROM assets").fetchall()
    asset_site = {str(r[0]): str(r[1]) for r in rows if r[1] is not None}
    asset_line = {str(r[0]): str(r[2]) for r in rows if r[2] is not None}
    return SiteMap(asset_site, asset_line, frozenset(asset_site.values()))


def registry_stamp(lake: Lake) -> tuple[int | None, float | None]:
    """Changes whenever an ingest starts or finishes. Only ingests write the asset registry
    (SQLite, without versions), so this stands in for its version in caches."""
    with lake.meta.connect() as con:
        row = con.execute("SELECT max(id), max(finished_at) FROM ingests").fetchone()
    return (row[0], row[1])


def visible_sites(lake: Lake, sites: Sites) -> list[str]:
    known = site_map(lake).sites
    return sorted(known if sites is None else known & sites)


def _require_asset(lake: Lake, sites: Sites, asset: str) -> SiteMap:
    found = site_map(lake)
    if not found.sees(sites, asset):
        raise NotFoundError(f"no asset '{asset}'", field="asset")
    return found


def _require_everything(lake: Lake, sites: Sites, what: str) -> None:
    if not site_map(lake).sees_everything(sites):
        raise NotFoundError(f"{what} spans every site; ask an admin of every site")


# -- plant -------------------------------------------------------------------------------
def assets(lake: Lake, sites: Sites) -> pd.DataFrame:
    frame = lake.table("assets").to_pandas()
    visible = site_map(lake).assets(sites)
    out: pd.DataFrame = frame[frame["asset"].isin(visible)]
    return out.sort_values("asset").reset_index(drop=True)


def asset(lake: Lake, sites: Sites, name: str) -> dict[str, Any]:
    _require_asset(lake, sites, name)
    frame = lake.table("assets").to_pandas()
    row: dict[str, Any] = frame[frame["asset"] == name].iloc[0].to_dict()
    return row


def signals(lake: Lake, sites: Sites, name: str) -> pd.DataFrame:
    _require_asset(lake, sites, name)
    frame = lake.table("signals").to_pandas()
    out: pd.DataFrame = frame[frame["asset"] == name]
    return out.sort_values("signal").reset_index(drop=True)


MAX_POINTS = 200_000


def readings(
    lake: Lake,
    sites: Sites,
    name: str,
    signal: list[str] | None,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    every: str | None,
    agg: str = "mean",
) -> pd.DataFrame:
    """Readings of one asset; more than MAX_POINTS raw rows must be resampled."""
    _require_asset(lake, sites, name)
    if start is not None and end is not None and end <= start:
        raise InputError("must be after start", field="end")
    frame = lake.readings(name, signal, start, end, resample=every, agg=agg)
    assert isinstance(frame, pd.DataFrame)
    if len(frame) > MAX_POINTS:
        raise InputError(
            f"{len(frame):,} points is more than {MAX_POINTS:,}: narrow the range or resample "
            "(e.g. every=10min)",
            field="every",
        )
    return frame


# -- production --------------------------------------------------------------------------
def oee(
    lake: Lake, sites: Sites, by: production.Grouping, period: production.Period
) -> pd.DataFrame:
    visible = site_map(lake).assets(sites)
    if not visible:
        return pd.DataFrame()
    try:
        return production.oee(lake, by=by, period=period, assets=visible).frame
    except InputError as exc:
        if exc.field == "events":
            return pd.DataFrame()
        raise


def losses(lake: Lake, sites: Sites) -> pd.DataFrame:
    visible = site_map(lake).assets(sites)
    try:
        frame = production.downtime_pareto(lake, assets=visible)
    except InputError as exc:
        if exc.field == "events":
            return pd.DataFrame()
        raise
    return frame


# -- maintenance -------------------------------------------------------------------------
def alerts(
    lake: Lake, sites: Sites, state: str | None = None, name: str | None = None
) -> pd.DataFrame:
    if name is not None:
        _require_asset(lake, sites, name)
    frame = maintenance.alerts(lake, state=state, asset=name)
    visible = site_map(lake).assets(sites)
    return frame[frame["asset"].isin(visible)].reset_index(drop=True)


def set_alert_state(
    lake: Lake, sites: Sites, alert_id: str, state: str, note: str, user: str
) -> dict[str, Any]:
    current = maintenance.alerts(lake)
    match = current[current["alert_id"] == alert_id]
    if match.empty or not site_map(lake).sees(sites, str(match.iloc[0]["asset"])):
        raise NotFoundError(f"no alert '{alert_id}'", field="alert_id")
    said = f"{user}: {note}" if note else f"{user}: {state}"
    row = {str(k): v for k, v in maintenance.set_alert_state(lake, alert_id, state, said).items()}
    return row


@dataclass(frozen=True)
class Condition:
    """Health scores of every asset and the RUL outlook, from the production models."""

    scores: dict[str, pd.DataFrame]  # asset -> ts, score, threshold
    recommendations: pd.DataFrame
    model: str
    now: pd.Timestamp | None


def condition(lake: Lake) -> Condition:
    """Score the condition data without storing alerts (a read, not a change)."""
    scored = maintenance.score(lake, write=False)
    frames = {
        a: pd.DataFrame({"ts": r.index, "score": r.score, "threshold": r.threshold})
        for a, r in scored.scores.items()
    }
    try:
        outlook = maintenance.rul(lake, scores=scored.scores)
    except Exception:
        return Condition(
            frames, pd.DataFrame(), f"{scored.model.name}:{scored.model.version}", None
        )
    recs = pd.DataFrame([r.__dict__ for r in outlook.recommendations])
    return Condition(
        frames, recs, f"{outlook.model.name}:{outlook.model.version}", pd.Timestamp(outlook.now)
    )


def recommendations(found: Condition, lake: Lake, sites: Sites) -> pd.DataFrame:
    frame = found.recommendations
    if frame.empty:
        return frame
    visible = site_map(lake).assets(sites)
    return frame[frame["asset"].isin(visible)].reset_index(drop=True)


def health(found: Condition, lake: Lake, sites: Sites, name: str) -> pd.DataFrame:
    _require_asset(lake, sites, name)
    return found.scores.get(name, pd.DataFrame(columns=["ts", "score", "threshold"]))


def work_orders(lake: Lake, sites: Sites, name: str | None = None) -> pd.DataFrame:
    found = site_map(lake)
    if name is not None:
        _require_asset(lake, sites, name)
    frame = lake.table("work_orders").to_pandas()
    keep = {name} if name is not None else found.assets(sites)
    frame = frame[frame["asset"].isin(keep)].drop(columns=["ingest_id", "seq"], errors="ignore")
    out: pd.DataFrame = frame.sort_values("created", ascending=False)
    return out.reset_index(drop=True)


# -- planning ----------------------------------------------------------------------------
def schedules(lake: Lake, sites: Sites) -> pd.DataFrame:
    if lake.version("schedules") is None:
        return pd.DataFrame()
    visible = site_map(lake).assets(sites)
    frame = lake.sql(
        "SELECT schedule_id, any_value(parent_id) AS parent_id, any_value(created_at) AS "
        "created_at, any_value(objective) AS objective, any_value(status) AS status, "
        "any_value(reason) AS reason, list(DISTINCT machine) AS machines, count(*) AS "
        "operations FROM schedules GROUP BY schedule_id ORDER BY created_at DESC"
    )
    keep = frame["machines"].map(lambda ms: bool(set(ms) & visible))
    return frame[keep].drop(columns=["machines"]).reset_index(drop=True)


@dataclass(frozen=True)
class ScheduleView:
    schedule: planning.StoredSchedule
    operations: pd.DataFrame  # only the visible machines' operations
    moves: pd.DataFrame  # against the parent schedule: what moved on reschedule


def schedule(lake: Lake, sites: Sites, schedule_id: str | None) -> ScheduleView:
    try:
        stored = planning.load_schedule(lake, schedule_id)
    except InputError:
        raise NotFoundError(
            f"no schedule '{schedule_id or 'latest'}'", field="schedule_id"
        ) from None
    visible = site_map(lake).assets(sites)
    ops = stored.rows[stored.rows["machine"].isin(visible)].reset_index(drop=True)
    if ops.empty:
        raise NotFoundError(f"no schedule '{schedule_id or 'latest'}'", field="schedule_id")
    moves = pd.DataFrame()
    if stored.parent_id:
        parent = planning.load_schedule(lake, stored.parent_id).rows
        key = ["order", "op_seq"]
        joined = ops.merge(parent, on=key, how="outer", suffixes=("", "_before"), indicator=True)
        joined = joined[
            (joined["_merge"] != "both")
            | (joined["machine"] != joined["machine_before"])
            | (joined["start"] != joined["start_before"])
        ]
        joined = joined[joined["machine"].isin(visible) | joined["machine_before"].isin(visible)]
        moves = pd.DataFrame(
            {
                "order": joined["order"],
                "op_seq": joined["op_seq"],
                "change": joined["_merge"].map(
                    {"both": "moved", "left_only": "added", "right_only": "dropped"}
                ),
                "machine_before": joined["machine_before"],
                "machine": joined["machine"],
                "start_before": joined["start_before"],
                "start": joined["start"],
            }
        ).reset_index(drop=True)
    return ScheduleView(stored, ops, moves)


# -- supply ------------------------------------------------------------------------------
def _visible_locations(lake: Lake, sites: Sites, locations: Collection[str]) -> set[str]:
    # A location is registered as an asset (an area) of its site.
    found = site_map(lake)
    return {loc for loc in locations if found.sees(sites, loc)}


def forecasts(lake: Lake, sites: Sites, item: str | None = None) -> pd.DataFrame:
    """The latest stored forecast, item x location x period (q50..q95 for fan charts)."""
    if lake.version("forecasts") is None:
        return pd.DataFrame()
    frame = lake.sql(
        "SELECT * FROM forecasts WHERE forecast_id = (SELECT forecast_id FROM forecasts "
        "ORDER BY created_at DESC LIMIT 1) ORDER BY item, location, period_start"
    )
    keep = _visible_locations(lake, sites, set(frame["location"]))
    frame = frame[frame["location"].isin(keep)]
    if item is not None:
        frame = frame[frame["item"] == item]
    return frame.reset_index(drop=True)


def demand_history(lake: Lake, sites: Sites, item: str, location: str) -> pd.DataFrame:
    if not _visible_locations(lake, sites, {location}):
        raise NotFoundError(f"no location '{location}'", field="location")
    matrix = supply.demand_matrix(lake)
    pairs = list(zip(matrix.items, matrix.locations, strict=True))
    if (item, location) not in pairs:
        raise NotFoundError(f"no demand of '{item}' at '{location}'", field="item")
    row = pairs.index((item, location))
    return pd.DataFrame({"period_start": matrix.periods, "quantity": matrix.values[row]})


def reorders(lake: Lake, sites: Sites) -> pd.DataFrame:
    try:
        table = reorder.reorder_list(lake).table
    except InputError:
        return pd.DataFrame()
    keep = _visible_locations(lake, sites, set(table["location"]))
    return table[table["location"].isin(keep)].reset_index(drop=True)


def supplier_scorecards(lake: Lake, sites: Sites) -> pd.DataFrame:
    _require_everything(lake, sites, "supplier scorecards")
    try:
        return supply.supplier_scorecards(lake).table.reset_index()
    except InputError:
        return pd.DataFrame()


# -- quality -----------------------------------------------------------------------------
def spc_summary(lake: Lake, sites: Sites) -> tuple[pd.DataFrame, Any]:
    """Per series: the summary row; and the report, for the charts of visible series."""
    try:
        report = spc(lake)
    except InputError:
        return pd.DataFrame(), None
    summary = report.summary()
    visible = site_map(lake).assets(sites)
    return summary[summary["asset"].isin(visible)].reset_index(drop=True), report


def inspections(
    lake: Lake, sites: Sites, name: str | None = None, verdict: str | None = None, limit: int = 500
) -> pd.DataFrame:
    visible = site_map(lake).assets(sites)
    if name is not None:
        _require_asset(lake, sites, name)
        visible = {name}
    if lake.version("inspections") is None or not visible:
        return pd.DataFrame()
    marks = ", ".join("?" for _ in visible)
    where = f"asset IN ({marks})"
    params: list[Any] = sorted(visible)
    if verdict is not None:
        where += " AND verdict = ?"
        params.append(verdict)
    params.append(int(limit))
    return lake.sql(
        "SELECT * EXCLUDE (ingest_id, seq) FROM inspections "
        f"WHERE {where} ORDER BY ts DESC LIMIT ?",
        params,
    )


# -- data --------------------------------------------------------------------------------
def quality_report_stamp(lake: Lake) -> int | None:
    """When the stored data-quality report was written (ns; None without one). The report
    is a file, not a Delta table: this stands in for its version in caches."""
    from shopfloor.workflows.data_quality import report_path

    try:
        return report_path(lake, "readings").stat().st_mtime_ns
    except FileNotFoundError:
        return None


def quality_issues(lake: Lake, sites: Sites) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """The latest stored data-quality report's issues on visible assets, and its header."""
    from shopfloor.workflows.data_quality import latest_report

    stored = latest_report(lake)
    if stored is None:
        return pd.DataFrame(), None
    header, issues = stored
    visible = site_map(lake).assets(sites)
    frame = pd.DataFrame(issues)
    if not frame.empty:
        frame = frame[frame["asset"].isin(visible)].reset_index(drop=True)
    return frame, header


def lineage(lake: Lake, sites: Sites, limit: int = 200) -> pd.DataFrame:
    _require_everything(lake, sites, "ingest lineage")
    rows = [r.__dict__ for r in lake.meta.ingests(limit)]
    return pd.DataFrame(rows)


def models(lake: Lake, sites: Sites) -> list[dict[str, Any]]:
    _require_everything(lake, sites, "the model registry")
    found = maintenance.registry(lake).list()
    return [
        {
            "name": m.name,
            "version": m.version,
            "estimator": m.estimator,
            "stage": m.stage,
            "created_at": pd.Timestamp(m.created_at, unit="s", tz="UTC"),
            "metrics": json.loads(json.dumps(m.metrics, default=float)),
            "training_data": m.training_data,
            "notes": m.notes,
        }
        for m in found
    ]


def forecast_ids(lake: Lake) -> list[str]:
    if lake.version("forecasts") is None:
        return []
    frame = lake.sql("SELECT DISTINCT forecast_id FROM forecasts")
    return [str(f) for f in frame["forecast_id"]]


__all__ = [
    "Condition",
    "ScheduleView",
    "SiteMap",
    "Sites",
    "alerts",
    "asset",
    "assets",
    "condition",
    "demand_history",
    "forecast_ids",
    "forecasts",
    "health",
    "inspections",
    "lineage",
    "losses",
    "models",
    "oee",
    "readings",
    "recommendations",
    "reorders",
    "schedule",
    "schedules",
    "set_alert_state",
    "signals",
    "site_map",
    "spc_summary",
    "supplier_scorecards",
    "visible_sites",
    "work_orders",
]
