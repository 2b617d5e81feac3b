"""Maintenance on the lake: train condition monitors, score, store and manage alerts.

Training reads the per-signal bucket medians of every machine (DuckDB over the
readings, the repaired ``readings_clean`` when present), takes the hours after each
completed repair as known-healthy data (a repaired machine is as good as new; an asset
without a repair in its history learns from all its data and is reported as such),
fits one :class:`ConditionMonitor` per asset and registers the fleet with the Delta
versions it learned from.  Scoring turns scores into alert episodes (hysteresis) and
appends them, with their explanation, to the ``alerts`` table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from shopfloor.compute import Backend, Condition
from shopfloor.errors import InputError
from shopfloor.lake import Lake
from shopfloor.maintenance.alerting import alert_episodes
from shopfloor.maintenance.condition import ConditionMonitor, FleetConditionMonitor
from shopfloor.maintenance.decisions import MaintenanceRecommendation, recommend_maintenance
from shopfloor.maintenance.degradation import DegradationRul
from shopfloor.maintenance.grouped import (
    MEDIAN_SCHEMA,
    RUL_SCHEMA,
    SCORE_SCHEMA,
    bucket_medians,
    rul_asset,
    rul_from_table,
    score_asset,
    scores_from_table,
)
from shopfloor.maintenance.results import AnomalyScores, RulPrediction
from shopfloor.registry import ModelRegistry, ModelVersion
from shopfloor.schema import ALERT_STATES, TABLES
from shopfloor.workflows.compute import BackendChoice, lake_scan, using_backend

MODEL_NAME = "condition"
Progress = Callable[[str], None]


def registry(lake: Lake) -> ModelRegistry:
    return ModelRegistry.for_lake(lake.path)


def _readings_table(lake: Lake) -> str:
    return "readings_clean" if lake.version("readings_clean") is not None else "readings"


def condition_frame(
    lake: Lake,
    *,
    start: datetime | pd.Timestamp | None = None,
    end: datetime | pd.Timestamp | None = None,
    bucket: str | None = None,
    backend: BackendChoice = None,
) -> pd.DataFrame:
    """Per-asset bucket medians of every signal: index ts, columns asset + signals.

    Feature extraction runs per asset on ``backend`` (:func:`bucket_medians`); only the
    medians come back.  A reading stamped in the future is a clock fault (the DQ check
    flags it), not data.
    """
    table = _readings_table(lake)
    if lake.version(table) is None:
        raise InputError("the lake has no readings yet: ingest sensor data first", field="readings")
    width = pd.Timedelta(bucket or lake.settings.maintenance.bucket)
    micros = int(width.total_seconds() * 1_000_000)
    if micros <= 0:
        raise InputError(f"bucket '{bucket}' must be longer than zero", field="bucket")
    where = [Condition("value", "is_finite"), Condition("ts", "<=", pd.Timestamp.now(tz="UTC"))]
    if start is not None:
        where.append(Condition("ts", ">=", pd.Timestamp(start)))
    if end is not None:
        where.append(Condition("ts", "<", pd.Timestamp(end)))
    scan = lake_scan(lake, table, ("asset", "signal", "ts", "value"), where)
    if scan is None:  # pragma: no cover - the version was checked above
        raise InputError("the lake has no readings yet", field="readings")
    with using_backend(lake.settings, backend) as runner:
        long: pd.DataFrame = runner.map_groups(
            scan,
            partial(bucket_medians, width_us=micros),
            ["asset"],
            MEDIAN_SCHEMA,  # no order_by: a median does not depend on the rows' order
        ).to_pandas()
    if long.empty:
        return pd.DataFrame(columns=["asset"], index=pd.DatetimeIndex([], tz="UTC", name="ts"))
    wide = long.pivot_table(index=["asset", "ts"], columns="signal", values="value")
    wide.columns.name = None
    wide = wide.reset_index().sort_values(["asset", "ts"])
    wide["ts"] = pd.to_datetime(wide["ts"], utc=True)
    return wide.set_index("ts")


def score_fleet(
    lake: Lake, fleet: FleetConditionMonitor, frame: pd.DataFrame, backend: BackendChoice = None
) -> dict[str, AnomalyScores]:
    """``fleet.score(frame)``, one asset per task on ``backend``."""
    if frame.empty:
        return {}
    table = pa.Table.from_pandas(frame.reset_index(), preserve_index=False)
    with using_backend(lake.settings, backend) as runner:
        rows = runner.map_groups(
            table,
            partial(score_asset, monitors=fleet.monitors_),
            ["asset"],
            SCORE_SCHEMA,
            order_by=["ts"],
        )
    return scores_from_table(rows)


def repair_ends(lake: Lake) -> pd.DataFrame:
    """End of every completed corrective work order: after it the machine is as new."""
    if lake.version("work_orders") is None:
        return pd.DataFrame({"asset": [], "end": pd.Series([], dtype="datetime64[us, UTC]")})
    frame = lake.sql(
        "SELECT asset, \"end\" FROM work_orders WHERE kind = 'corrective' "
        'AND status = \'done\' AND "end" IS NOT NULL ORDER BY asset, "end"'
    )
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    return frame


def normal_rows(
    frame: pd.DataFrame, repairs: pd.DataFrame, window: pd.Timedelta, min_rows: int
) -> tuple[pd.Series, list[str]]:
    """Mask of rows within ``window`` after a repair; assets with too few fall back to all rows."""
    mask = pd.Series(False, index=range(len(frame)))
    stamps = pd.DatetimeIndex(frame.index).as_unit("us").asi8
    assets = frame["asset"].to_numpy()
    width = int(window.total_seconds() * 1_000_000)
    for repair in repairs.to_dict("records"):
        begin = pd.Timestamp(repair["end"]).value // 1000  # .value is always nanoseconds
        mask |= (assets == repair["asset"]) & (stamps >= begin) & (stamps < begin + width)
    fallback = []
    for asset in pd.unique(assets):
        mine = assets == asset
        if int(mask[mine].sum()) < min_rows:
            mask[mine] = True
            fallback.append(str(asset))
    return pd.Series(mask.to_numpy(), index=frame.index), fallback


@dataclass(frozen=True)
class TrainSummary:
    model: ModelVersion
    assets: tuple[str, ...]
    fallback_assets: tuple[str, ...]  # no repair in history: normal learned from all data
    normal_rows: int
    rows: int
    rul_model: ModelVersion | None  # None: no life in the history ended in a failure


def train(
    lake: Lake,
    *,
    until: datetime | pd.Timestamp | None = None,
    name: str = MODEL_NAME,
    promote: bool = True,
    progress: Progress | None = None,
    backend: BackendChoice = None,
) -> TrainSummary:
    """Fit one condition monitor per asset on its known-healthy data, then the RUL model.

    Both are registered; the RUL model learns from the new monitors' scores of the same
    data (read once), and is skipped when no machine life in it ended in a failure.
    Feature extraction and scoring run on ``backend``; fitting runs here.
    """
    with using_backend(lake.settings, backend) as runner:
        return _train(lake, until, name, promote, progress, runner)


def _train(
    lake: Lake,
    until: datetime | pd.Timestamp | None,
    name: str,
    promote: bool,
    progress: Progress | None,
    backend: Backend,
) -> TrainSummary:
    settings = lake.settings.maintenance
    if progress:
        progress("reading condition data")
    frame = condition_frame(lake, end=until, backend=backend)
    if frame.empty:
        raise InputError("no readings to learn from", field="readings")
    context = settings.context_signal
    if context not in frame.columns:
        raise InputError(
            f"no '{context}' signal to condition on (set maintenance.context_signal)",
            field="signal",
        )
    template = ConditionMonitor(
        context=context,
        false_alarm_rate=settings.false_alarm_rate,
        min_threshold=settings.min_threshold_sigma,
        min_rows=30,
    )
    repairs = repair_ends(lake)
    if until is not None:
        repairs = repairs[repairs["end"] < pd.Timestamp(until)]
    mask, fallback = normal_rows(
        frame, repairs, pd.Timedelta(hours=settings.normal_window_h), min_rows=60
    )
    if progress:
        progress(f"fitting {frame['asset'].nunique()} condition monitors")
    fleet = FleetConditionMonitor(template=template).fit(frame[mask.to_numpy()])
    training = {t: lake.version(t) for t in (_readings_table(lake), "work_orders")}
    thresholds = [m.threshold_ for m in fleet.monitors_.values()]
    version = registry(lake).register(
        name,
        fleet,
        metrics={
            "assets": float(len(fleet.monitors_)),
            "normal_rows": float(mask.sum()),
            "median_threshold": float(np.median(thresholds)),
        },
        training_data=training,
        notes=f"normal = {settings.normal_window_h:g} h after each repair; "
        f"fallback (all data): {', '.join(fallback) or 'none'}",
        stage="production" if promote else "candidate",
    )
    if progress:
        progress("fitting the RUL model")
    try:
        scores = score_fleet(lake, fleet, frame, backend)
        rul_version: ModelVersion | None = train_rul(lake, scores, promote=promote)
    except InputError:
        rul_version = None  # a history without failures teaches no failure level
    return TrainSummary(
        version,
        tuple(sorted(fleet.monitors_)),
        tuple(sorted(fallback)),
        int(mask.sum()),
        len(frame),
        rul_version,
    )


def _explain(
    scores: AnomalyScores, observed: pd.DataFrame, at: pd.Timestamp, units: dict[str, str]
) -> tuple[str, str]:
    """The alert's words and JSON detail; ``observed`` is aligned with ``scores.index``."""
    row = int(scores.index.get_indexer(pd.DatetimeIndex([at]))[0])
    parts = scores.explain(row, observed, top=3, units=units)
    parts = tuple(p for p in parts if np.isfinite(p.sigma))
    text = "; ".join(p.describe() for p in parts) + " for this speed" if parts else ""
    detail = json.dumps(
        [
            {"signal": p.signal, "value": p.value, "normal": p.expected, "sigma": p.sigma}
            | {"unit": p.unit}
            for p in parts
        ]
    )
    return text, detail


@dataclass(frozen=True)
class ScoreSummary:
    model: ModelVersion
    scores: dict[str, AnomalyScores]
    episodes: pd.DataFrame  # asset, start, end, peak, peak_at, severity, explanation, ...
    alerts_written: int


def score(
    lake: Lake,
    *,
    since: datetime | pd.Timestamp | None = None,
    until: datetime | pd.Timestamp | None = None,
    name: str = MODEL_NAME,
    version: int | None = None,
    write: bool = True,
    progress: Progress | None = None,
    backend: BackendChoice = None,
) -> ScoreSummary:
    """Score the condition data with a registered fleet; store new or changed alerts.

    Feature extraction and scoring run on ``backend``; alert episodes are cut here.
    """
    settings = lake.settings.maintenance
    models = registry(lake)
    record = models.get(name, version)
    fleet: FleetConditionMonitor = models.load(name, record.version)
    with using_backend(lake.settings, backend) as runner:
        if progress:
            progress("reading condition data")
        frame = condition_frame(lake, start=since, end=until, backend=runner)
        if progress:
            progress("scoring")
        scores = score_fleet(lake, fleet, frame, runner)
    units = _units(lake)
    episodes = []
    for asset, result in scores.items():
        found = alert_episodes(
            result.index,
            result.score,
            result.threshold,
            on=settings.alert_on,
            off=settings.alert_off,
        )
        if found.empty:
            continue
        monitor = fleet.monitors_[asset]
        observed = monitor.smoothed(frame[frame["asset"] == asset].drop(columns=["asset"]))
        observed = observed.reindex(result.index)  # once per asset, not per episode
        for episode in found.to_dict("records"):
            peak = float(episode["peak"])
            text, detail = _explain(
                result, observed, pd.Timestamp(episode["peak_at"]), units.get(asset, {})
            )
            episodes.append(
                {
                    "alert_id": f"{asset}@{pd.Timestamp(episode['start']):%Y%m%dT%H%M}",
                    "asset": asset,
                    "start": episode["start"],
                    "end": episode["end"],
                    "peak": peak,
                    "severity": "critical" if peak >= 3 * result.threshold else "warning",
                    "threshold": result.threshold,
                    "explanation": text,
                    "signals": detail,
                }
            )
    found_frame = pd.DataFrame(
        episodes,
        columns=[
            "alert_id", "asset", "start", "end", "peak", "severity", "threshold",
            "explanation", "signals",
        ],
    )  # fmt: skip
    written = _store_alerts(lake, found_frame, record) if write else 0
    return ScoreSummary(record, scores, found_frame, written)


def _units(lake: Lake) -> dict[str, dict[str, str]]:
    signals = lake.table("signals").to_pandas()
    out: dict[str, dict[str, str]] = {}
    for row in signals.itertuples(index=False):
        out.setdefault(str(row.asset), {})[str(row.signal)] = str(row.unit or "")
    return out


def alerts(lake: Lake, state: str | None = None, asset: str | None = None) -> pd.DataFrame:
    """Current alerts: the latest row of every alert_id, newest first."""
    if state is not None and state not in ALERT_STATES:
        raise InputError(f"state must be one of {', '.join(ALERT_STATES)}", field="state")
    if lake.version("alerts") is None:
        empty: pd.DataFrame = TABLES["alerts"].schema.empty_table().to_pandas()
        return empty
    where, params = [], []
    if state is not None:
        where.append("state = ?")
        params.append(state)
    if asset is not None:
        where.append("asset = ?")
        params.append(asset)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    frame: pd.DataFrame = lake.sql(
        "SELECT * FROM (SELECT * FROM alerts QUALIFY row_number() OVER "
        f"(PARTITION BY alert_id ORDER BY updated_at DESC) = 1) {clause} "
        "ORDER BY start DESC, asset",
        params,
    )
    return frame


def _append(lake: Lake, rows: pd.DataFrame) -> int:
    schema = TABLES["alerts"].schema
    table = pa.Table.from_pandas(rows[schema.names], schema=schema, preserve_index=False)
    lake.write("alerts", table, operation="alerts")
    return len(rows)


def _same_time(a: Any, b: Any) -> bool:
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b))
    return bool(pd.Timestamp(a) == pd.Timestamp(b))


def _store_alerts(lake: Lake, found: pd.DataFrame, model: ModelVersion) -> int:
    """Append episodes that are new, or whose end changed; a user's state is kept."""
    if found.empty:
        return 0
    current = alerts(lake)
    now = pd.Timestamp.now(tz="UTC")
    rows = []
    known = {
        str(r["alert_id"]): (r["end"], str(r["state"]))
        for r in current.reset_index().to_dict("records")
    }
    for episode in found.to_dict("records"):
        state = "open"
        if episode["alert_id"] in known:
            end_before, state = known[str(episode["alert_id"])]
            if _same_time(end_before, episode["end"]):
                continue
        rows.append(
            {
                "alert_id": episode["alert_id"],
                "asset": episode["asset"],
                "start": episode["start"],
                "end": episode["end"],
                "severity": episode["severity"],
                "score": episode["peak"],
                "threshold": episode["threshold"],
                "explanation": episode["explanation"],
                "signals": episode["signals"],
                "model": model.name,
                "model_version": model.version,
                "state": state,
                "updated_at": now,
                "note": "raised by the model" if state == "open" else "extent updated",
            }
        )
    if not rows:
        return 0
    return _append(lake, pd.DataFrame(rows))


def set_alert_state(lake: Lake, alert_id: str, state: str, note: str = "") -> pd.Series:
    """Acknowledge or close an alert (appends a row; the history stays)."""
    if state not in ALERT_STATES:
        raise InputError(f"state must be one of {', '.join(ALERT_STATES)}", field="state")
    current = alerts(lake)
    match = current[current["alert_id"] == alert_id]
    if match.empty:
        raise InputError(f"no alert '{alert_id}'", field="alert_id")
    row = match.iloc[0].copy()
    row["state"] = state
    row["note"] = note or f"set to {state}"
    row["updated_at"] = pd.Timestamp.now(tz="UTC")
    _append(lake, pd.DataFrame([row]))
    return row


RUL_MODEL_NAME = "rul"


def _to_hours(stamps: pd.Series) -> np.ndarray:
    """Hours since the epoch, whatever the datetime resolution of the column."""
    since = pd.to_datetime(stamps, utc=True) - pd.Timestamp(0, tz="UTC")
    return np.asarray(since / pd.Timedelta(hours=1), dtype=np.float64)


def _hours(frame: pd.DataFrame, asset: str) -> np.ndarray:
    """Sorted event times of one asset in hours, ending with +inf (searchsorted's sentinel)."""
    hours = np.sort(_to_hours(frame.loc[frame["asset"] == asset, "ts"]))
    return np.append(hours, np.inf)


def health_history(lake: Lake, scores: dict[str, AnomalyScores]) -> pd.DataFrame:
    """Hourly health scores per asset with each row's time to the next failure.

    The target is censored (``nan``) when any work order was completed before the next
    failure (maintenance renews the part, so that life ended without failing) or when no
    failure follows in the data.
    """
    frames = []
    for asset, result in scores.items():
        frames.append(
            pd.DataFrame(
                {"asset": asset, "ts": pd.DatetimeIndex(result.index), "score": result.score}
            )
        )
    if not frames:
        raise InputError("no health scores to learn from", field="readings")
    history = pd.concat(frames, ignore_index=True)
    history["time"] = _to_hours(history["ts"])
    failures = lake.sql("SELECT asset, start AS ts FROM events WHERE kind = 'failure'")
    renewals = (
        lake.sql(
            "SELECT asset, \"end\" AS ts FROM work_orders WHERE status = 'done' "
            'AND "end" IS NOT NULL'
        )
        if lake.version("work_orders") is not None
        else pd.DataFrame({"asset": [], "ts": []})
    )
    history["rul"] = np.nan
    history["life"] = 0
    for key, rows in history.groupby("asset"):
        stamps = rows["time"].to_numpy()
        fail = _hours(failures, str(key))
        renew = _hours(renewals, str(key))
        fail_at = fail[np.searchsorted(fail, stamps, side="left")]
        renew_at = renew[np.searchsorted(renew, stamps, side="left")]
        target = np.where(np.isfinite(fail_at) & (fail_at <= renew_at), fail_at - stamps, np.nan)
        history.loc[rows.index, "rul"] = target
        history.loc[rows.index, "life"] = np.searchsorted(renew[:-1], stamps, side="right")
    history["unit"] = history["asset"] + "#" + history["life"].astype(str)
    return history


@dataclass(frozen=True)
class RulOutlook:
    model: ModelVersion
    prediction: RulPrediction
    recommendations: tuple[MaintenanceRecommendation, ...]
    now: pd.Timestamp


def train_rul(lake: Lake, scores: dict[str, AnomalyScores], promote: bool = True) -> ModelVersion:
    history = health_history(lake, scores)
    model = DegradationRul(unit="unit", time="time", score="score").fit(
        history, history["rul"].to_numpy()
    )
    return registry(lake).register(
        RUL_MODEL_NAME,
        model,
        metrics={
            "failure_level": model.failure_level_,
            "calibration_rows": float(model.calibration_rows_),
        },
        training_data={t: lake.version(t) for t in ("events", "work_orders")},
        notes="health-score trend extrapolated to the fleet's failure level",
        stage="production" if promote else "candidate",
    )


def rul(
    lake: Lake,
    *,
    scores: dict[str, AnomalyScores] | None = None,
    backend: BackendChoice = None,
) -> RulOutlook:
    """RUL of every asset's current life and the maintenance each one needs.

    Without ``scores``, features and scores are computed on ``backend`` first; the RUL
    of each asset's current life is scored there too.
    """
    settings = lake.settings.maintenance
    models = registry(lake)
    record = models.get(RUL_MODEL_NAME)
    model: DegradationRul = models.load(RUL_MODEL_NAME, record.version)
    with using_backend(lake.settings, backend) as runner:
        if scores is None:
            fleet: FleetConditionMonitor = models.load(MODEL_NAME)
            scores = score_fleet(lake, fleet, condition_frame(lake, backend=runner), runner)
        history = health_history(lake, scores)
        current = history[history["life"] == history.groupby("asset")["life"].transform("max")]
        rows = runner.map_groups(
            pa.Table.from_pandas(current[["asset", "unit", "time", "score"]], preserve_index=False),
            partial(rul_asset, model=model),
            ["asset"],
            RUL_SCHEMA,
            order_by=["time"],
        )
    prediction = rul_from_table(rows, model.level)
    now = pd.Timestamp(history["ts"].max())
    recommendations = recommend_maintenance(
        prediction,
        now,
        lead_time_hours=settings.lead_time_h,
        cost_failure=settings.cost_failure,
        cost_planned=settings.cost_planned,
    )
    return RulOutlook(record, prediction, tuple(recommendations), now)
