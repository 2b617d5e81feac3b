"""What one server process holds: the lake, its access store and audit log, caches, jobs.

Results are cached by the versions of the Delta tables they read, so a dashboard that
polls gets an answer in microseconds until the lake changes; versions themselves are
re-read at most every ``server.cache_seconds`` (a Delta log lookup costs a few ms).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from shopfloor.config import Settings
from shopfloor.server.jobs import JobRunner
from shopfloor.workflows import open_lake
from shopfloor.workflows.access import AccessStore, AuditLog, access_store, audit_log

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
}


class ViewCache:
    """Memoise ``fn()`` under a key and the versions of the tables it reads."""

    def __init__(self, versions: Callable[[str], int | None], ttl_s: float) -> None:
        self._versions = versions
        self._ttl = ttl_s
        self._seen: dict[str, tuple[float, int | None]] = {}
        self._values: dict[Hashable, tuple[tuple[int | None, ...], Any]] = {}
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

    def get(self, key: Hashable, tables: tuple[str, ...], fn: Callable[[], T]) -> T:
        stamp = tuple(self.version(t) for t in tables)
        hit = self._values.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]  # type: ignore[no-any-return]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one computation per key at a time; the others wait for its result
            hit = self._values.get(key)
            if hit is not None and hit[0] == stamp:
                return hit[1]  # type: ignore[no-any-return]
            value = fn()
            self._values[key] = (stamp, value)
            return value


class ServerState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lake = open_lake(settings.lake, settings)
        self.access: AccessStore = access_store(self.lake)
        self.audit: AuditLog = audit_log(self.lake)
        self.cache = ViewCache(self.lake.version, settings.server.cache_seconds)
        self.jobs = JobRunner()
        self.started = time.time()

    def cached(self, view: str, key: Hashable, fn: Callable[[], T]) -> T:
        return self.cache.get((view, key), DEPENDS[view], fn)
