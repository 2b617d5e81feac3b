"""A 0-100 quality score per signal: how much of what should be there is there and usable."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import pandas as pd

from shopfloor.data_quality.model import QualityIssue
from shopfloor.data_quality.prepared import prepare, utc

SCORE_COLUMNS = ("asset", "signal", "expected", "present", "valid", "flagged", "good", "score")

# Checks whose episodes make otherwise valid samples untrustworthy.  Gaps and staleness
# already lower "present", nulls and out-of-range values "valid"; delivery faults
# (duplicates, late or future rows) leave the samples themselves usable.
VALUE_CHECKS = ("spike", "stuck", "unit_shift")


def quality_scores(
    readings: pd.DataFrame,
    signals: pd.DataFrame,
    issues: Iterable[QualityIssue] = (),
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    now: pd.Timestamp | None = None,
    tolerance_s: float = 300.0,
) -> pd.DataFrame:
    """Per (asset, signal): expected samples over [start, end] and the share that is good.

    ``expected`` counts nominal periods over the window (default: the earliest to the
    latest non-future timestamp of the whole frame, so a signal that went silent early
    scores lower than its siblings).  ``present`` counts distinct timestamps, ``valid``
    those with a plausible non-null value, ``flagged`` valid samples inside a spike,
    stuck or unit-shift issue, and ``score = 100 * (valid - flagged) / expected``.
    """
    prepared = prepare(readings, signals, now=now, tolerance_s=tolerance_s)
    current_ts = [s.ts[s.current] for s in prepared.series]
    nonempty = [ts for ts in current_ts if ts.size]
    if not nonempty:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    lo = int(utc(start).value // 1000) if start is not None else min(int(t[0]) for t in nonempty)
    hi = int(utc(end).value // 1000) if end is not None else max(int(t[-1]) for t in nonempty)

    spans: dict[tuple[str, str | None], list[tuple[int, int]]] = defaultdict(list)
    for issue in issues:
        if issue.check in VALUE_CHECKS:
            spans[(issue.asset, issue.signal)].append(
                (int(utc(issue.start).value // 1000), int(utc(issue.end).value // 1000))
            )

    rows = []
    for s, ts in zip(prepared.series, current_ts, strict=True):
        inside = (ts >= lo) & (ts <= hi)
        ts_in = ts[inside]
        value = s.value[s.current][inside]
        valid = ~np.isnan(value) & ~s.out_of_range(value)
        flagged = np.zeros(ts_in.size, dtype=bool)
        for a, b in spans.get((s.asset, s.signal), []):
            flagged[np.searchsorted(ts_in, a, "left") : np.searchsorted(ts_in, b, "right")] = True
        expected = max(1, int((hi - lo) // s.period_us) + 1)
        good = int((valid & ~flagged).sum())
        rows.append(
            (
                s.asset,
                s.signal,
                expected,
                int(ts_in.size),
                int(valid.sum()),
                int((valid & flagged).sum()),
                good,
                round(min(100.0, 100.0 * good / expected), 2),
            )
        )
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
