"""A real Mosquitto started from the shipped deploy/mosquitto/mosquitto.conf, on a free port.

Only the listener (loopback, free port), the TLS files, the plugin path and the persistence
directory (a tmp dir) are rewritten (devstack.broker), so the tests prove the configuration the
system actually ships: no anonymous access, the dynamic-security plugin with the shipped ingest
role. ``url`` logs in as the test harness (tests/mqtt_identities.py); ``ingest_url`` as ingest.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devstack import reaper
from devstack.broker import SHIPPED_CONF, ensure_dynsec_config, mosquitto_binary, render_mosquitto_conf
from tests.mqtt_identities import (
    HARNESS_PASSWORD,
    HARNESS_USER,
    INGEST_PASSWORD,
    harness_clients,
    harness_roles,
)

__all__ = ["SHIPPED_CONF", "MosquittoBroker", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MosquittoBroker:
    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        extra_conf: str = "",
        scheme: str = "mqtt",
        extra_clients: Sequence[dict[str, Any]] = (),
        extra_roles: Sequence[dict[str, Any]] = (),
        harness: bool = True,
    ) -> None:
        """``extra_conf`` is appended (it applies to the one listener: TLS files)."""
        self.workdir = workdir
        self.port = port or free_port()
        self.conf_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        clients = [*(harness_clients() if harness else []), *extra_clients]
        roles = [*(harness_roles() if harness else []), *extra_roles]
        ensure_dynsec_config(workdir, INGEST_PASSWORD, clients, roles)
        self.scheme = scheme
        self.conf_path.write_text(render_mosquitto_conf(self.port, workdir, extra=extra_conf))

    @property
    def address(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Logged in as the test harness (may do anything)."""
        return f"{self.scheme}://{HARNESS_USER}:{HARNESS_PASSWORD}@127.0.0.1:{self.port}"

    @property
    def ingest_url(self) -> str:
        """Logged in as the shipped ingest identity."""
        return f"{self.scheme}://ingest:{INGEST_PASSWORD}@127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = mosquitto_binary() or "mosquitto"
        log = open(self.log_path, "ab")
        self._proc = subprocess.Popen([binary, "-c", str(self.conf_path)], stdout=log, stderr=log)
        reaper.watch(self._proc, group=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        """Clean shutdown: Mosquitto writes its persistence file."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._forget()

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._forget()

    def _forget(self) -> None:
        if self._proc is not None:
            reaper.release(self._proc)
        self._proc = None

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()
