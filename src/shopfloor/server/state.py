"""What one server process holds: the lake, its access store and audit log, caches, jobs.

Results are cached by the versions of the Delta tables they read, so a dashboard that
polls gets an answer in microseconds until the lake changes; versions themselves are
re-read at most every ``server.cache_seconds`` (a Delta log lookup costs a few ms).
Some keys come from the request (readings of any range, inspections of any asset), so
the cache keeps the ``MAX_ENTRIES`` most recently used results of each view only (a flood
of readings queries cannot push out the condition scores, which take seconds).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from shopfloor.config import Settings
from shopfloor.server.jobs import JobRunner
from shopfloor.workflows import open_lake
from shopfloor.workflows.access import AccessStore, AuditLog, access_store, audit_log
from shopfloor.workflows.alert_feed import AlertFeed

T = TypeVar("T")

# The Delta tables each cached view depends on (metadata changes are cheap to re-read).
DEPENDS: dict[str, tuple[str, ...]] = {
    "oee": ("events", "production"),
    "losses": ("events",),
    "alerts": ("alerts",),
    "condition": ("readings", "events", "work_orders"),
    "schedules": ("schedules",),
    "forecasts": ("forecasts",),
    "reorders": ("policies", "inventory", "items", "deliveries"),
    "suppliers": ("deliveries",),
    "spc": ("inspections",),
    "inspections": ("inspections",),
    "demand": ("demand",),
    "work_orders": ("work_orders",),
    "readings": ("readings",),
    # Not Delta tables: callers put views.quality_report_stamp / registry_stamp in the key.
    "quality_report": (),
    "registry": (),
}
MAX_ENTRIES = 512  # per view


def _view(key: Hashable) -> Hashable:
    """The view a key belongs to: its first item (ServerState keys are (view, key))."""
    return key[0] if isinstance(key, tuple) and key else key


class ViewCache:
    """Memoise ``fn()`` under a key and the versions of the tables it reads."""

    def __init__(
        self,
        versions: Callable[[str], int | None],
        ttl_s: float,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._versions = versions
        self._ttl = ttl_s
        self._max = max_entries
        self._seen: dict[str, tuple[float, int | None]] = {}
        # Least recently used first.
        self._values: OrderedDict[Hashable, tuple[tuple[int | None, ...], Any]] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def version(self, table: str) -> int | None:
        now = time.monotonic()
        seen = self._seen.get(table)
        if seen is None or now - seen[0] > self._ttl:
            seen = (now, self._versions(table))
            self._seen[table] = seen
        return seen[1]

    def forget_versions(self) -> None:
        """After a change made through this server: re-read versions on the next call."""
        self._seen.clear()

    def _hit(self, key: Hashable, stamp: tuple[int | None, ...]) -> tuple[bool, Any]:
        with self._guard:
            hit = self._values.get(key)
            if hit is None or hit[0] != stamp:
                return False, None
            self._values.move_to_end(key)
            return True, hit[1]

    def get(
        self,
        key: Hashable,
        tables: tuple[str, ...],
        fn: Callable[[], T],
        keep: Callable[[T], bool] | None = None,
    ) -> T:
        """``fn()``, computed once per versions of ``tables``; a value for which ``keep``
        says False (e.g. too large) is returned but not kept."""
        stamp = tuple(self.version(t) for t in tables)
        found, value = self._hit(key, stamp)
        if found:
            return value  # type: ignore[no-any-return]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one computation per key at a time; the others wait for its result
            found, value = self._hit(key, stamp)
            if found:
                return value  # type: ignore[no-any-return]
            computed = fn()
            if keep is None or keep(computed):
                with self._guard:
                    self._values[key] = (stamp, computed)
                    self._values.move_to_end(key)
                    view = _view(key)
                    same = [k for k in self._values if _view(k) == view]
                    for oldest in same[: max(0, len(same) - self._max)]:
                        del self._values[oldest]
                        self._locks.pop(oldest, None)
            return computed


class ServerState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lake = open_lake(settings.lake, settings)
        self.access: AccessStore = access_store(self.lake)
        self.audit: AuditLog = audit_log(self.lake)
        self.cache = ViewCache(self.lake.version, settings.server.cache_seconds)
        self.jobs = JobRunner()
        self.started = time.time()
        self.alert_feed: AlertFeed | None = None
        if settings.server.mqtt:
            self.alert_feed = AlertFeed(settings.server.mqtt, settings.server.alert_topic)

    def cached(
        self,
        view: str,
        key: Hashable,
        fn: Callable[[], T],
        keep: Callable[[T], bool] | None = None,
    ) -> T:
        return self.cache.get((view, key), DEPENDS[view], fn, keep)
