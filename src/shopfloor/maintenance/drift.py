"""Drift of a condition model's inputs, decay of its performance, and a held-out score.

**Features.**  A condition monitor reads each signal as its deviation (in sigmas) from
the normal it learned for the current speed band.  Drift is measured on exactly that
view (:func:`deviations`), one value per bucket, so a day with more idling or more
changeovers is not drift by itself: the operating context is already taken out.

**PSI** (population stability index) compares the recent window's shares with the
reference's over ``bins`` bins whose edges are the reference's quantiles
``1/bins .. (bins-1)/bins`` (deciles by default), so every reference bin holds about
``1/bins`` of it; the outer bins are open, edges that coincide (ties) are merged, and
shares are floored at ``1e-4`` so an empty bin cannot make the index infinite::

    PSI = sum_i (q_i - p_i) * ln(q_i / p_i)     p: reference share, q: recent share

Conventions: below 0.1 the feature is stable, 0.1-0.25 it moved moderately, 0.25 and
above it moved a lot.  **KS** is the two-sample Kolmogorov-Smirnov statistic D (the
largest gap between the two empirical distribution functions) with its p-value; the
p-value assumes independent samples, which consecutive buckets of a sensor are not, so
verdicts use D and a configured level, never p.  A feature drifted when both PSI and D
reach their alarm levels (one test's quirk, e.g. PSI on a few tied values, is not enough).

**Condition indicators** (vibration, temperature, current, sound by default: the
quantities ISO 17359 monitors) move whenever a machine wears and jump back when it is
repaired; that is what the monitor exists to see, so a large shift of one is reported
as ``condition``, not as drift.  Drift that would call for retraining is a shift of
the other inputs (process variables such as pressure), plus the decay measures:

* live **precision**: of the model's alerts that operators judged (or whose work order
  reported whether a fault was found), the share that were true;
* **alarms after repairs**: the share of hours in the days after a completed work
  order (the machine as new) whose score is above the threshold, against the
  false-alarm rate the threshold was calibrated to.

**Held-out score** (:func:`holdout_nll`): champion and challenger are compared on data
neither learned from, by the mean Gaussian negative log-likelihood of each signal's
deviation under the model's own normal (centre and spread; deviations capped at
``z_cap`` sigmas so a few broken buckets cannot decide), averaged over signals.  It is a
proper score: a model is rewarded for a centre that fits the plant *and* a spread that
is honest, never for merely widening its spread.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.maintenance.condition import ConditionMonitor

FloatArray = npt.NDArray[np.float64]
Status = Literal["insufficient", "stable", "moderate", "drift", "condition"]
_FLOOR = 1e-4  # smallest share of a PSI bin (an empty bin would make ln infinite)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _finite(values: Sequence[float] | FloatArray | pd.Series) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).ravel()
    return array[np.isfinite(array)]


def quantile_edges(reference: Sequence[float] | FloatArray, bins: int = 10) -> FloatArray:
    """Inner bin edges at the reference's quantiles 1/bins .. (bins-1)/bins, ties merged."""
    if bins < 2:
        raise InputError("PSI needs at least 2 bins", field="bins")
    values = _finite(reference)
    if values.size == 0:
        raise InputError("the reference window holds no finite values", field="reference")
    levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    return np.unique(np.quantile(values, levels))


def bin_shares(values: Sequence[float] | FloatArray, edges: FloatArray) -> FloatArray:
    """Share of ``values`` in each bin of ``edges`` (outer bins open), floored at 1e-4."""
    finite = _finite(values)
    if finite.size == 0:
        raise InputError("the recent window holds no finite values", field="recent")
    counts = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=edges.size + 1)
    return np.maximum(counts / finite.size, _FLOOR)


def psi(
    reference: Sequence[float] | FloatArray,
    recent: Sequence[float] | FloatArray,
    bins: int = 10,
) -> float:
    """Population stability index of ``recent`` against ``reference`` (see module doc)."""
    edges = quantile_edges(reference, bins)
    p = bin_shares(reference, edges)
    q = bin_shares(recent, edges)
    return float(np.sum((q - p) * np.log(q / p)))


def ks_test(
    reference: Sequence[float] | FloatArray, recent: Sequence[float] | FloatArray
) -> tuple[float, float]:
    """Two-sample KS statistic D and its (independence-assuming) p-value."""
    from scipy.stats import ks_2samp

    a, b = _finite(reference), _finite(recent)
    if a.size == 0 or b.size == 0:
        raise InputError("both windows need finite values for a KS test", field="recent")
    result = ks_2samp(a, b)
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class DriftThresholds:
    """Levels of the verdicts (``maintenance.drift`` settings)."""

    bins: int = 10
    psi_warn: float = 0.1
    psi_alarm: float = 0.25
    ks_alarm: float = 0.3
    min_rows: int = 36


@dataclass(frozen=True)
class FeatureDrift:
    """One feature (a signal's deviation from normal) in the recent vs the reference window."""

    feature: str
    status: Status
    psi: float  # nan when insufficient
    ks: float  # KS statistic D
    ks_pvalue: float
    shift: float  # median(recent) - median(reference), in sigmas of the model's normal
    reference_rows: int
    recent_rows: int
    condition: bool  # a condition indicator (its shifts are the monitor's job)

    @property
    def drifted(self) -> bool:
        return self.status == "drift"


def feature_drift(
    feature: str,
    reference: Sequence[float] | FloatArray,
    recent: Sequence[float] | FloatArray,
    thresholds: DriftThresholds,
    *,
    condition: bool = False,
) -> FeatureDrift:
    """PSI, KS and the verdict for one feature (see the module doc for the rules)."""
    ref, rec = _finite(reference), _finite(recent)
    if ref.size < thresholds.min_rows or rec.size < thresholds.min_rows:
        nan = float("nan")
        return FeatureDrift(
            feature, "insufficient", nan, nan, nan, nan, ref.size, rec.size, condition
        )
    index = psi(ref, rec, thresholds.bins)
    d, p = ks_test(ref, rec)
    shift = float(np.median(rec) - np.median(ref))
    status: Status
    if index >= thresholds.psi_alarm and d >= thresholds.ks_alarm:
        status = "condition" if condition else "drift"
    elif index >= thresholds.psi_warn:
        status = "moderate"
    else:
        status = "stable"
    return FeatureDrift(feature, status, index, d, p, shift, ref.size, rec.size, condition)


def deviations(monitor: ConditionMonitor, frame: pd.DataFrame, bucket: str) -> pd.DataFrame:
    """Each bucket's signed deviation from ``monitor``'s normal, in sigmas (rows: buckets).

    ``frame`` is one asset's condition data (index ts; context and signal columns).  The
    monitor smooths over an hour when it scores; here each bucket stands alone, so a
    copy is told to "smooth" over one bucket (a median of one value is the value).
    """
    if frame.empty:
        return pd.DataFrame(columns=list(getattr(monitor, "signals_", ())), dtype=float)
    single = copy.copy(monitor)
    single.smoothing = bucket
    return single.score(frame).deviation_sigma.astype(float)


@dataclass(frozen=True)
class Precision:
    """Operator verdicts on one model's alerts: live precision = true / (true + false)."""

    true: int = 0
    false: int = 0
    unknown: int = 0

    @property
    def judged(self) -> int:
        return self.true + self.false

    @property
    def precision(self) -> float:
        return self.true / self.judged if self.judged else float("nan")

    def decayed(self, min_feedback: int, min_precision: float) -> bool:
        return self.judged >= min_feedback and self.precision < min_precision


@dataclass(frozen=True)
class NormalAlarms:
    """Hours just after repairs (known healthy) and how many of them scored above threshold."""

    periods: int = 0
    above: int = 0
    calibrated: float = float("nan")  # the false-alarm rate the threshold was set to

    @property
    def rate(self) -> float:
        return self.above / self.periods if self.periods else float("nan")

    def decayed(self, factor: float, min_periods: int) -> bool:
        return self.periods >= min_periods and self.rate > factor * self.calibrated


def normal_alarms(
    scores: Sequence[float] | FloatArray,
    healthy: Sequence[bool] | npt.NDArray[np.bool_],
    threshold: float,
    calibrated: float,
) -> NormalAlarms:
    """Count the known-healthy periods of ``scores`` (``healthy``: aligned mask) above threshold."""
    values = np.asarray(scores, dtype=np.float64)
    mask = np.asarray(healthy, dtype=bool) & np.isfinite(values)
    return NormalAlarms(int(mask.sum()), int((values[mask] > threshold).sum()), calibrated)


@dataclass(frozen=True)
class HoldoutFit:
    """Mean negative log-likelihood (nats) of held-out deviations under a model's normal."""

    nll: float  # mean over signals; lower is better
    per_signal: dict[str, float]
    rows: int


def holdout_nll(
    monitor: ConditionMonitor, frame: pd.DataFrame, bucket: str, z_cap: float = 10.0
) -> HoldoutFit:
    """How well ``monitor``'s normal describes held-out ``frame`` (see the module doc).

    Per signal and bucket: ``ln(spread) + z**2 / 2 + ln(2 pi) / 2`` with ``z`` the
    deviation in sigmas (capped at ``z_cap``) and ``spread`` the model's scale of the
    signal in the space it models (log values by default).
    """
    sigma = deviations(monitor, frame, bucket)
    if sigma.empty:
        raise InputError("no held-out buckets in the monitor's operating range", field="holdout")
    scale = monitor.scale_
    per_signal: dict[str, float] = {}
    for signal in sigma.columns:
        z = _finite(sigma[signal])
        if z.size == 0:
            continue
        capped = np.minimum(np.abs(z), z_cap)
        spread = float(scale[signal])
        per_signal[str(signal)] = float(np.mean(math.log(spread) + 0.5 * capped**2 + _HALF_LOG_2PI))
    if not per_signal:
        raise InputError("no finite held-out deviations", field="holdout")
    return HoldoutFit(float(np.mean(list(per_signal.values()))), per_signal, len(sigma))
