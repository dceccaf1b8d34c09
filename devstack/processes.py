"""Start, kill and restart the Procfile's processes outside honcho (e2e and fault tests).

Tests must run exactly what the local run runs, so commands come from the Procfile itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack import reaper

__all__ = ["ProcessGroup", "read_procfile"]

ROOT = Path(__file__).resolve().parents[1]


def read_procfile(path: Path = ROOT / "Procfile") -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, command = line.split(":", 1)
        entries[name.strip()] = command.strip()
    return entries


@dataclass
class ProcessGroup:
    """The stack's processes, each with its own log file under ``log_dir``."""

    env: dict[str, str]
    log_dir: Path
    commands: dict[str, str] = field(default_factory=read_procfile)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def _child_env(self) -> dict[str, str]:
        # The children run this interpreter's tools (python, envoy, honcho): its environment has the
        # project installed.
        venv_bin = str(Path(sys.executable).parent)
        return {
            **os.environ,
            **self.env,
            "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
            "PYTHONUNBUFFERED": "1",
        }

    def start(self, name: str) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {self.commands[name]}"],
            cwd=ROOT,
            env=self._child_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        reaper.watch(proc, group=True)
        self.procs[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=30)
        reaper.release(proc)

    def stop(self, name: str, timeout: float = 20.0) -> int | None:
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else None
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait(timeout=10)
        finally:
            reaper.release(proc)

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def wait_exit(self, name: str, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.procs[name].poll()
            if code is not None:
                return code
            time.sleep(0.05)
        return None
