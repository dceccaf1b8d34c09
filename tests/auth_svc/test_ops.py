"""The operator's health monitor and OpsService against real gRPC servers on loopback: replicas,
versions and uptime from the health answer, degraded and down services, the alert after the
delay (gauge and log event), bounded 24 h history, and the RPC for admins only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2
from prometheus_client import REGISTRY

from auth_svc.ops.monitor import HealthMonitor, MonitorTarget, ProbeResult, resolve_endpoints
from auth_svc.ops.servicer import OpsServicer
from common.errors import InvalidArgument, error_info
from common.instance import current
from common.server import RunningServer, ServerConfig, start_server
from energypulse.auth.v1 import auth_service_pb2 as auth_pb
from energypulse.ops.v1 import ops_service_pb2 as pb
from energypulse.ops.v1 import ops_service_pb2_grpc
from tests.auth_svc.conftest import NOW, Clock, Server
from tests.demo_accounts import DEMO_ADMIN_PASSWORD, DEMO_USER_PASSWORD

LEDGER = "energypulse.ledger.v1.LedgerService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
async def replicas() -> AsyncIterator[list[RunningServer]]:
    """Two replicas of a service, started by the shared bootstrap (so they identify themselves)."""
    started = [await start_server(ServerConfig(port=0), []) for _ in range(2)]
    for running in started:
        await running.health.set(LEDGER, SERVING)
    yield started
    for running in started:
        await running.stop(None)


def _monitor(replicas: list[RunningServer], clock: Clock, alert_after_s: float = 60) -> HealthMonitor:
    address = "ipv4:" + ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    return HealthMonitor(
        [MonitorTarget("ledger-test", LEDGER, address)],
        interval_s=10,
        alert_after_s=alert_after_s,
        history_s=24 * 3600,
        clock=clock,
    )


def _gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_replicas_versions_uptime_degraded_down_and_alert_after_a_minute(
    replicas: list[RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(NOW)
    monitor = _monitor(replicas, clock)
    state = monitor.services[0]
    await monitor.probe_once()
    assert state.status == pb.SERVICE_STATUS_SERVING
    assert [r.serving for r in state.replicas] == [True, True]
    me = current()
    assert {r.instance.version for r in state.replicas} == {me.version} and me.version
    assert me.start_time is not None
    for r in state.replicas:
        assert r.instance.start_time == pytest.approx(me.start_time, abs=0.001) and r.instance.name == me.name
    assert all(r.latency_ms > 0 for r in state.replicas)
    assert _gauge("energypulse_ops_replicas", service="ledger-test", state="total") == 2
    started = _gauge(
        "energypulse_ops_replica_start_time_seconds",
        service="ledger-test",
        endpoint=state.replicas[0].endpoint,
    )
    assert started == pytest.approx(me.start_time, abs=0.001)

    await replicas[0].health.set(LEDGER, NOT_SERVING)
    clock.now += 10
    await monitor.probe_once()
    assert state.status == pb.SERVICE_STATUS_DEGRADED
    assert state.replicas[0].error == "NOT_SERVING" and state.replicas[1].serving

    await replicas[1].stop(None)  # gone: the probe fails with UNAVAILABLE
    for _ in range(6):  # 60 s of DOWN: no alert before the delay has passed
        clock.now += 10
        await monitor.probe_once()
        assert state.status == pb.SERVICE_STATUS_DOWN
        if clock.now - (state.unhealthy_since or clock.now) < 60:
            assert state.alert_fired_at is None
    assert state.unhealthy_since == NOW + 10
    assert state.alert_fired_at == NOW + 70
    assert state.replicas[1].error.startswith("UNAVAILABLE") or state.replicas[1].error.startswith("DEADLINE")
    assert _gauge("energypulse_ops_service_alert", service="ledger-test") == 1
    fired = [r for r in caplog.records if r.getMessage() == "service_alert_firing"]
    assert len(fired) == 1 and fired[0].levelname == "WARNING"

    # The RPC shows the alert, the status since when, and the history of the window.
    answer = await OpsServicer(monitor).GetServiceHealth(pb.GetServiceHealthRequest(step_seconds=10), None)  # type: ignore[arg-type]
    service = answer.services[0]
    assert (
        service.alert.since_time.seconds == int(NOW + 10) and service.alert.status == pb.SERVICE_STATUS_DOWN
    )
    assert [s.status for s in service.history] == [pb.SERVICE_STATUS_SERVING, pb.SERVICE_STATUS_DEGRADED] + [
        pb.SERVICE_STATUS_DOWN
    ] * 6
    assert service.availability == pytest.approx(1 / 8)
    assert [s.replicas_serving for s in service.history[:3]] == [2, 1, 0]

    await replicas[0].health.set(LEDGER, SERVING)
    clock.now += 10
    await monitor.probe_once()
    assert state.status == pb.SERVICE_STATUS_DEGRADED  # one of two back: still an alert
    assert _gauge("energypulse_ops_service_alert", service="ledger-test") == 1


async def test_recovery_clears_the_alert_and_a_short_blip_never_raises_one(
    replicas: list[RunningServer],
) -> None:
    clock = Clock(NOW)
    monitor = _monitor(replicas, clock, alert_after_s=30)
    state = monitor.services[0]
    await replicas[0].health.set(LEDGER, NOT_SERVING)
    for _ in range(2):  # 20 s unhealthy, recovered before 30 s
        await monitor.probe_once()
        clock.now += 10
    await replicas[0].health.set(LEDGER, SERVING)
    await monitor.probe_once()
    assert state.alert_fired_at is None and state.unhealthy_since is None
    await replicas[0].health.set(LEDGER, NOT_SERVING)
    for _ in range(4):
        clock.now += 10
        await monitor.probe_once()
    assert state.alert_fired_at is not None
    await replicas[0].health.set(LEDGER, SERVING)
    clock.now += 10
    await monitor.probe_once()
    assert state.alert_fired_at is None
    assert _gauge("energypulse_ops_service_alert", service="ledger-test") == 0


async def test_history_is_bounded_to_the_retention() -> None:
    clock = Clock(NOW)

    async def probe(endpoint: str, service: str, timeout: float) -> ProbeResult:
        return ProbeResult(endpoint, True, 1.0, current(), "", clock.now)

    monitor = HealthMonitor(
        [MonitorTarget("bounded", LEDGER, "127.0.0.1:1")],
        interval_s=60,
        alert_after_s=60,
        history_s=3600,
        probe=probe,
        clock=clock,
    )
    for _ in range(200):  # 200 minutes of rounds, one hour kept
        await monitor.probe_once()
        clock.now += 60
    history = monitor.services[0].history
    assert len(history) <= 62 and history[0].at >= clock.now - 60 - 3600
    answer = await OpsServicer(monitor).GetServiceHealth(pb.GetServiceHealthRequest(), None)  # type: ignore[arg-type]
    assert 0 < len(answer.services[0].history) <= 61 and answer.step_seconds == 60
    for bad in (pb.GetServiceHealthRequest(window_seconds=3601), pb.GetServiceHealthRequest(step_seconds=-1)):
        with pytest.raises(InvalidArgument) as raised:
            await OpsServicer(monitor).GetServiceHealth(bad, None)  # type: ignore[arg-type]
        assert raised.value.reason == "HEALTH_WINDOW_INVALID"


async def test_addresses_name_their_replicas() -> None:
    asked: list[tuple[str, int]] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["10.0.0.1:50053", "10.0.0.2:50053"]

    assert await resolve_endpoints("ipv4:127.0.0.1:1,127.0.0.1:2") == ["127.0.0.1:1", "127.0.0.1:2"]
    assert await resolve_endpoints("dns:///ledger_svc:50053", resolver) == [
        "10.0.0.1:50053",
        "10.0.0.2:50053",
    ]
    assert asked == [("ledger_svc", 50053)]
    assert await resolve_endpoints("127.0.0.1:50053") == ["127.0.0.1:50053"]
    assert await resolve_endpoints("dns:///no-such-host.invalid:1") == []


async def test_get_service_health_is_for_admins_only(server: Server) -> None:
    await server.app.monitor.probe_once()  # the configured (default) targets: most refuse to connect
    stub = ops_service_pb2_grpc.OpsServiceStub(server.channel)
    tokens = {}
    for name, password in (("admin", DEMO_ADMIN_PASSWORD), ("household-0001", DEMO_USER_PASSWORD)):
        login = await server.stub.Login(auth_pb.LoginRequest(username=name, password=password))
        tokens[name] = login.tokens.access_token
    answer = await stub.GetServiceHealth(
        pb.GetServiceHealthRequest(), metadata=(("authorization", f"Bearer {tokens['admin']}"),)
    )
    assert [s.service for s in answer.services] == [
        "auth",
        "prediction",
        "ledger",
        "telemetry",
        "alert",
        "witness",
    ]
    assert all(s.status != pb.SERVICE_STATUS_UNSPECIFIED for s in answer.services)
    for metadata in ((("authorization", f"Bearer {tokens['household-0001']}"),), ()):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.GetServiceHealth(pb.GetServiceHealthRequest(), metadata=metadata)
        assert raised.value.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)
        assert error_info(raised.value) is not None


async def test_the_witness_is_watched_over_http_and_alert_svc_over_grpc() -> None:
    """The operator's page covers every service: alert_svc (gRPC health) and the witness, which
    serves HTTP only (its /healthz is 503 until its first cosignature, then 200)."""
    import http.server
    import threading

    from auth_svc.config import AuthConfig
    from auth_svc.server import monitor_targets

    targets = {t.service: t for t in monitor_targets(AuthConfig())}
    assert targets["alert"].grpc_service == "energypulse.alert.v1.AlertService"
    assert targets["witness"].kind == "http" and targets["witness"].address == "http://127.0.0.1:50060"
    assert "witness" not in {t.service for t in monitor_targets(AuthConfig(monitor_witness_url=""))}

    answers = {"/healthz": 503}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(answers.get(self.path, 404))
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    clock = Clock(NOW)
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    monitor = HealthMonitor(
        [MonitorTarget("witness-test", "", url + "/", kind="http")],
        interval_s=10,
        alert_after_s=20,
        history_s=3600,
        clock=clock,
    )
    try:
        await monitor.probe_once()
        state = monitor.services[0]
        assert state.status == pb.SERVICE_STATUS_DOWN and state.replicas[0].error == "HTTP 503"
        assert state.replicas[0].endpoint == url  # the base URL, probed at /healthz
        answers["/healthz"] = 200
        clock.now += 10
        await monitor.probe_once()
        assert state.status == pb.SERVICE_STATUS_SERVING and state.replicas[0].serving
        assert _gauge("energypulse_ops_replica_up", service="witness-test", endpoint=url) == 1
        httpd.shutdown()
        httpd.server_close()
        for _ in range(3):  # gone for 30 s: refused connections count as down, and the alert fires
            clock.now += 10
            await monitor.probe_once()
        assert state.status == pb.SERVICE_STATUS_DOWN and state.replicas[0].error
        assert _gauge("energypulse_ops_service_alert", service="witness-test") == 1
    finally:
        httpd.server_close()
