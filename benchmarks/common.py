"""Shared helpers for the benchmarks: machine facts, peak-memory sampling, a throwaway PostgreSQL.

Nothing here imports shopfloor, so the helpers can run before (and without) the package.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import psutil

REPO = Path(__file__).resolve().parent.parent


# -- machine -------------------------------------------------------------------------------
def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def warm_file(path: Path, chunk: int = 1 << 24) -> None:
    """Read a file once so every system starts from the same (warm) page cache."""
    with path.open("rb", buffering=0) as handle:
        while handle.read(chunk):
            pass


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# -- memory sampling -------------------------------------------------------------------------
class Sampling:
    """A background thread calling ``sample()`` every ``interval`` s inside ``with``.

    Subclasses (dataclasses) provide ``sample``, ``interval``, ``_stop`` and ``_thread``.
    """

    interval: float
    _stop: threading.Event
    _thread: threading.Thread | None

    def sample(self) -> None:
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@dataclass
class MemoryPeak(Sampling):
    """Peak of the summed RSS and PSS of a set of process trees, sampled every ``interval`` s.

    RSS summed over several processes counts shared pages (PostgreSQL's shared buffers)
    once per process; PSS splits each shared page between the processes that map it, so
    the PSS sum is the honest total for a multi-process server.  For one process the two
    are close (PSS is a little lower: shared libraries).
    """

    roots: list[int]
    interval: float = 0.1
    extra: Any = None  # callable returning more pids to include (e.g. a server's processes)
    peak_rss: int = 0
    peak_pss: int = 0
    samples: int = 0
    cpu_first: dict[int, float] = field(default_factory=dict)
    cpu_last: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _pids(self) -> set[int]:
        pids: set[int] = set()
        for root in self.roots:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(root)
                pids.add(root)
                pids.update(c.pid for c in proc.children(recursive=True))
        if self.extra is not None:
            with contextlib.suppress(Exception):
                pids.update(self.extra())
        return pids

    def sample(self) -> None:
        rss = pss = 0
        for pid in self._pids():
            with contextlib.suppress(psutil.Error, OSError):
                proc = psutil.Process(pid)
                times = proc.cpu_times()
                used = times.user + times.system
                # Processes already running at the first sample (a server) count from there.
                self.cpu_first.setdefault(pid, used if self.samples == 0 else 0.0)
                self.cpu_last[pid] = used
                try:
                    info = proc.memory_full_info()
                    rss += info.rss
                    pss += getattr(info, "pss", info.rss)
                except psutil.AccessDenied:
                    r = proc.memory_info().rss
                    rss += r
                    pss += r
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.samples += 1

    @property
    def cpu_s(self) -> float:
        """CPU seconds the sampled processes used while sampled (the last 0.1 s of a process
        that exits between samples is missed)."""
        return sum(last - self.cpu_first.get(pid, 0.0) for pid, last in self.cpu_last.items())


def run_worker(
    args: Sequence[str],
    *,
    extra_pids: Any = None,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``python <args>`` in a fresh process; returns its JSON result (last stdout line)
    plus wall seconds and peak memory of its process tree (and of ``extra_pids()``)."""
    cmd = [sys.executable, *args]
    load = os.getloadavg()[0]
    busy0 = _busy_cpu_s()
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, **(env or {})}
    )
    with MemoryPeak([proc.pid], extra=extra_pids) as mem:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        # ru_maxrss of waited-for children: the kernel's exact peak of the largest one.
    wall = time.perf_counter() - started
    busy = _busy_cpu_s() - busy0
    if proc.returncode != 0:
        raise RuntimeError(f"worker {' '.join(args[:3])} failed with exit code {proc.returncode}")
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    result.setdefault("wall_s", wall)
    result["process_wall_s"] = wall
    result["peak_rss_mb"] = round(mem.peak_rss / 2**20, 1)
    result["peak_pss_mb"] = round(mem.peak_pss / 2**20, 1)
    result["mem_samples"] = mem.samples
    result["tree_cpu_s"] = round(mem.cpu_s, 2)
    # Contention: CPU the rest of the machine used meanwhile (other users' jobs, this script).
    result["other_cpu_s"] = round(max(0.0, busy - mem.cpu_s), 2)
    result["loadavg_1m_before"] = round(load, 2)
    return result


def _busy_cpu_s() -> float:
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0))


# -- PostgreSQL ------------------------------------------------------------------------------
PG_USER = "postgres"
PG_FALLBACK_USER = "shopfloorbench"

# A production-like server for bulk loads: fsync on, WAL on (replica), checkpoints spaced
# out as anyone loading 100M rows would configure them.
PG_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "1GB",
    "maintenance_work_mem": "512MB",
    "work_mem": "64MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "wal_compression": "off",
    "synchronous_commit": "on",
    "fsync": "on",
    "max_parallel_workers_per_gather": "2",
    "jit": "off",
    "logging_collector": "off",
}


def find_pg_bin() -> Path | None:
    for candidate in [
        Path("/usr/local/bin"),
        *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True),
    ]:
        if (
            (candidate / "initdb").exists()
            and (candidate / "pg_ctl").exists()
            and (candidate / "postgres").exists()
        ):
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def ensure_pg_bin(install: bool = True) -> Path:
    """Server binaries, installing the distribution's package when root and missing."""
    found = find_pg_bin()
    if found is None and install and os.geteuid() == 0 and shutil.which("apt-get"):
        print("PostgreSQL server binaries not found: apt-get install -y postgresql", flush=True)
        subprocess.run(["apt-get", "install", "-y", "postgresql"], check=False)
        found = find_pg_bin()
    if found is None:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in /usr/local/bin, "
            "/usr/lib/postgresql/*/bin or PATH; install PostgreSQL or pass --skip-postgres"
        )
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> str:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    for name in (PG_USER, PG_FALLBACK_USER):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", PG_FALLBACK_USER], check=True)
    return PG_FALLBACK_USER


@dataclass
class PgServer:
    bindir: Path
    root: Path
    port: int
    user: str
    version: str

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={dbname}"

    def pids(self) -> list[int]:
        """The postmaster and all its children (backends, checkpointer, walwriter...)."""
        pidfile = self.datadir / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(pidfile.read_text().splitlines()[0])
            proc = psutil.Process(pid)
            return [pid, *(c.pid for c in proc.children(recursive=True))]
        return []

    def size_bytes(self) -> int:
        return dir_bytes(self.datadir)


def _as_user(user: str, cmd: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def postgres_server(bindir: Path, base: Path | None = None) -> Iterator[PgServer]:
    """A fresh cluster on a free loopback port; stopped and deleted on exit, even on error."""
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="shopfloor-pg-", dir=base or "/tmp"))
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, user)
    port = _free_port()
    version = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    server = PgServer(bindir, root, port, user, version)
    started = False
    try:
        subprocess.run(
            _as_user(
                user,
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(server.datadir),
                    "-U",
                    user,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=root,
        )
        opts = " ".join(f"-c {k}={v}" for k, v in PG_SETTINGS.items())
        opts += f" -p {port} -k {root}"
        subprocess.run(
            _as_user(
                user,
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(server.datadir),
                    "-l",
                    str(root / "server.log"),
                    "-o",
                    opts,
                    "-w",
                    "-t",
                    "120",
                    "start",
                ],
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=root,
        )
        started = True
        yield server
    finally:
        if started:
            subprocess.run(
                _as_user(
                    user,
                    [str(bindir / "pg_ctl"), "-D", str(server.datadir), "-m", "fast", "-w", "stop"],
                ),
                check=False,
                stdout=subprocess.DEVNULL,
                cwd=root,
            )
        shutil.rmtree(root, ignore_errors=True)


# -- output ----------------------------------------------------------------------------------
def fmt_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = []
    for n, row in enumerate(cells):
        out.append(
            "  ".join(
                c.rjust(w) if n and i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value >= 1000:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if value < 0.1 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
