"""The operator's "service unhealthy for a minute" alert with a real dying service: auth_svc (whose
health monitor probes every replica) and two ledger_svc replicas as processes on one PostgreSQL
database; one ledger replica is killed, the alert fires once the configured delay has passed (a
few seconds here, EP_AUTH_HEALTH_ALERT_AFTER_S; a minute by default) in OpsService, the Prometheus
gauge and the log, and clears when the replica is back."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from devstack.stack import Stack, start_stack
from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from energypulse.ops.v1 import ops_service_pb2 as pb
from energypulse.ops.v1 import ops_service_pb2_grpc
from tests.conftest import private_database

ALERT_AFTER_S = 3.0
CAP_S = 120.0  # a cap on every wait for a condition, not a timing assertion
T = TypeVar("T")


@pytest.fixture(scope="module")
def small_stack(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Stack]:
    with private_database(postgres_url, "ep_service_alert") as url:
        stack = start_stack(
            tmp_path_factory.mktemp("service-alert"),
            ["auth_svc", "ledger_svc"],
            meters=1,
            timeout=180,
            replicas={"ledger_svc": 2},
            database_url=url,
            extra_env={
                "EP_AUTH_HEALTH_PROBE_INTERVAL_S": "0.5",
                "EP_AUTH_HEALTH_ALERT_AFTER_S": str(ALERT_AFTER_S),
            },
        )
        yield stack
        stack.close()


def _wait_for(probe: Callable[[], T | None], what: str) -> T:
    deadline = time.monotonic() + CAP_S
    while True:
        found = probe()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"no {what} within {CAP_S:.0f} s"
        time.sleep(0.2)


def _gauge(stack: Stack, name: str, service: str) -> float | None:
    url = f"http://127.0.0.1:{stack.ports['auth_metrics']}/metrics"
    body = urllib.request.urlopen(url, timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(f'{name}{{service="{service}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_a_killed_ledger_replica_raises_the_operators_alert_after_the_delay_and_recovery_clears_it(
    small_stack: Stack,
) -> None:
    login = auth_service_pb2_grpc.AuthServiceStub(small_stack.channel("auth")).Login(
        auth_service_pb2.LoginRequest(username="admin", password="admin-demo"), timeout=30
    )
    ops = ops_service_pb2_grpc.OpsServiceStub(small_stack.channel("auth"))
    metadata = (("authorization", f"Bearer {login.tokens.access_token}"),)

    def ledger() -> pb.ServiceHealth:
        answer = ops.GetServiceHealth(
            pb.GetServiceHealthRequest(window_seconds=600, step_seconds=1), metadata=metadata, timeout=10
        )
        assert answer.alert_after_seconds == ALERT_AFTER_S
        return next(s for s in answer.services if s.service == "ledger")

    def serving() -> pb.ServiceHealth | None:
        s = ledger()
        return s if s.status == pb.SERVICE_STATUS_SERVING and len(s.replicas) == 2 else None

    def settled() -> pb.ServiceHealth | None:  # serving for a few whole history buckets
        s = serving()
        known = [h.status for h in s.history if h.status != pb.SERVICE_STATUS_UNSPECIFIED] if s else []
        return s if known[-3:] == [pb.SERVICE_STATUS_SERVING] * 3 else None

    healthy = _wait_for(settled, "SERVING ledger with two replicas")
    assert not healthy.HasField("alert")

    small_stack.processes.kill("ledger_svc-2")
    small_stack.processes.wait_exit("ledger_svc-2", 30)

    def firing() -> pb.ServiceHealth | None:
        s = ledger()
        return s if s.HasField("alert") else None

    fired = _wait_for(firing, "alert for the ledger")
    alert = fired.alert
    assert alert.status == pb.SERVICE_STATUS_DEGRADED  # one of two replicas answers
    unhealthy_for = (alert.fire_time.ToMilliseconds() - alert.since_time.ToMilliseconds()) / 1000
    assert unhealthy_for >= ALERT_AFTER_S  # not before the configured delay
    assert sorted(r.serving for r in fired.replicas) == [False, True]
    assert _gauge(small_stack, "energypulse_ops_service_alert", "ledger") == 1.0
    assert "service_alert_firing" in small_stack.processes.log_tail("auth_svc", 400)

    small_stack.processes.start("ledger_svc-2")  # back: the alert clears
    recovered = _wait_for(settled, "recovered ledger")
    assert not recovered.HasField("alert")
    assert _gauge(small_stack, "energypulse_ops_service_alert", "ledger") == 0.0
    assert "service_alert_resolved" in small_stack.processes.log_tail("auth_svc", 400)
    # The history (1 s buckets) shows the episode: serving, degraded for at least the delay, serving
    # (before it, the start-up: replica 2 starts once replica 1 serves).
    statuses = [h.status for h in recovered.history if h.status != pb.SERVICE_STATUS_UNSPECIFIED]
    runs = [st for i, st in enumerate(statuses) if i == 0 or statuses[i - 1] != st]
    assert runs[-3:] == [pb.SERVICE_STATUS_SERVING, pb.SERVICE_STATUS_DEGRADED, pb.SERVICE_STATUS_SERVING]
    last_degraded = len(statuses) - 1 - statuses[::-1].index(pb.SERVICE_STATUS_DEGRADED)
    episode = 0
    while statuses[last_degraded - episode] == pb.SERVICE_STATUS_DEGRADED:
        episode += 1
    assert episode >= ALERT_AFTER_S
