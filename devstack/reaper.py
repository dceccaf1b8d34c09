"""Stop what a test or bench process started when that process dies without stopping it.

A stack's services run in sessions of their own (so a stop reaches everything they spawn), which
also means nothing stops them when the pytest or bench process that started them is SIGKILLed
(a CI timeout, a killed helper run): whole stacks were left running and loading the machine for
every later run. ``watch(proc)`` hands the child to a small reaper process (one per parent,
started on first use) over a pipe; ``release(proc)`` after a normal stop. When the pipe reaches
EOF, i.e. the parent is gone however it died, the reaper sends SIGTERM to what it still holds and
SIGKILL to what is left a few seconds later.

A pipe rather than ``PR_SET_PDEATHSIG``: the death signal follows the thread that forked (a stack
started from a worker thread would die with that thread), and setting it needs a ``preexec_fn``,
which is unsafe in a process with threads.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["release", "watch"]

ROOT = Path(__file__).resolve().parents[1]
GRACE_S = 5.0

_lock = threading.Lock()
_pipe: int | None = None
_reaper_pid: int | None = None


def _send(line: str) -> None:
    global _pipe, _reaper_pid
    with _lock:
        if _pipe is None or _reaper_pid != _started_by():
            read_end, write_end = os.pipe()
            subprocess.Popen(
                [sys.executable, "-m", "devstack.reaper", str(read_end)],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                pass_fds=(read_end,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                # Its own session: a kill of the parent's process group must not take the reaper too.
                start_new_session=True,
            )
            os.close(read_end)
            _pipe, _reaper_pid = write_end, _started_by()
        os.write(_pipe, line.encode() + b"\n")


def _started_by() -> int:
    # A forked child (multiprocessing) must start its own reaper, not write into its parent's.
    return os.getpid()


def watch(proc: subprocess.Popen[Any], *, group: bool) -> None:
    """Stop ``proc`` (its whole process group if ``group``: it leads a session of its own) if this
    process dies before :func:`release`."""
    _send(f"{'g' if group else 'p'} {proc.pid}")


def release(proc: subprocess.Popen[Any]) -> None:
    """``proc`` was stopped normally: forget it (its pid may be reused)."""
    if _pipe is not None and _reaper_pid == _started_by():
        _send(f"x {proc.pid}")


def _signal(held: dict[int, bool], sig: signal.Signals) -> None:
    for pid, group in held.items():
        try:
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _alive(pid: int, group: bool) -> bool:
    try:
        if group:
            os.killpg(pid, 0)
        else:
            os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def main(fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C to the terminal is the parent's to handle
    held: dict[int, bool] = {}
    with os.fdopen(fd, "rb") as pipe:
        for raw in pipe:
            kind, pid_text = raw.decode().split()
            pid = int(pid_text)
            if kind == "x":
                held.pop(pid, None)
            else:
                held[pid] = kind == "g"
    if not held:
        return
    _signal(held, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and any(_alive(p, g) for p, g in held.items()):
        time.sleep(0.1)
    _signal(held, signal.SIGKILL)


if __name__ == "__main__":
    main(int(sys.argv[1]))
