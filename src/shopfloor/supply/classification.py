"""Demand classification: ADI / CV² (Syntetos-Boylan) and ABC / XYZ.

Input: ``history``, one row per series (item x location), one column per period, NaN
where a period is missing (not observed; a zero is an observed zero).

ADI / CV² (Syntetos, Boylan and Croston 2005):

- ADI, the average demand interval: observed periods over periods with demand (one
  demand in 4 months: ADI 4);
- CV², the squared coefficient of variation of the non-zero demand sizes (population
  variance; one demand only: 0);
- cut-offs ADI 1.32 and CV² 0.49: *smooth* (frequent, regular sizes), *erratic*
  (frequent, irregular sizes), *intermittent* (rare, regular), *lumpy* (rare,
  irregular); a series with no demand at all is *none*.  The class picks the forecaster:
  Croston-type methods for intermittent and lumpy, ETS/ARIMA for smooth.

ABC by value (share of the total of ``value``, e.g. demand x unit cost, highest first:
A up to 80 %, B up to 95 %, C the rest; the item that crosses a boundary belongs to the
class it starts in) and XYZ by variability (coefficient of variation of the demand per
period, zeros included: X up to 0.5, Y up to 1.0, Z above; no demand: Z).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
ABC_SHARES = (0.80, 0.95)
XYZ_CV = (0.5, 1.0)


@dataclass(frozen=True)
class DemandProfile:
    """Per series: ``adi``, ``cv2`` and ``category`` (smooth / erratic / intermittent /
    lumpy / none)."""

    adi: npt.NDArray[np.float64]
    cv2: npt.NDArray[np.float64]
    category: npt.NDArray[np.str_]


def _history(history: npt.ArrayLike) -> npt.NDArray[np.float64]:
    h = np.asarray(history, dtype=np.float64)
    if h.ndim == 1:
        h = h[None, :]
    if h.ndim != 2:
        raise InputError("must be one row per series (2-D)", field="history")
    if (h[~np.isnan(h)] < 0).any() or np.isinf(h).any():
        raise InputError("demand must be finite and not negative", field="history")
    return h


def classify_demand(history: npt.ArrayLike) -> DemandProfile:
    h = _history(history)
    observed = (~np.isnan(h)).sum(axis=1)
    positive = np.where(np.isnan(h), 0.0, h) > 0
    demands = positive.sum(axis=1)
    count = np.maximum(demands, 1)  # guards the division; rows without demand are masked
    sizes = np.where(positive, h, 0.0)
    mean = sizes.sum(axis=1) / count
    var = np.where(positive, (sizes - mean[:, None]) ** 2, 0.0).sum(axis=1) / count
    with np.errstate(divide="ignore", invalid="ignore"):
        adi = np.where(demands > 0, observed / count, np.inf)
        cv2 = np.where(demands > 0, var / mean**2, np.nan)
    rare = adi >= ADI_CUTOFF
    irregular = cv2 >= CV2_CUTOFF
    category = np.where(
        demands == 0,
        "none",
        np.where(
            rare,
            np.where(irregular, "lumpy", "intermittent"),
            np.where(irregular, "erratic", "smooth"),
        ),
    )
    return DemandProfile(adi.astype(np.float64), cv2.astype(np.float64), category)


def abc_classes(
    value: npt.ArrayLike, shares: tuple[float, float] = ABC_SHARES
) -> npt.NDArray[np.str_]:
    """A / B / C per item by its share of the total ``value`` (highest value first)."""
    v = np.asarray(value, dtype=np.float64)
    if v.ndim != 1 or np.isnan(v).any() or (v < 0).any():
        raise InputError("one finite, non-negative value per item", field="value")
    if not 0 < shares[0] < shares[1] <= 1:
        raise InputError("needs 0 < A share < B share <= 1", field="shares")
    order = np.argsort(-v, kind="stable")
    total = v.sum()
    # Cumulative share *before* each item: the item crossing 80 % is still an A.
    before = np.concatenate([[0.0], np.cumsum(v[order])[:-1]]) / total if total > 0 else None
    out = np.full(v.shape, "C", dtype="<U1")
    if before is None:
        return out
    ranked = np.where(before < shares[0], "A", np.where(before < shares[1], "B", "C"))
    out[order] = ranked
    return out


def xyz_classes(
    history: npt.ArrayLike, limits: tuple[float, float] = XYZ_CV
) -> npt.NDArray[np.str_]:
    """X / Y / Z per series by the coefficient of variation of its demand per period."""
    h = _history(history)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.nanmean(h, axis=1)
        cv = np.nanstd(h, axis=1) / mean
    return np.where(
        ~(mean > 0), "Z", np.where(cv <= limits[0], "X", np.where(cv <= limits[1], "Y", "Z"))
    ).astype("<U1")
