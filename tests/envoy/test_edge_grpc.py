"""The edge as a gRPC endpoint (a real Envoy in front of real auth_svc and ledger_svc): reflection and
health through one listener, both behind a token; /healthz follows the backends; the contract
documents are served without a token. grpcurl is the client, as an integrator uses it.

predict_svc, ingest_svc and alert_svc are stood in for by a real gRPC health server on loopback (their model
training makes a full stack slow to start): Envoy only health-checks them here.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from devstack.stack import Stack, start_stack

ROOT = Path(__file__).resolve().parents[2]
GRPCURL = ROOT / ".venv" / "bin" / "grpcurl"
AUTH = "energypulse.auth.v1.AuthService"
LEDGER = "energypulse.ledger.v1.LedgerService"
PREDICTION = "energypulse.prediction.v1.PredictionService"
TELEMETRY = "energypulse.telemetry.v1.TelemetryService"
ALERT = "energypulse.alert.v1.AlertService"
APP_ORIGIN = "https://app.example.com"
CAP_S = 60.0  # a cap for waits on health checks, not a timing assertion


@dataclass
class StandIns:
    servicers: dict[str, health.HealthServicer]
    ports: dict[str, int]


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[StandIns]:
    servers, found = [], StandIns({}, {})
    for name, service in (("predict", PREDICTION), ("ingest", TELEMETRY), ("alert", ALERT)):
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        servicer = health.HealthServicer()
        servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
        servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        found.servicers[name], found.ports[name] = servicer, port
    yield found
    for server in servers:
        server.stop(None)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, stand_ins: StandIns) -> Iterator[Stack]:
    ports = stand_ins.ports
    extra = {f"EP_{name.upper()}_GRPC_PORT{s}": str(ports[name]) for name in ports for s in ("", "S")}
    extra["EP_EDGE_CORS_ORIGINS"] = APP_ORIGIN
    running = start_stack(
        tmp_path_factory.mktemp("edge"), ["auth_svc", "ledger_svc", "envoy"], extra_env=extra
    )
    yield running
    running.close()


@pytest.fixture(scope="module")
def token(edge: Stack) -> str:
    return edge.login("admin", "admin-demo")


def _grpcurl(edge: Stack, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    # grpcurl [flags] address verb-or-method [symbol]; -H sends the token on reflection and calls.
    flags = ["-plaintext", *(["-H", f"authorization: Bearer {token}"] if token else [])]
    flags += [a for a in args if a.startswith("-")]
    rest = [a for a in args if not a.startswith("-")]
    return subprocess.run(
        [str(GRPCURL), *flags, edge.target("edge"), *rest], capture_output=True, text=True, timeout=60
    )


def _get(edge: Stack, path: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(edge.base_url + path, timeout=10) as response:
            return response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("content-type", "")


def _wait_status(edge: Stack, path: str, wanted: int) -> int:
    deadline = time.monotonic() + CAP_S
    status = _get(edge, path)[0]
    while status != wanted and time.monotonic() < deadline:
        time.sleep(0.5)
        status = _get(edge, path)[0]
    return status


def test_grpcurl_lists_every_service_through_the_edge(edge: Stack, token: str) -> None:
    listed = _grpcurl(edge, "list", token=token)
    assert listed.returncode == 0, listed.stderr
    assert {AUTH, LEDGER, PREDICTION, TELEMETRY, "grpc.health.v1.Health"} <= set(listed.stdout.split())


def test_grpcurl_describes_and_calls_a_method_of_another_upstream(edge: Stack, token: str) -> None:
    described = _grpcurl(edge, "describe", f"{LEDGER}.GetSignedHead", token=token)
    assert described.returncode == 0, described.stderr
    assert "rpc GetSignedHead ( .energypulse.ledger.v1.GetSignedHeadRequest )" in described.stdout
    message = _grpcurl(edge, "describe", ".energypulse.prediction.v1.GetPriceForecastRequest", token=token)
    assert message.returncode == 0 and "message GetPriceForecastRequest" in message.stdout, message.stderr
    called = _grpcurl(edge, f"{LEDGER}/GetSignedHead", token=token)  # reflection at auth, call at ledger
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["head"]["key_id"]  # grpcurl prints proto field names


def test_reflection_through_the_edge_needs_a_token(edge: Stack) -> None:
    listed = _grpcurl(edge, "list")
    assert listed.returncode != 0
    assert "Unauthenticated" in listed.stderr, listed.stderr


def test_health_check_through_the_edge_reaches_the_named_service(edge: Stack, token: str) -> None:
    metadata = (("authorization", f"Bearer {token}"),)
    stub = health_pb2_grpc.HealthStub(edge.channel("edge"))
    for service in (AUTH, LEDGER, PREDICTION, TELEMETRY, ""):
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), metadata=metadata, timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
    with pytest.raises(grpc.RpcError) as unknown:
        stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), metadata=metadata, timeout=10)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as anonymous:
        stub.Check(health_pb2.HealthCheckRequest(service=LEDGER), timeout=10)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_watch_through_the_edge_streams_status_changes(
    edge: Stack, token: str, stand_ins: StandIns
) -> None:
    metadata = (("authorization", f"Bearer {token}"),)
    stub = health_pb2_grpc.HealthStub(edge.channel("edge"))
    watch = stub.Watch(health_pb2.HealthCheckRequest(service=PREDICTION), metadata=metadata, timeout=CAP_S)
    try:
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        stand_ins.servicers["predict"].set(PREDICTION, health_pb2.HealthCheckResponse.NOT_SERVING)
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        watch.cancel()
        stand_ins.servicers["predict"].set(PREDICTION, health_pb2.HealthCheckResponse.SERVING)


def test_healthz_follows_the_backends(edge: Stack) -> None:
    assert _wait_status(edge, "/healthz", 200) == 200
    edge.processes.stop("ledger_svc")
    try:
        assert _wait_status(edge, "/healthz", 503) == 503  # one upstream without a healthy endpoint
        assert _get(edge, "/livez")[0] == 200  # Envoy itself is still up
    finally:
        edge.processes.start("ledger_svc")
    assert _wait_status(edge, "/healthz", 200) == 200


def test_contract_documents_need_no_token(edge: Stack, token: str, tmp_path: Path) -> None:
    status, body, content_type = _get(edge, "/contracts/openapi.json")
    assert status == 200 and content_type == "application/json"
    assert json.loads(body)["openapi"].startswith("3.")
    status, body, _ = _get(edge, "/contracts/energypulse.protoset")
    assert status == 200
    assert body == (ROOT / "build" / "energypulse.pb").read_bytes()
    # The protoset is what grpcurl needs without reflection.
    protoset = tmp_path / "energypulse.protoset"
    protoset.write_bytes(body)
    called = _grpcurl(edge, f"-protoset={protoset}", f"{LEDGER}/GetSignedHead", token=token)
    assert called.returncode == 0, called.stderr


def _preflight(edge: Stack, origin: str) -> dict[str, str]:
    request = urllib.request.Request(
        edge.base_url + "/api/v1/ledger/head",
        method="OPTIONS",
        headers={
            "origin": origin,
            "access-control-request-method": "GET",
            "access-control-request-headers": "authorization",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return {k.lower(): v for k, v in error.headers.items()}


def test_cors_allows_the_configured_origin_only(edge: Stack, token: str) -> None:
    allowed = _preflight(edge, APP_ORIGIN)  # no token on a preflight: the browser sends none
    assert allowed.get("access-control-allow-origin") == APP_ORIGIN
    assert "authorization" in allowed.get("access-control-allow-headers", "")
    assert "access-control-allow-origin" not in _preflight(edge, "https://evil.example")
    status, body = edge.api("GET", "/api/v1/ledger/head", token=token, headers={"origin": APP_ORIGIN})
    assert status == 200, body
