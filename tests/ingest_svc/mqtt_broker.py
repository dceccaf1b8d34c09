"""A real Mosquitto started from the shipped deploy/mosquitto/mosquitto.conf, on a free port.

Only the listener (loopback, free port) and the persistence directory (a tmp dir) are rewritten,
so the tests prove the configuration the system actually ships.
"""

from __future__ import annotations

import getpass
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["SHIPPED_CONF", "MosquittoBroker", "free_port"]

SHIPPED_CONF = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MosquittoBroker:
    def __init__(
        self, workdir: Path, port: int | None = None, extra_conf: str = "", scheme: str = "mqtt"
    ) -> None:
        """``extra_conf`` is appended (it applies to the one listener: TLS files, password_file)."""
        self.workdir = workdir
        self.port = port or free_port()
        self.conf_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        text = SHIPPED_CONF.read_text()
        text = re.sub(r"(?m)^listener .*$", f"listener {self.port} 127.0.0.1", text)
        text = re.sub(r"(?m)^persistence_location .*$", f"persistence_location {workdir}/", text)
        # Mosquitto started as root drops to user "mosquitto", which cannot write a pytest tmp dir.
        text += f"\nuser {getpass.getuser()}\n{extra_conf}"
        self.scheme = scheme
        self.conf_path.write_text(text)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self._proc = subprocess.Popen(["mosquitto", "-c", str(self.conf_path)], stdout=log, stderr=log)
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
        self._proc = None

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()
