"""Feedback on the maintenance models: verdicts on alerts and outcomes of work orders.

Both are append-only lake tables (``alert_feedback``, ``work_order_outcomes``): a
changed verdict or a corrected report appends a row, the latest one counts, and the
history stays.  They close the loop of DESIGN section 2: an alert's current verdict is
its operator's latest word, or else the outcome of the work order that answered it
(fault found: the alert was true; none found: false).  Verdicts measure each model
version's live precision, which the drift monitor watches (:mod:`model_loop`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from shopfloor.errors import InputError, NotFoundError
from shopfloor.lake import Lake
from shopfloor.maintenance.drift import Precision
from shopfloor.schema import FEEDBACK_VERDICTS, TABLES
from shopfloor.workflows.views import Sites, site_map

_MAX_NOTE = 2000
_MAX_NAME = 200


def _now(at: datetime | pd.Timestamp | None) -> pd.Timestamp:
    stamp = pd.Timestamp.now(tz="UTC") if at is None else pd.Timestamp(at)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _text(value: str | None, field: str, limit: int = _MAX_NAME) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > limit:
        raise InputError(f"at most {limit} characters", field=field)
    return text or None


def _who(by: str) -> str:
    who = _text(by, "by")
    if not who:
        raise InputError("say who gives it (a user name)", field="by")
    return who


def _append(lake: Lake, table: str, row: dict[str, Any]) -> None:
    schema = TABLES[table].schema
    data = pa.Table.from_pylist([{n: row.get(n) for n in schema.names}], schema=schema)
    lake.write(table, data, operation=table)


def _alert(lake: Lake, alert_id: str) -> dict[str, Any]:
    """The alert's latest row, or InputError naming the id."""
    if lake.version("alerts") is not None:
        found = lake.sql(
            "SELECT alert_id, asset, model, model_version FROM alerts WHERE alert_id = ? "
            "ORDER BY updated_at DESC LIMIT 1",
            [alert_id],
        )
        if not found.empty:
            return {str(k): v for k, v in found.iloc[0].to_dict().items()}
    raise InputError(f"no alert '{alert_id}'", field="alert_id")


def _work_order(lake: Lake, work_order: str) -> dict[str, Any]:
    if lake.version("work_orders") is not None:
        found = lake.sql(
            "SELECT work_order, asset FROM work_orders WHERE work_order = ? LIMIT 1", [work_order]
        )
        if not found.empty:
            return {str(k): v for k, v in found.iloc[0].to_dict().items()}
    raise InputError(f"no work order '{work_order}'", field="work_order")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def record_feedback(
    lake: Lake,
    alert_id: str,
    verdict: str,
    *,
    by: str,
    note: str = "",
    at: datetime | pd.Timestamp | None = None,
) -> dict[str, Any]:
    """Store an operator's verdict on an alert: ``true``, ``false`` or ``unknown``."""
    said = str(verdict).strip().lower()
    if said not in FEEDBACK_VERDICTS:
        raise InputError(f"verdict must be one of {', '.join(FEEDBACK_VERDICTS)}", field="verdict")
    who = _who(by)
    alert = _alert(lake, alert_id)
    row = {
        "alert_id": alert_id,
        "asset": _plain(alert["asset"]),
        "model": _plain(alert["model"]),
        "model_version": _plain(alert["model_version"]),
        "verdict": said,
        "recorded_by": who,
        "recorded_at": _now(at),
        "note": _text(note, "note", _MAX_NOTE),
    }
    _append(lake, "alert_feedback", row)
    return row


def _amount(value: float | None, field: str) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not np.isfinite(number) or number < 0:
        raise InputError("must be a number >= 0", field=field)
    return number


def record_outcome(
    lake: Lake,
    work_order: str,
    *,
    by: str,
    fault_found: bool | None = None,
    failure_mode: str | None = None,
    parts: str | None = None,
    cost: float | None = None,
    downtime_h: float | None = None,
    alert_id: str | None = None,
    note: str = "",
    at: datetime | pd.Timestamp | None = None,
) -> dict[str, Any]:
    """Store what a work order found and cost; ``alert_id`` links it to the alert it answered."""
    who = _who(by)
    order = _work_order(lake, work_order)
    if alert_id:
        alert = _alert(lake, alert_id)
        if str(alert["asset"]) != str(order["asset"]):
            raise InputError(
                f"alert '{alert_id}' is on {alert['asset']}, work order '{work_order}' on "
                f"{order['asset']}",
                field="alert_id",
            )
    row = {
        "work_order": work_order,
        "asset": _plain(order["asset"]),
        "alert_id": alert_id or None,
        "fault_found": fault_found,
        "failure_mode": _text(failure_mode, "failure_mode"),
        "parts": _text(parts, "parts", _MAX_NOTE),
        "cost": _amount(cost, "cost"),
        "downtime_h": _amount(downtime_h, "downtime_h"),
        "recorded_by": who,
        "recorded_at": _now(at),
        "note": _text(note, "note", _MAX_NOTE),
    }
    _append(lake, "work_order_outcomes", row)
    return row


def _empty(table: str) -> pd.DataFrame:
    frame: pd.DataFrame = TABLES[table].schema.empty_table().to_pandas()
    return frame


def _history(lake: Lake, table: str, filters: dict[str, str | None]) -> pd.DataFrame:
    """Rows of ``table`` matching the given (non-None) columns, newest first."""
    if lake.version(table) is None:
        return _empty(table)
    given = {c: v for c, v in filters.items() if v is not None}
    clause = f"WHERE {' AND '.join(f'{c} = ?' for c in given)}" if given else ""
    frame: pd.DataFrame = lake.sql(
        f"SELECT * FROM {table} {clause} ORDER BY recorded_at DESC", list(given.values())
    )
    return frame


def feedback(lake: Lake, alert_id: str | None = None, asset: str | None = None) -> pd.DataFrame:
    """Every verdict given (the history), newest first."""
    return _history(lake, "alert_feedback", {"alert_id": alert_id, "asset": asset})


def outcomes(lake: Lake, work_order: str | None = None, asset: str | None = None) -> pd.DataFrame:
    """Every outcome reported (the history), newest first."""
    return _history(lake, "work_order_outcomes", {"work_order": work_order, "asset": asset})


def verdicts(lake: Lake) -> pd.DataFrame:
    """The current verdict of every judged alert: alert_id, asset, model, model_version,
    verdict, source (``operator`` or ``work order``)."""
    columns = ["alert_id", "asset", "model", "model_version", "verdict", "source"]
    parts = []
    if lake.version("alert_feedback") is not None:
        said = lake.sql(
            "SELECT alert_id, asset, model, model_version, verdict, 'operator' AS source "
            "FROM alert_feedback QUALIFY row_number() OVER "
            "(PARTITION BY alert_id ORDER BY recorded_at DESC) = 1"
        )
        parts.append(said)
    if lake.version("work_order_outcomes") is not None and lake.version("alerts") is not None:
        # The latest report of each work order that names an alert and says whether a
        # fault was found; the alert's model comes from the alert itself.
        found = lake.sql(
            "WITH o AS (SELECT alert_id, fault_found, recorded_at FROM work_order_outcomes "
            "QUALIFY row_number() OVER (PARTITION BY work_order ORDER BY recorded_at DESC) = 1), "
            "a AS (SELECT alert_id, asset, model, model_version FROM alerts QUALIFY "
            "row_number() OVER (PARTITION BY alert_id ORDER BY updated_at DESC) = 1) "
            "SELECT a.alert_id, a.asset, a.model, a.model_version, "
            "CASE WHEN o.fault_found THEN 'true' ELSE 'false' END AS verdict, "
            "'work order' AS source FROM o JOIN a USING (alert_id) "
            "WHERE o.fault_found IS NOT NULL "
            "QUALIFY row_number() OVER (PARTITION BY a.alert_id ORDER BY o.recorded_at DESC) = 1"
        )
        parts.append(found)
    if not parts:
        return pd.DataFrame(columns=columns)
    frame = pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True)
    # An operator's word overrides a work order's report on the same alert.
    frame = frame.drop_duplicates("alert_id", keep="first")
    return frame[columns].reset_index(drop=True)


def precision(
    judged: pd.DataFrame, model: str | None = None, version: int | None = None
) -> dict[str, Precision]:
    """Precision per asset (and ``"*"`` for all) of ``verdicts()`` rows of one model version."""
    rows = judged
    if model is not None:
        rows = rows[rows["model"] == model]
    if version is not None:
        rows = rows[rows["model_version"] == version]
    out: dict[str, Precision] = {}
    for key, group in [("*", rows), *rows.groupby("asset", sort=True)]:
        counts = group["verdict"].value_counts()
        out[str(key)] = Precision(
            int(counts.get("true", 0)), int(counts.get("false", 0)), int(counts.get("unknown", 0))
        )
    return out


@dataclass(frozen=True)
class ModelPrecision:
    model: str
    version: int
    precision: Precision


def model_precision(lake: Lake) -> list[ModelPrecision]:
    """Live precision of every model version that has judged alerts."""
    judged = verdicts(lake)
    out = []
    judged = judged.dropna(subset=["model", "model_version"])
    pairs = (
        judged[["model", "model_version"]].drop_duplicates().sort_values(["model", "model_version"])
    )
    for model, version in pairs.itertuples(index=False):
        mine = judged[(judged["model"] == model) & (judged["model_version"] == version)]
        out.append(ModelPrecision(str(model), int(version), precision(mine)["*"]))
    return out


# -- the API's site-scoped variants (a thing of another site answers like a missing one) --
def _visible_alert(lake: Lake, sites: Sites, alert_id: str) -> None:
    try:
        alert = _alert(lake, alert_id)
    except InputError:
        raise NotFoundError(f"no alert '{alert_id}'", field="alert_id") from None
    if not site_map(lake).sees(sites, str(alert["asset"])):
        raise NotFoundError(f"no alert '{alert_id}'", field="alert_id")


def feedback_in_sites(
    lake: Lake, sites: Sites, alert_id: str, verdict: str, note: str, user: str
) -> dict[str, Any]:
    _visible_alert(lake, sites, alert_id)
    return record_feedback(lake, alert_id, verdict, by=user, note=note)


def feedback_history_in_sites(lake: Lake, sites: Sites, alert_id: str) -> pd.DataFrame:
    _visible_alert(lake, sites, alert_id)
    return feedback(lake, alert_id=alert_id)


def outcome_in_sites(
    lake: Lake, sites: Sites, work_order: str, user: str, **reported: Any
) -> dict[str, Any]:
    try:
        order = _work_order(lake, work_order)
    except InputError:
        raise NotFoundError(f"no work order '{work_order}'", field="work_order") from None
    if not site_map(lake).sees(sites, str(order["asset"])):
        raise NotFoundError(f"no work order '{work_order}'", field="work_order")
    alert_id = reported.get("alert_id")
    if alert_id:
        _visible_alert(lake, sites, str(alert_id))
    return record_outcome(lake, work_order, by=user, **reported)


def outcomes_in_sites(lake: Lake, sites: Sites, asset: str | None = None) -> pd.DataFrame:
    frame = outcomes(lake, asset=asset)
    seen = site_map(lake)
    keep = [seen.sees(sites, str(a)) for a in frame["asset"]]
    out: pd.DataFrame = frame[keep].reset_index(drop=True)
    return out
