"""The closed learning loop: watch the condition models for drift, propose challengers,
promote one only when it beats its champion on data neither has seen.

* :func:`monitor_drift` compares, per asset of a registered fleet, the recent window
  (``maintenance.drift.window_h``, a day by default) with the model's reference: the
  data it was trained on, read back at the Delta version the registry recorded (the
  last ``reference_days`` of it, or the exact window of a challenger trained here).
  Features are the signals as the model reads them (deviations from its speed-band
  normal); the verdicts and measures are :mod:`shopfloor.maintenance.drift`'s.  An
  asset drifted when a process input drifted, when operators judged too few of its
  alerts true, or when it alarms in the days after a repair, when it should be quiet.
* :func:`propose_retraining` refits the drifted assets' monitors on recent data (the
  ``retrain_h`` hours before a held-out window of ``holdout_h`` hours that ends at the
  latest data; the other assets keep their monitors), registers the fleet as a
  ``candidate`` and scores champion and challenger on the held-out window.
* :func:`promote_if_better` promotes the candidate only when its held-out score beats
  the champion's by ``promote_margin``; either way the registry's notes say why.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

import numpy as np
import pandas as pd

from shopfloor.compute import Backend, Condition
from shopfloor.errors import InputError, ModelError
from shopfloor.lake import Lake
from shopfloor.maintenance.condition import ConditionMonitor, FleetConditionMonitor
from shopfloor.maintenance.drift import (
    DriftThresholds,
    FeatureDrift,
    NormalAlarms,
    Precision,
    deviations,
    feature_drift,
    holdout_nll,
    normal_alarms,
)
from shopfloor.maintenance.grouped import MEDIAN_SCHEMA, bucket_medians
from shopfloor.registry import ModelVersion
from shopfloor.workflows import feedback
from shopfloor.workflows.compute import BackendChoice, lake_scan, using_backend
from shopfloor.workflows.maintenance import (
    MODEL_NAME,
    normal_rows,
    registry,
    repair_ends,
)

Progress = Callable[[str], None]
Stamp = datetime | pd.Timestamp
METRIC = "held-out NLL: mean Gaussian negative log-likelihood per signal and bucket (nats)"
# Machine-readable parts of a challenger's registry notes (ISO times have no spaces).
_PARENT = re.compile(r"challenger of v(\d+)")
_RETRAINED = re.compile(r"retrained=([^;\s]+)")
_WINDOW = re.compile(r"window=([^;\s/]+)/([^;\s/]+)")


def _utc(value: object) -> pd.Timestamp:
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]  # a time, as text or a stamp
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _readings_table(lake: Lake) -> str:
    return "readings_clean" if lake.version("readings_clean") is not None else "readings"


def _bucket(lake: Lake) -> pd.Timedelta:
    return pd.Timedelta(lake.settings.maintenance.bucket)


def condition_data(
    lake: Lake,
    table: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    runner: Backend,
    version: int | None = None,
) -> pd.DataFrame:
    """Bucket medians of every asset's signals over [start, end) of a snapshot of ``table``.

    :func:`shopfloor.workflows.maintenance.condition_frame` at a Delta version: the
    reference of a model is the data it learned from, read back as it was.
    """
    micros = int(_bucket(lake).total_seconds() * 1_000_000)
    where = [
        Condition("value", "is_finite"),
        Condition("ts", ">=", start),
        Condition("ts", "<", min(end, pd.Timestamp.now(tz="UTC"))),
    ]
    scan = lake_scan(lake, table, ("asset", "signal", "ts", "value"), where, version=version)
    empty = pd.DataFrame(columns=["asset"], index=pd.DatetimeIndex([], tz="UTC", name="ts"))
    if scan is None:
        return empty
    long = runner.map_groups(
        scan, partial(bucket_medians, width_us=micros), ["asset"], MEDIAN_SCHEMA
    ).to_pandas()
    if long.empty:
        return empty
    wide = long.pivot_table(index=["asset", "ts"], columns="signal", values="value")
    wide.columns.name = None
    wide = wide.reset_index().sort_values(["asset", "ts"])
    wide["ts"] = pd.to_datetime(wide["ts"], utc=True)
    out: pd.DataFrame = wide.set_index("ts")
    return out


def _asset_rows(frame: pd.DataFrame, asset: str, monitor: ConditionMonitor) -> pd.DataFrame:
    """One asset's rows with exactly the columns its monitor reads (missing ones empty)."""
    columns = [monitor.context, *monitor.signals_]
    if frame.empty or "asset" not in frame.columns:
        return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], tz="UTC"), dtype=float)
    return frame.loc[frame["asset"] == asset].reindex(columns=columns)


def latest_data(lake: Lake) -> pd.Timestamp:
    """End of the bucket of the latest reading (the end of the data, in the data's time)."""
    table = _readings_table(lake)
    if lake.version(table) is None:
        raise InputError("the lake has no readings yet: ingest sensor data first", field="readings")
    found = lake.sql(f"SELECT max(ts) AS ts FROM {table} WHERE ts <= now()")
    if found.empty or pd.isna(found["ts"].iloc[0]):
        raise InputError("the lake has no readings yet", field="readings")
    return _utc(found["ts"].iloc[0]).floor(_bucket(lake)) + _bucket(lake)


# -- the models and what they learned from ------------------------------------------------
def _fleet(
    lake: Lake, name: str, version: int | None = None
) -> tuple[ModelVersion, FleetConditionMonitor]:
    models = registry(lake)
    record = models.get(name, version)
    fleet = models.load(name, record.version)
    if not isinstance(fleet, FleetConditionMonitor):
        raise InputError(
            f"model '{name}' is a {record.estimator.rsplit(':', 1)[-1]}, not a condition "
            "monitor fleet: drift is watched on condition models",
            field="model",
        )
    return record, fleet


def condition_models(lake: Lake) -> list[str]:
    """Names in the registry whose current version is a condition monitor fleet."""
    names = sorted({v.name for v in registry(lake).list()})
    return [n for n in names if registry(lake).get(n).estimator.endswith(":FleetConditionMonitor")]


@dataclass(frozen=True)
class TrainingWindow:
    """Where a monitor's training data lies: a table at a Delta version, [start, end)."""

    table: str
    version: int | None
    start: pd.Timestamp
    end: pd.Timestamp
    exact: bool  # True: the window a challenger was trained on; False: the snapshot's tail


def training_window(
    lake: Lake,
    record: ModelVersion,
    asset: str | None = None,
    _seen: dict[int, TrainingWindow] | None = None,
) -> TrainingWindow:
    """The reference of ``record`` (for ``asset``: a challenger's untouched assets keep
    their parent version's reference)."""
    retrained = _RETRAINED.search(record.notes)
    parent = _PARENT.search(record.notes)
    if asset is not None and retrained and parent and asset not in retrained.group(1).split(","):
        older = registry(lake).get(record.name, int(parent.group(1)))
        return training_window(lake, older, asset, _seen)
    if _seen is not None and record.version in _seen:
        return _seen[record.version]
    window = _own_window(lake, record)
    if _seen is not None:
        _seen[record.version] = window
    return window


def _own_window(lake: Lake, record: ModelVersion) -> TrainingWindow:
    tables = [t for t in ("readings_clean", "readings") if t in record.training_data]
    if not tables:
        raise ModelError(f"{record.name} v{record.version} records no readings it learned from")
    table, version = tables[0], record.training_data[tables[0]]
    window = _WINDOW.search(record.notes)
    if window:
        return TrainingWindow(
            table, version, _utc(window.group(1)), _utc(window.group(2)), exact=True
        )
    con = lake.connect({table: version} if version is not None else None)
    try:
        found = con.execute(f"SELECT max(ts) FROM {table} WHERE ts <= now()").fetchone()
    finally:
        con.close()
    if found is None or found[0] is None:
        raise ModelError(f"{record.name} v{record.version}: its training data is empty")
    end = _utc(found[0]).floor(_bucket(lake)) + _bucket(lake)
    days = pd.Timedelta(days=lake.settings.maintenance.drift.reference_days)
    return TrainingWindow(table, version, end - days, end, exact=False)


# -- drift --------------------------------------------------------------------------------
@dataclass(frozen=True)
class AssetDrift:
    asset: str
    features: tuple[FeatureDrift, ...]
    precision: Precision  # verdicts on this model version's alerts of the asset
    normal_alarms: NormalAlarms  # hours just after repairs in the recent window
    reasons: tuple[str, ...]  # why it counts as drifted; empty: it does not
    reference: TrainingWindow

    @property
    def drifted(self) -> bool:
        return bool(self.reasons)


@dataclass(frozen=True)
class DriftReport:
    model: ModelVersion
    recent_start: pd.Timestamp
    recent_end: pd.Timestamp
    assets: tuple[AssetDrift, ...]
    precision: Precision  # the whole model version's
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)

    @property
    def drifted_assets(self) -> tuple[str, ...]:
        return tuple(a.asset for a in self.assets if a.drifted)

    @property
    def drifted(self) -> bool:
        return bool(self.drifted_assets)


def _kinds(lake: Lake) -> dict[tuple[str, str], str]:
    signals = lake.table("signals").to_pandas()
    return {
        (str(r.asset), str(r.signal)): str(r.kind or "") for r in signals.itertuples(index=False)
    }


def _renewals(lake: Lake) -> dict[str, list[pd.Timestamp]]:
    """End of every completed corrective repair per asset: the machine is as new after it
    (the same known-healthy hours training takes as normal)."""
    out: dict[str, list[pd.Timestamp]] = {}
    for row in repair_ends(lake).itertuples(index=False):
        out.setdefault(str(row.asset), []).append(_utc(row.end))
    return out


def _after_repairs(
    monitor: ConditionMonitor, rows: pd.DataFrame, renewed: Sequence[pd.Timestamp], hours: float
) -> NormalAlarms:
    calibrated = float(monitor.false_alarm_rate)
    if rows.empty or not renewed:
        return NormalAlarms(calibrated=calibrated)
    scored = monitor.score(rows)
    stamps = pd.DatetimeIndex(scored.index)
    healthy = np.zeros(len(stamps), dtype=bool)
    for end in renewed:
        healthy |= (stamps >= end) & (stamps < end + pd.Timedelta(hours=hours))
    return normal_alarms(scored.score, healthy, scored.threshold, calibrated)


def monitor_drift(
    lake: Lake,
    *,
    name: str = MODEL_NAME,
    until: Stamp | None = None,
    window_h: float | None = None,
    backend: BackendChoice = None,
) -> DriftReport:
    """Drift of every asset of model ``name`` (production, else latest) over the recent
    window ending at ``until`` (default: the end of the data)."""
    settings = lake.settings.maintenance
    cfg = settings.drift
    record, fleet = _fleet(lake, name)
    end = _utc(until) if until is not None else latest_data(lake)
    hours = cfg.window_h if window_h is None else window_h
    if not hours > 0:
        raise InputError("the window must be longer than zero hours", field="window_h")
    start = end - pd.Timedelta(hours=hours)
    thresholds = DriftThresholds(cfg.bins, cfg.psi_warn, cfg.psi_alarm, cfg.ks_alarm, cfg.min_rows)
    seen: dict[int, TrainingWindow] = {}
    windows = {a: training_window(lake, record, a, seen) for a in fleet.monitors_}
    kinds, renewals = _kinds(lake), _renewals(lake)
    per_asset = feedback.precision(feedback.verdicts(lake), name, record.version)
    bucket = settings.bucket
    with using_backend(lake.settings, backend) as runner:
        recent = condition_data(lake, _readings_table(lake), start, end, runner)
        references: dict[TrainingWindow, pd.DataFrame] = {}
        for window in set(windows.values()):
            references[window] = condition_data(
                lake, window.table, window.start, window.end, runner, window.version
            )
    assets = []
    for asset, monitor in sorted(fleet.monitors_.items()):
        window = windows[asset]
        ref = deviations(monitor, _asset_rows(references[window], asset, monitor), bucket)
        rows = _asset_rows(recent, asset, monitor)
        now = deviations(monitor, rows, bucket)
        features = tuple(
            feature_drift(
                signal,
                ref[signal].to_numpy() if signal in ref else [],
                now[signal].to_numpy() if signal in now else [],
                thresholds,
                condition=kinds.get((asset, signal), "") in cfg.condition_kinds,
            )
            for signal in monitor.signals_
        )
        judged = per_asset.get(asset, Precision())
        alarms = _after_repairs(monitor, rows, renewals.get(asset, []), settings.normal_window_h)
        reasons = [
            f"{f.feature} drifted (PSI {f.psi:.2f}, KS {f.ks:.2f}, {f.shift:+.1f} σ)"
            for f in features
            if f.drifted
        ]
        if judged.decayed(cfg.min_feedback, cfg.min_precision):
            reasons.append(
                f"live precision {judged.precision:.0%} of {judged.judged} judged alerts "
                f"(< {cfg.min_precision:.0%})"
            )
        if alarms.decayed(cfg.normal_alarm_factor, cfg.min_normal_periods):
            reasons.append(
                f"{alarms.rate:.0%} of {alarms.periods} hours after repairs above threshold "
                f"(calibrated to {alarms.calibrated:.1%})"
            )
        assets.append(AssetDrift(asset, features, judged, alarms, tuple(reasons), window))
    return DriftReport(
        record, start, end, tuple(assets), per_asset.get("*", Precision()), thresholds
    )


# -- challengers --------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """Champion vs challenger on the held-out window (lower is better)."""

    metric: str
    champion: float
    challenger: float
    margin: float
    per_asset: dict[str, tuple[float, float]]  # asset -> (champion, challenger)
    holdout_start: pd.Timestamp
    holdout_end: pd.Timestamp
    rows: int

    @property
    def better(self) -> bool:
        return self.challenger < self.champion - self.margin


@dataclass(frozen=True)
class Proposal:
    champion: ModelVersion
    candidate: ModelVersion
    assets: tuple[str, ...]  # retrained
    skipped: tuple[str, ...]  # asked for, but not retrainable ("asset: why")
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    evaluation: Evaluation


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def propose_retraining(
    lake: Lake,
    report: DriftReport | None = None,
    *,
    name: str = MODEL_NAME,
    assets: Sequence[str] | None = None,
    until: Stamp | None = None,
    train_start: Stamp | None = None,
    train_end: Stamp | None = None,
    backend: BackendChoice = None,
    progress: Progress | None = None,
) -> Proposal:
    """Retrain the drifted assets (``report``'s, or ``assets``) and register a candidate.

    The held-out window is the last ``holdout_h`` hours before ``until`` (default: the
    end of ``report``'s window, else of the data); the challenger learns from the
    ``retrain_h`` hours before it unless ``train_start`` / ``train_end`` say otherwise.
    Both models are scored on the held-out window, which must be later than both
    training windows.
    """
    cfg = lake.settings.maintenance
    drift = cfg.drift
    if report is not None:
        name = report.model.name
    record, fleet = _fleet(lake, name, report.model.version if report is not None else None)
    chosen = list(assets) if assets is not None else list(report.drifted_assets if report else ())
    if not chosen:
        raise InputError("no drifted asset to retrain (name assets to force it)", field="assets")
    unknown = sorted(set(chosen) - set(fleet.monitors_))
    if unknown:
        raise InputError(f"model '{name}' has no monitor for {', '.join(unknown)}", field="assets")
    if until is not None:
        end = _utc(until)
    elif report is not None:
        end = report.recent_end
    else:
        end = latest_data(lake)
    hold_start = end - pd.Timedelta(hours=drift.holdout_h)
    fit_end = _utc(train_end) if train_end is not None else hold_start
    fit_start = (
        _utc(train_start)
        if train_start is not None
        else fit_end - pd.Timedelta(hours=drift.retrain_h)
    )
    if fit_end > hold_start:
        raise InputError(
            f"the training window must end by {hold_start} (the held-out window starts there)",
            field="train_end",
        )
    if fit_start >= fit_end:
        raise InputError("the training window is empty", field="train_start")
    seen: dict[int, TrainingWindow] = {}
    for asset in chosen:
        learned = training_window(lake, record, asset, seen)
        if learned.end > hold_start:
            raise InputError(
                f"the champion learned {asset} from data until {learned.end}, inside the "
                f"held-out window from {hold_start}: wait for newer data",
                field="until",
            )
    if progress:
        progress("reading the training and held-out windows")
    table = _readings_table(lake)
    with using_backend(lake.settings, backend) as runner:
        train = condition_data(lake, table, fit_start, fit_end, runner)
        held = condition_data(lake, table, hold_start, end, runner)
    repairs = repair_ends(lake)
    repairs = repairs[repairs["end"] < fit_end]
    if not train.empty:
        mask, _ = normal_rows(train, repairs, pd.Timedelta(hours=cfg.normal_window_h), min_rows=60)
        train = train[mask.to_numpy()]
    if progress:
        progress(f"fitting {len(chosen)} challenger monitors")
    retrained: dict[str, ConditionMonitor] = {}
    skipped = []
    for asset in sorted(chosen):
        champion = fleet.monitors_[asset]
        rows = _asset_rows(train, asset, champion)
        try:
            retrained[asset] = champion.clone().fit(rows)
        except (InputError, ValueError) as exc:
            skipped.append(f"{asset}: {exc}")
    if not retrained:
        raise InputError(f"no asset could be retrained: {'; '.join(skipped)}", field="assets")
    challenger = copy.deepcopy(fleet)
    challenger.monitors_.update(retrained)
    per_asset: dict[str, tuple[float, float]] = {}
    rows_used = 0
    for asset, monitor in retrained.items():
        rows = _asset_rows(held, asset, monitor)
        try:
            old = holdout_nll(fleet.monitors_[asset], rows, cfg.bucket, drift.z_cap)
            new = holdout_nll(monitor, rows, cfg.bucket, drift.z_cap)
        except InputError:
            continue  # no held-out data of this asset: it cannot weigh in
        per_asset[asset] = (old.nll, new.nll)
        rows_used += old.rows
    if not per_asset:
        raise InputError(
            f"no held-out data from {hold_start} to {end} for {', '.join(retrained)}",
            field="holdout",
        )
    evaluation = Evaluation(
        METRIC,
        sum(v[0] for v in per_asset.values()) / len(per_asset),
        sum(v[1] for v in per_asset.values()) / len(per_asset),
        drift.promote_margin,
        per_asset,
        hold_start,
        end,
        rows_used,
    )
    notes = (
        f"challenger of v{record.version}; retrained={','.join(sorted(retrained))}; "
        f"window={_iso(fit_start)}/{_iso(fit_end)}; holdout={_iso(hold_start)}/{_iso(end)}; "
        f"held-out NLL {evaluation.challenger:.3f} vs champion {evaluation.champion:.3f}"
    )
    candidate = registry(lake).register(
        name,
        challenger,
        metrics={
            "holdout_nll": evaluation.challenger,
            "champion_holdout_nll": evaluation.champion,
            "retrained_assets": float(len(retrained)),
            "assets": float(len(challenger.monitors_)),
        },
        training_data={table: lake.version(table), "work_orders": lake.version("work_orders")},
        notes=notes,
        stage="candidate",
    )
    return Proposal(
        record, candidate, tuple(sorted(retrained)), tuple(skipped), fit_start, fit_end, evaluation
    )


@dataclass(frozen=True)
class Promotion:
    promoted: bool
    reason: str
    model: ModelVersion  # the candidate as it stands now


def promote_if_better(lake: Lake, proposal: Proposal) -> Promotion:
    """Promote the candidate only if it beats the champion by the margin; note why."""
    models = registry(lake)
    name, version = proposal.candidate.name, proposal.candidate.version
    ev = proposal.evaluation
    current = models.get(name)
    if current.stage == "production" and current.version != proposal.champion.version:
        reason = (
            f"not promoted: v{current.version} went into production after the proposal "
            f"(it was made against v{proposal.champion.version})"
        )
        return Promotion(False, reason, models.annotate(name, version, reason))
    if ev.better:
        models.promote(name, version)
        reason = (
            f"promoted: held-out NLL {ev.challenger:.3f} beats champion "
            f"v{proposal.champion.version}'s {ev.champion:.3f} by more than {ev.margin:g}"
        )
        return Promotion(True, reason, models.annotate(name, version, reason))
    reason = (
        f"stays candidate: held-out NLL {ev.challenger:.3f} is not below champion "
        f"v{proposal.champion.version}'s {ev.champion:.3f} minus the margin {ev.margin:g}"
    )
    return Promotion(False, reason, models.annotate(name, version, reason))
