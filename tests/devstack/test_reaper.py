"""The reaper: what a test process started dies with it, however it dies (SIGKILL included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from bench.children import group_running
from devstack.reaper import ROOT

# A stand-in for pytest: starts a stack part through the ProcessGroup the e2e stacks use, prints
# its pid, then waits to be killed. With RELEASE set it stops watching the part first (as after a
# normal stop) and leaves it running.
PARENT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from devstack import reaper
    from devstack.processes import ProcessGroup

    group = ProcessGroup(env={}, log_dir=Path(sys.argv[1]), commands={"sleeper": "sleep 600"})
    proc = group.start("sleeper")
    if os.environ.get("RELEASE"):
        reaper.release(proc)
    print(proc.pid, flush=True)
    time.sleep(600)
    """
)


def _start_parent(tmp_path: Path, release: bool) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if release:
        env["RELEASE"] = "1"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    return parent, int(parent.stdout.readline())


def _gone_within(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not group_running(pgid):
            return True
        time.sleep(0.1)
    return not group_running(pgid)


def test_a_sigkilled_parent_takes_its_stack_parts_with_it(tmp_path: Path) -> None:
    parent, child = _start_parent(tmp_path, release=False)
    try:
        assert group_running(child)
        parent.kill()  # no finally, no atexit: what a CI timeout or `kill -9` does
        parent.wait(timeout=10)
        assert _gone_within(child, 30), "the stack part outlived the process that started it"
    finally:
        parent.kill()
        if group_running(child):
            os.killpg(child, signal.SIGKILL)


def test_a_released_part_is_left_alone(tmp_path: Path) -> None:
    parent, child = _start_parent(tmp_path, release=True)
    try:
        parent.kill()
        parent.wait(timeout=10)
        time.sleep(2.0)  # the reaper has seen EOF by now and held nothing
        assert group_running(child)
    finally:
        parent.kill()
        if group_running(child):
            os.killpg(child, signal.SIGKILL)
