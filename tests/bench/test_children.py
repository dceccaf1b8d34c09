"""bench/children.py: a child and everything it spawned are gone once its block ends."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import cast

import pytest

from bench import children
from devstack.stack import Stack


def test_a_failure_in_the_block_stops_the_child_and_its_grandchildren(tmp_path: Path) -> None:
    # The grandchild (a background sleep) outlives its parent unless the group is signalled.
    proc = children.spawn(["bash", "-c", "sleep 600 & sleep 600"], cwd=tmp_path, env=dict(os.environ))
    with pytest.raises(RuntimeError, match="the benchmark failed"), children.running(proc, timeout=5):
        time.sleep(0.3)
        assert children.group_running(proc.pid)
        raise RuntimeError("the benchmark failed")
    assert proc.poll() is not None
    assert not children.group_running(proc.pid)


def test_a_child_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    proc = children.spawn(["bash", "-c", "trap '' TERM; sleep 600"], cwd=tmp_path, env=dict(os.environ))
    time.sleep(0.3)
    started = time.monotonic()
    children.stop(proc, timeout=1)
    assert proc.poll() is not None and time.monotonic() - started < 5
    assert not children.group_running(proc.pid)


def test_start_stack_tries_again_on_fresh_ports() -> None:
    calls: list[str] = []
    sentinel = cast(Stack, object())

    def flaky(var_dir: Path, parts: list[str]) -> Stack:
        calls.append(str(var_dir))
        if len(calls) == 1:
            raise RuntimeError("not ready: ['envoy']")  # what a part that lost its port causes
        return sentinel

    retrying = children._on_fresh_ports(flaky)  # a stand-in for devstack's start_stack
    assert retrying(Path("/tmp/x"), ["envoy"]) is sentinel
    assert len(calls) == 2


def test_start_stack_gives_up_after_its_attempts() -> None:
    def broken(var_dir: Path, parts: list[str]) -> Stack:
        raise RuntimeError("not ready")

    with pytest.raises(RuntimeError, match="not ready"):
        children._on_fresh_ports(broken)(Path("/tmp/x"), [])


def test_spawned_children_get_a_group_of_their_own(tmp_path: Path) -> None:
    with children.running(children.spawn(["sleep", "600"], cwd=tmp_path, env=dict(os.environ))) as proc:
        assert os.getpgid(proc.pid) == proc.pid != os.getpgid(0)
    assert proc.returncode is not None and proc.returncode != 0
