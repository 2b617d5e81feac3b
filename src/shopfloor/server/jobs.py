"""Long-running work started through the API: a job resource with progress.

Jobs run one at a time per kind in a small thread pool (the work itself is mostly in
DuckDB, numpy and the solvers, which release the GIL); their state lives in memory: a
restarted server forgets finished jobs, and the results they wrote stay in the lake.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

log = logging.getLogger("shopfloor.server")
JobState = Literal["queued", "running", "succeeded", "failed"]
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: str
    user: str
    sites: str
    state: JobState
    created_at: float
    step: str = ""
    done: int = 0
    total: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def progress(self) -> float:
        if self.state == "succeeded":
            return 1.0
        return self.done / self.total if self.total else 0.0


class JobRunner:
    def __init__(self, workers: int = 2, keep: int = 200) -> None:
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self._jobs: dict[str, Job] = {}
        self._closed = False
        self._lock = threading.Lock()
        self._keep = keep

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def submit(
        self, kind: str, user: str, sites: str, work: Callable[[Progress], dict[str, Any]]
    ) -> Job:
        job = Job(secrets.token_hex(8), kind, user, sites, "queued", time.time())
        with self._lock:
            self._jobs[job.job_id] = job
            finished = [j for j in self._jobs.values() if j.finished_at is not None]
            for old in sorted(finished, key=lambda j: j.created_at)[: -self._keep or None]:
                if len(self._jobs) > self._keep:
                    del self._jobs[old.job_id]

        def run() -> None:
            self._update(job.job_id, state="running", started_at=time.time())

            def progress(step: str, done: int, total: int) -> None:
                self._update(job.job_id, step=step, done=done, total=total)

            try:
                result = work(progress)
            except Exception as exc:
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                # The trace goes to the server's log, not to the client.
                log.error("job %s (%s) failed:\n%s", job.job_id, kind, traceback.format_exc())
                self._update(job.job_id, state="failed", error=message, finished_at=time.time())
                return
            self._update(job.job_id, state="succeeded", result=result, finished_at=time.time())

        with self._lock:
            if self._closed:  # the app was shut down and started again (tests, reloads)
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="job")
                self._closed = False
            self._pool.submit(run)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created_at, reverse=True)

    def wait(self, job_id: str, timeout_s: float) -> Job | None:
        """For tests and scripts: poll until the job has finished or the time is up."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.get(job_id)
            if job is None or job.finished_at is not None:
                return job
            time.sleep(0.05)
        return self.get(job_id)

    def shutdown(self) -> None:
        with self._lock:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._closed = True
