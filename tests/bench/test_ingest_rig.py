"""bench/ingest_rig.py: no port is picked for another process to bind, and no child survives a
failing benchmark (what broke a `./scripts/bench ingest` run: a replica lost the metrics port
picked for it to another process, and the meter simulator kept running after the run died)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench import children
from bench import ingest_rig as rig

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs mosquitto")


def _wait(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    """Every child the rig starts (recorded by wrapping children.spawn)."""
    procs: list[subprocess.Popen[bytes]] = []
    real = children.spawn

    def recording(
        args: list[str], *, cwd: Path, env: dict[str, str], out: int = subprocess.DEVNULL
    ) -> subprocess.Popen[bytes]:
        proc = real(args, cwd=cwd, env=env, out=out)
        procs.append(proc)
        return proc

    monkeypatch.setattr(children, "spawn", recording)
    return procs


def test_a_failing_run_leaves_no_simulator_behind(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    with rig.broker(tmp_path) as broker, pytest.raises(RuntimeError, match="replica died"):
        with rig.simulator(broker.url, meters=5, per_meter=10**6, prefix="fail", interval_s=60.0) as sim:
            assert sim.poll() is None
            raise RuntimeError("replica died")  # what wait_stored raises when a replica exits
    assert [Path(p.args[0]).name for p in spawned] == ["mosquitto", "python"]  # broker, simulator
    assert all(p.poll() is not None and not children.group_running(p.pid) for p in spawned)


def test_a_replica_binds_port_0_and_the_rig_reads_back_its_metrics_port(tmp_path: Path) -> None:
    with rig.broker(tmp_path) as broker:
        [replica] = rig.start_replicas(broker.url, f"sqlite:///{tmp_path / 'i.db'}", 1, tmp_path, "port0")
        try:
            assert _wait(lambda: replica.metrics_port is not None), replica.log_path.read_text()[-2000:]
            assert replica.counters() == (0, 0)  # its /metrics answers: nothing stored yet
        finally:
            replica.stop()
        assert not children.group_running(replica.proc.pid)


def test_replicas_started_before_a_failure_are_stopped(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_wait = rig.MarkerWatch.wait_for

    def second_never_subscribes(self: rig.MarkerWatch, client_id: str, since_ms: int, timeout: float) -> bool:
        return not client_id.endswith("-1") and real_wait(self, client_id, since_ms, timeout)

    monkeypatch.setattr(rig.MarkerWatch, "wait_for", second_never_subscribes)
    with rig.broker(tmp_path) as broker, pytest.raises(RuntimeError, match="did not subscribe"):
        rig.start_replicas(broker.url, f"sqlite:///{tmp_path / 'i.db'}", 2, tmp_path, "half")
    assert len(spawned) == 3  # the broker and both replicas
    assert all(p.poll() is not None and not children.group_running(p.pid) for p in spawned)


def test_a_broker_whose_port_was_taken_starts_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = int(squatter.getsockname()[1])
        picks = iter([taken])
        real_free_port = rig.free_port
        monkeypatch.setattr(rig, "free_port", lambda: next(picks, 0) or real_free_port())
        with rig.broker(tmp_path) as broker:
            assert broker.port != taken
            socket.create_connection(("127.0.0.1", broker.port), timeout=2).close()
