"""Supplier scorecards from the ``deliveries`` table: OTIF, lead times, quantity accuracy.

One row per purchase-order line (``po``, ``item``) with ``supplier``,
``quantity_ordered``, ``quantity_received``, ``ordered``, ``promised`` and ``received``
(null while open).  Only received lines are scored; open lines are counted (a supplier
with no received line yet has no scorecard).

Per supplier:

- **on time**: received no later than promised (lines without a promise date count as
  on time only if ``on_time_without_promise``; default: not scored for timeliness);
- **in full**: received quantity within ``tolerance`` (share) of the ordered one;
- **OTIF**: both, over the lines scored for both;
- **lead time** in days (ordered to received): mean, standard deviation, 90th
  percentile, and the per-day pmf that feeds the inventory policies
  (:func:`lead_time_days`);
- **quantity accuracy**: mean received / ordered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.supply.inventory import Distribution

COLUMNS = ("supplier", "quantity_ordered", "quantity_received", "ordered", "promised", "received")


@dataclass(frozen=True)
class Scorecards:
    """One row per supplier: lines, open_lines, on_time, in_full, otif, lead_time_mean_d,
    lead_time_sd_d, lead_time_p90_d, quantity_accuracy (shares in [0, 1])."""

    table: pd.DataFrame


def _received(deliveries: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in COLUMNS if c not in deliveries.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", field="deliveries")
    done = deliveries[deliveries["received"].notna()].copy()
    lead = (done["received"] - done["ordered"]).dt.total_seconds() / 86400.0
    if (lead < 0).any():
        row = int(np.flatnonzero((lead < 0).to_numpy())[0])
        raise InputError(
            f"received before ordered (po {done['po'].iloc[row] if 'po' in done else row})",
            field="received",
        )
    done["lead_time_d"] = lead
    return done


def scorecards(deliveries: pd.DataFrame, tolerance: float = 0.0) -> Scorecards:
    if not 0.0 <= tolerance < 1.0:
        raise InputError("must lie in [0, 1)", field="tolerance")
    done = _received(deliveries)
    ordered = done["quantity_ordered"].astype(float)
    received = done["quantity_received"].astype(float)
    done["in_full"] = (received >= ordered * (1.0 - tolerance)) & (
        received <= ordered * (1.0 + tolerance)
    )
    has_promise = done["promised"].notna()
    done["on_time"] = (done["received"] <= done["promised"]).where(has_promise)
    done["otif"] = (done["on_time"].astype("boolean") & done["in_full"]).where(has_promise)
    done["accuracy"] = (received / ordered).where(ordered > 0)
    grouped = done.groupby("supplier", sort=True)
    table = pd.DataFrame(
        {
            "lines": grouped.size(),
            "on_time": grouped["on_time"].mean(),
            "in_full": grouped["in_full"].mean(),
            "otif": grouped["otif"].mean(),
            "lead_time_mean_d": grouped["lead_time_d"].mean(),
            "lead_time_sd_d": grouped["lead_time_d"].std(ddof=1),
            "lead_time_p90_d": grouped["lead_time_d"].quantile(0.9),
            "quantity_accuracy": grouped["accuracy"].mean(),
        }
    )
    open_lines = deliveries[deliveries["received"].isna()].groupby("supplier").size()
    table.insert(1, "open_lines", open_lines.reindex(table.index, fill_value=0).astype(int))
    return Scorecards(table.astype({"lines": int}))


def lead_time_days(
    deliveries: pd.DataFrame, supplier: str, period_days: float = 1.0
) -> Distribution:
    """The supplier's lead-time pmf in whole periods of ``period_days`` (rounded up)."""
    done = _received(deliveries)
    lead = done.loc[done["supplier"] == supplier, "lead_time_d"].to_numpy(dtype=float)
    if lead.size == 0:
        raise InputError(f"no received delivery from supplier {supplier!r}", field="supplier")
    periods = np.ceil(lead / period_days - 1e-9).astype(np.int64)
    counts = np.bincount(periods)
    return Distribution(counts / counts.sum())
