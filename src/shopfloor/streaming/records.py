"""The unit every live source hands on: a batch of readings in columns.

Columns of plain Python lists rather than one object per reading: the MQTT ingester
handles tens of thousands of readings a second, and appending to five lists is the
cheapest way to collect them.  Timestamps are integer microseconds since the Unix epoch,
UTC (the lake's ``readings.ts`` resolution).
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUALITY_GOOD = 0
QUALITY_UNCERTAIN = 1
QUALITY_BAD = 2


@dataclass
class ReadingBatch:
    """Readings in columns: ``asset[i], signal[i], ts_us[i], value[i], quality[i]``."""

    asset: list[str] = field(default_factory=list)
    signal: list[str] = field(default_factory=list)
    ts_us: list[int] = field(default_factory=list)
    value: list[float | None] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts_us)

    def append(
        self, asset: str, signal: str, ts_us: int, value: float | None, quality: int = 0
    ) -> None:
        self.asset.append(asset)
        self.signal.append(signal)
        self.ts_us.append(ts_us)
        self.value.append(value)
        self.quality.append(quality)

    def extend(self, other: ReadingBatch) -> None:
        self.asset += other.asset
        self.signal += other.signal
        self.ts_us += other.ts_us
        self.value += other.value
        self.quality += other.quality

    def keys(self) -> list[tuple[str, str, int]]:
        """The natural key of every reading (the lake's ``readings`` key)."""
        return list(zip(self.asset, self.signal, self.ts_us, strict=True))


@dataclass(frozen=True)
class Rejected:
    """A message that could not be read: where it came from and why (goes to quarantine)."""

    source: str  # e.g. the MQTT topic or the OPC UA node id
    reason: str
    payload: bytes = b""
    received_us: int = 0
