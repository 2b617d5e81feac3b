"""Live scoring of one machine's readings, row by row, and the alarm state over them.

:class:`~shopfloor.maintenance.condition.ConditionMonitor` scores bucketed history in
pandas and smooths it over an hour.  On a gateway next to the machine there is no lake,
no pandas and no hour to wait: :class:`LiveModel` carries a fitted monitor's learned
state as plain arrays (JSON-able, for the edge bundle's manifest), :func:`live_scores`
computes the monitor's per-row statistic on numpy arrays, and :class:`LiveAlarm` turns
the row scores of one asset into "raised" / "cleared" changes.

The per-row statistic is the monitor's, without the smoothing: for each row the context
bin is ``round(context / nominal × bins)`` clipped to ``0 .. bins + 1``, each signal's
deviation is ``(log(max(value, eps)) − centre[bin]) / scale`` (no log when the monitor
works on the raw scale), and the score is the median over the signals of the positive
deviations, NaN signals skipped.  Rows below ``min_context × nominal`` (or with no
finite context) are not scored: a machine at rest says nothing about its health.

Without the hour's median a single row is much noisier than what the threshold was
calibrated on; :class:`LiveAlarm`'s hysteresis is what keeps that noise from paging
anyone (see its docstring).  Only numpy is imported here: the edge runner loads this
module on small devices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError, ModelError

if TYPE_CHECKING:
    from shopfloor.maintenance.condition import ConditionMonitor

FloatArray = npt.NDArray[np.float64]

# The monitor's floor under values before the log (condition._EPS), copied rather than
# imported: importing condition would import pandas.
EPS = 1e-9


@dataclass(frozen=True, eq=False)  # arrays: compare with to_dict(), not ==
class LiveModel:
    """A fitted :class:`ConditionMonitor` of one asset as plain arrays.

    ``centre`` is ``(bins + 2) × len(signals)`` (log scale when ``log_scale``), ``scale``
    one spread per signal; both in the order of ``signals``.
    """

    asset: str
    context: str
    signals: tuple[str, ...]
    nominal: float
    bins: int
    min_context: float
    log_scale: bool
    centre: FloatArray = field(repr=False)
    scale: FloatArray = field(repr=False)
    threshold: float
    eps: float = EPS

    def __post_init__(self) -> None:
        n = len(self.signals)
        if n == 0:
            raise ModelError(f"live model of {self.asset}: no signals")
        if self.centre.shape != (self.bins + 2, n) or self.scale.shape != (n,):
            raise ModelError(
                f"live model of {self.asset}: centre {self.centre.shape} and scale "
                f"{self.scale.shape} do not fit {self.bins} bins × {n} signals"
            )
        if not (math.isfinite(self.nominal) and self.nominal > 0):
            raise ModelError(f"live model of {self.asset}: nominal must be > 0")

    @classmethod
    def from_monitor(cls, asset: str, monitor: ConditionMonitor) -> LiveModel:
        """The learned state of a fitted monitor (its arrays copied, columns in order)."""
        monitor._check_fitted()
        signals = tuple(str(s) for s in monitor.signals_)
        centre = monitor.centre_.reindex(index=range(monitor.bins + 2), columns=list(signals))
        scale = monitor.scale_.reindex(list(signals))
        return cls(
            asset=str(asset),
            context=str(monitor.context),
            signals=signals,
            nominal=float(monitor.nominal_),
            bins=int(monitor.bins),
            min_context=float(monitor.min_context),
            log_scale=bool(monitor.log_scale),
            centre=centre.to_numpy(dtype=np.float64, copy=True),
            scale=scale.to_numpy(dtype=np.float64, copy=True),
            threshold=float(monitor.threshold_),
        )

    @property
    def min_usable(self) -> float:
        """The lowest context value that is scored."""
        return self.min_context * self.nominal

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (NaN centres, from signals never seen healthy, become null)."""
        return {
            "asset": self.asset,
            "context": self.context,
            "signals": list(self.signals),
            "nominal": self.nominal,
            "bins": self.bins,
            "min_context": self.min_context,
            "log_scale": self.log_scale,
            "centre": [[_json_float(v) for v in row] for row in self.centre.tolist()],
            "scale": [_json_float(v) for v in self.scale.tolist()],
            "threshold": self.threshold,
            "eps": self.eps,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "live model") -> LiveModel:
        """Inverse of :meth:`to_dict`; a missing or malformed field is an :class:`InputError`."""

        def get(name: str) -> Any:
            if name not in data:
                raise InputError("missing", source=source, field=name)
            return data[name]

        try:
            return cls(
                asset=str(get("asset")),
                context=str(get("context")),
                signals=tuple(str(s) for s in get("signals")),
                nominal=float(get("nominal")),
                bins=int(get("bins")),
                min_context=float(get("min_context")),
                log_scale=bool(get("log_scale")),
                centre=np.array(
                    [[np.nan if v is None else v for v in row] for row in get("centre")],
                    dtype=np.float64,
                ).reshape(-1, len(get("signals"))),
                scale=np.array(
                    [np.nan if v is None else v for v in get("scale")], dtype=np.float64
                ),
                threshold=float(get("threshold")),
                eps=float(data.get("eps", EPS)),
            )
        except (TypeError, ValueError, ModelError) as err:
            raise InputError(f"malformed live model: {err}", source=source) from None


def _json_float(value: float) -> float | None:
    return value if math.isfinite(value) else None


def live_scores(
    model: LiveModel, values: npt.ArrayLike, context: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Per-row score ``(n,)`` and signed deviations ``(n, S)`` in sigmas.

    ``values`` are the signals in ``model.signals`` order (NaN: no value); rows whose
    context is not finite or below ``model.min_usable`` get a NaN score and NaN sigmas.
    """
    x = np.asarray(values, dtype=np.float64)
    ctx = np.asarray(context, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[1] != len(model.signals) or x.shape[0] != ctx.shape[0]:
        raise ModelError(
            f"{model.asset}: expected values of shape (n, {len(model.signals)}) and context "
            f"(n,), got {x.shape} and {ctx.shape}"
        )
    usable = np.isfinite(ctx) & (ctx >= model.min_usable)
    share = np.where(usable, ctx, 0.0) / max(model.nominal, model.eps)
    bins = np.clip(np.round(share * model.bins), 0, model.bins + 1).astype(np.int64)
    level = np.log(np.maximum(x, model.eps)) if model.log_scale else x
    sigma = (level - model.centre[bins]) / model.scale
    sigma[~usable] = np.nan
    positive = np.maximum(sigma, 0.0)  # np.maximum keeps NaN: still skipped below
    score = np.full(ctx.shape[0], np.nan)
    counted = ~np.isnan(positive)
    rows = counted.any(axis=1) & usable
    if rows.any():
        score[rows] = np.nanmedian(positive[rows], axis=1)
    return score, sigma


@dataclass(frozen=True)
class AlarmRules:
    """When an alarm switches on and off (factors apply to the model's threshold).

    The same rules serve batch episodes (``anomaly.Hysteresis`` is this class), live
    alarms and the edge runner, whose bundle manifest stores them.
    """

    on_after: int = 3
    off_after: int = 10
    upper_factor: float = 2.0
    lower_factor: float = 1.0

    def __post_init__(self) -> None:
        if self.on_after < 1 or self.off_after < 1:
            raise ModelError("on_after and off_after must be >= 1")
        if self.lower_factor > 1.0 or self.upper_factor < 1.0:
            raise ModelError("need lower_factor <= 1 <= upper_factor")


@dataclass(frozen=True)
class AlarmChange:
    """An alarm of one asset switching on ("raised") or off ("cleared")."""

    asset: str
    kind: str  # "raised" | "cleared"
    ts_us: int  # the row that switched it
    score: float  # that row's score
    threshold: float
    peak_score: float  # highest score of the episode so far
    top: tuple[tuple[str, float], ...]  # (signal, sigma) most deviating at the raising row


class LiveAlarm:
    """Hysteresis over one asset's row scores: when to page someone, and when to stop.

    Why hysteresis: a single row's score is noisy (the threshold was calibrated on hourly
    medians, and one reading can be a spike, a dropout or a sensor glitch); one noisy row
    must not page anyone, and an alarm hovering around its threshold must not flap on and
    off.  The alarm is raised after ``on_after`` consecutive rows above the threshold, or
    at once on one row above ``upper_factor × threshold`` (a gross fault should not wait);
    it clears after ``off_after`` consecutive rows at or below ``lower_factor × threshold``.
    NaN scores (a machine at rest, no signal) change nothing: idling is neither evidence
    of a fault nor of a recovery.  These are the batch alerting's rules
    (:class:`shopfloor.maintenance.anomaly.Hysteresis`) applied one row at a time.
    """

    def __init__(
        self,
        asset: str,
        threshold: float,
        signals: tuple[str, ...],
        *,
        on_after: int = 3,
        off_after: int = 10,
        upper_factor: float = 2.0,
        lower_factor: float = 1.0,
        top: int = 3,
    ) -> None:
        AlarmRules(on_after, off_after, upper_factor, lower_factor)  # validates
        self.asset = asset
        self.threshold = float(threshold)
        self.signals = signals
        self.on_after = on_after
        self.off_after = off_after
        self.upper = upper_factor * self.threshold
        self.lower = lower_factor * self.threshold
        self.top = top
        self.on = False
        self._run = 0  # consecutive rows above the threshold while off
        self._quiet = 0  # consecutive rows at or below the lower threshold while on
        self._peak = -math.inf
        self._top: tuple[tuple[str, float], ...] = ()

    def _leaders(self, sigma: FloatArray | None) -> tuple[tuple[str, float], ...]:
        if sigma is None:
            return ()
        dev = np.nan_to_num(np.abs(np.asarray(sigma, dtype=np.float64)), nan=-1.0)
        order = np.argsort(-dev, kind="stable")[: self.top]
        return tuple((self.signals[i], float(sigma[i])) for i in order if dev[i] >= 0)

    def update(self, ts_us: int, score: float, sigma: FloatArray | None) -> AlarmChange | None:
        """Advance by one row; returns the change it caused, if any."""
        if math.isnan(score):
            return None
        if not self.on:
            if score > self.threshold:
                self._run += 1
                self._peak = max(self._peak, score)
                if self._run >= self.on_after or score > self.upper:
                    self.on, self._quiet = True, 0
                    self._top = self._leaders(sigma)
                    return self._change("raised", ts_us, score)
            else:
                self._run, self._peak = 0, -math.inf
            return None
        if score > self.lower:
            self._quiet = 0
            self._peak = max(self._peak, score)
            return None
        self._quiet += 1
        if self._quiet < self.off_after:
            return None
        change = self._change("cleared", ts_us, score)
        self.on, self._run, self._quiet, self._peak, self._top = False, 0, 0, -math.inf, ()
        return change

    def _change(self, kind: str, ts_us: int, score: float) -> AlarmChange:
        return AlarmChange(
            asset=self.asset,
            kind=kind,
            ts_us=int(ts_us),
            score=float(score),
            threshold=self.threshold,
            peak_score=float(self._peak),
            top=self._top,
        )
