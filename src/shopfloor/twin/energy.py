"""Energy prices on the twin's clock: a time-of-use tariff as a price per quarter hour.

The twin prices each machine's energy as it runs: running power while it works a lot,
idle power while it waits inside a shift (starved, blocked, minor stops, changeovers),
nothing while it is locked out for repair or maintenance, paused on purpose, or outside
the shifts.  Costs integrate the piecewise-constant price exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shopfloor.errors import InputError

FloatArr = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PriceGrid:
    """``prices[k]`` per kWh over ``[k * step_s, (k + 1) * step_s)`` from the twin's origin."""

    prices: FloatArr
    step_s: float = 900.0

    def __post_init__(self) -> None:
        if self.prices.size == 0 or not np.all(np.isfinite(self.prices)):
            raise InputError("the price grid needs finite prices", field="tariff")
        # Computed once: every lot of every machine integrates the price.
        cumulative = np.concatenate([[0.0], np.cumsum(self.prices) * self.step_s])
        object.__setattr__(self, "_cumulative", cumulative)
        object.__setattr__(self, "_peak", float(np.max(self.prices)))
        object.__setattr__(self, "_flat", bool(np.max(self.prices) <= np.min(self.prices)))

    @property
    def peak(self) -> float:
        """Prices at or above this are the tariff's peak (its highest band)."""
        return float(self._peak)  # type: ignore[attr-defined]

    def price(self, t: float) -> float:
        k = int(np.clip(t // self.step_s, 0, self.prices.size - 1))
        return float(self.prices[k])

    def is_peak(self, t: float) -> bool:
        return not self._flat and self.price(t) >= self.peak  # type: ignore[attr-defined]

    def integral(self, a: float, b: float) -> float:
        """Integral of the price over ``[a, b)`` (price x seconds)."""
        if b <= a:
            return 0.0
        cum = self._cumulative  # type: ignore[attr-defined]
        last = self.prices.size * self.step_s

        def at(t: float) -> float:
            t = min(max(t, 0.0), last)
            k = min(int(t // self.step_s), self.prices.size - 1)
            return float(cum[k] + (t - k * self.step_s) * self.prices[k])

        return at(b) - at(a)

    def cost(self, kw: float, a: float, b: float, seconds: float | None = None) -> float:
        """Cost of drawing ``kw`` for ``seconds`` (default ``b - a``) spread over ``[a, b)``."""
        if kw <= 0 or b <= a:
            return 0.0
        spent = (b - a) if seconds is None else seconds
        return kw * spent / 3600.0 * self.integral(a, b) / (b - a)
