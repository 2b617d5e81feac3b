"""Run a local mosquitto broker: for the demo, the tests and the benchmarks.

The plant's own broker is the plant's business; this one exists so that ``make demo``,
the test suite and the benchmarks exercise a real MQTT broker rather than a stand-in.
Persistence is on (queued QoS 1 messages of persistent sessions survive a restart) and
the queue limits are lifted: mosquitto's default of 1,000 queued messages per offline
client would silently drop readings while an ingester restarts.
"""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from shopfloor.errors import ConfigError, ShopfloorError

_CONFIG = """\
listener {port} {host}
allow_anonymous true
# as root mosquitto would switch to user 'mosquitto', who cannot write data_dir
user {user}
persistence true
persistence_location {data}/
autosave_interval {autosave}
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages {inflight}
message_size_limit 0
log_dest file {data}/mosquitto.log
log_type error
log_type warning
log_type notice
log_type subscribe
"""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise ShopfloorError(
                    f"nothing listens on {host}:{port} after {timeout:g} s"
                ) from None
            time.sleep(0.05)


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()),
        None,
    )
    if found is None:
        raise ConfigError(
            "the mosquitto broker is not installed (Debian: sudo apt-get install mosquitto)"
        )
    return found


class MosquittoBroker:
    """A mosquitto process on ``host:port`` keeping its state in ``data_dir``.

    ``stop()`` ends it gracefully (mosquitto saves its queues); ``kill()`` ends it with
    SIGKILL (only what the last autosave wrote survives); ``start()`` again resumes from
    the saved state on the same port.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        autosave_s: int = 1,
        max_inflight: int = 1000,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port or free_port(host)
        self.autosave_s = autosave_s
        self.max_inflight = max_inflight
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> MosquittoBroker:
        if self.process is not None and self.process.poll() is None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "mosquitto.conf"
        config.write_text(
            _CONFIG.format(
                port=self.port,
                host=self.host,
                data=self.data_dir.resolve(),
                autosave=self.autosave_s,
                inflight=self.max_inflight,
                user=getpass.getuser(),
            ),
            encoding="utf-8",
        )
        self.process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_port(self.host, self.port, timeout)
        except ShopfloorError:
            err = self._stop(signal.SIGKILL)
            raise ShopfloorError(f"mosquitto did not start on {self.address}: {err}") from None
        return self

    def _stop(self, sig: int) -> str:
        if self.process is None:
            return ""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            _, err = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        self.process = None
        return (err or b"").decode(errors="replace").strip()

    def stop(self) -> None:
        """Graceful stop: mosquitto writes its persistence file first."""
        self._stop(signal.SIGTERM)

    def kill(self) -> None:
        self._stop(signal.SIGKILL)

    def log(self) -> str:
        path = self.data_dir / "mosquitto.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def wait_for_subscriber(self, client_id: str, timeout: float = 30.0, times: int = 1) -> None:
        """Block until ``client_id`` has subscribed ``times`` times (mosquitto logs each)."""
        deadline = time.monotonic() + timeout
        # with `log_type subscribe`, a line reads "<time>: <client id> <qos> <filter>"
        prefix = client_id + " "
        while (
            sum(line.split(": ", 1)[-1].startswith(prefix) for line in self.log().splitlines())
            < times
        ):
            if time.monotonic() > deadline:
                raise ShopfloorError(f"{client_id} did not subscribe within {timeout:g} s")
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
