"""Typed results of the data-quality checks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")

ISSUE_COLUMNS = ("check", "asset", "signal", "start", "end", "severity", "rows", "detail")


@dataclass(frozen=True)
class QualityIssue:
    """One episode of one data-quality fault in one series (or a whole asset)."""

    check: str
    asset: str
    signal: str | None
    start: pd.Timestamp
    end: pd.Timestamp
    severity: Severity
    rows: int
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: timestamps as ISO 8601 strings in UTC."""
        return {
            "check": self.check,
            "asset": self.asset,
            "signal": self.signal,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "severity": self.severity,
            "rows": int(self.rows),
            "detail": self.detail,
        }


def _iso(ts: pd.Timestamp) -> str:
    stamp = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return str(stamp.isoformat())


def issues_frame(issues: Iterable[QualityIssue]) -> pd.DataFrame:
    """Issues as a DataFrame with one row per issue (columns as the dataclass fields)."""
    rows = [
        (i.check, i.asset, i.signal, i.start, i.end, i.severity, i.rows, i.detail) for i in issues
    ]
    frame = pd.DataFrame(rows, columns=list(ISSUE_COLUMNS))
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    frame["rows"] = frame["rows"].astype("int64")
    return frame


def describe_ts(ts: pd.Timestamp) -> str:
    """A short UTC stamp for detail sentences (seconds precision)."""
    return str(ts.strftime("%Y-%m-%d %H:%M:%S"))


def describe_duration(seconds: float) -> str:
    """``'45 s'``, ``'12 min'``, ``'3.5 h'`` or ``'2.1 days'`` for detail sentences."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
