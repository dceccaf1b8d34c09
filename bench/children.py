"""The benchmarks' child processes: each started in a process group of its own and stopped, group
and all, however the benchmark ends (``running`` is the try/finally for one of them)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, ParamSpec

import psutil

from devstack import reaper
from devstack.stack import Stack
from devstack.stack import start_stack as _start_stack

__all__ = ["group_running", "running", "spawn", "start_stack", "stop"]

STACK_ATTEMPTS = 2
P = ParamSpec("P")


def spawn(
    args: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    out: IO[bytes] | int = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """Start ``args`` as the leader of a new process group (so ``stop`` reaches what it spawns)."""
    proc = subprocess.Popen(list(args), cwd=cwd, env=env, stdout=out, stderr=out, start_new_session=True)
    reaper.watch(proc, group=True)
    return proc


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:  # the whole group is gone already
        pass


def group_running(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still runs (a killed orphan may linger as a zombie
    until init reaps it: that one no longer runs)."""
    for candidate in psutil.process_iter(["status"]):
        try:
            if os.getpgid(candidate.pid) == pgid and candidate.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def stop(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM to the process group (a service drains), SIGKILL to what is left after ``timeout``."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    # Also after the leader exited: a grandchild may still hold the group.
    _signal_group(proc, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(timeout=10)
    # SIGKILL takes effect when the process next runs: on a busy machine a grandchild can still be
    # running for a moment after killpg returns. Return only once the whole group has gone.
    deadline = time.monotonic() + 10
    while group_running(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    reaper.release(proc)


@contextmanager
def running(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> Iterator[subprocess.Popen[bytes]]:
    """``proc`` for the block, stopped when it ends (normally, on an error or on Ctrl-C)."""
    try:
        yield proc
    finally:
        stop(proc, timeout)


def _on_fresh_ports(start: Callable[P, Stack]) -> Callable[P, Stack]:
    """``start`` tried again when it fails: the stack's ports are picked before its processes bind
    them, so another program can take one in between (that part never becomes ready, and
    start_stack stops everything it started before it raises); each try picks ports anew."""

    @functools.wraps(start)
    def retrying(*args: P.args, **kwargs: P.kwargs) -> Stack:
        for attempt in range(1, STACK_ATTEMPTS + 1):
            try:
                return start(*args, **kwargs)
            except RuntimeError:
                if attempt == STACK_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    return retrying


start_stack = _on_fresh_ports(_start_stack)
