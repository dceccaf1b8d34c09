"""The device RPCs over real gRPC (access rules from the contract) against a real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from auth_svc.testing import TokenFactory
from common.auth.access import rules_from_services
from common.auth.interceptor import AuthInterceptor
from common.auth.keys import StaticKeySource
from common.auth.verifier import TokenVerifier
from common.db import make_engine
from common.errors import error_info
from common.mqtt import MqttSettings
from common.server import GrpcService, ServerConfig, start_server
from energypulse.telemetry.v1 import telemetry_service_pb2 as pb
from energypulse.telemetry.v1 import telemetry_service_pb2_grpc as pb_grpc
from ingest_svc.app import migrate
from ingest_svc.devices.broker import BrokerAccess, MosquittoDynsec, NoBrokerControl
from ingest_svc.devices.service import Devices
from ingest_svc.devices.store import DeviceStore
from ingest_svc.intake.metrics import IngestMetrics
from ingest_svc.server import SERVICE, IngestServicer
from tests.ingest_svc.devices.broker_clients import Probe, connect_result
from tests.ingest_svc.mqtt_broker import MosquittoBroker
from tests.ingest_svc.telemetry.test_servicer import household


class Env:
    def __init__(self, stub: pb_grpc.TelemetryServiceStub, factory: TokenFactory, db_url: str) -> None:
        self.stub, self.factory, self.db_url = stub, factory, db_url

    def md(self, role: str) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {self.factory.token(subject=f'{role}-1', role=role)}"),)


async def _serve(tmp_path: Path, access: BrokerAccess) -> AsyncIterator[Env]:
    url = f"sqlite:///{tmp_path / 'ingest.db'}"
    migrate(url)
    engine = make_engine(url)
    factory = TokenFactory()
    verifier = TokenVerifier(
        StaticKeySource(lambda: {factory.kid: factory.public_key}),
        issuer=factory.issuer,
        audience=factory.audience,
    )
    servicer = IngestServicer(engine, IngestMetrics(CollectorRegistry()))
    servicer.devices = Devices(DeviceStore(engine), access)
    running = await start_server(
        ServerConfig(port=0, metrics_port=-1),
        [GrpcService(SERVICE, pb_grpc.add_TelemetryServiceServicer_to_server, servicer)],
        [AuthInterceptor(verifier, rules_from_services([SERVICE]))],
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    yield Env(pb_grpc.TelemetryServiceStub(channel), factory, url)
    await channel.close()
    await running.stop(0)
    access.close()
    engine.dispose()


@pytest.fixture
async def env(tmp_path: Path, shipped: MosquittoBroker) -> AsyncIterator[Env]:
    async for e in _serve(tmp_path, MosquittoDynsec(MqttSettings.load(shipped.ingest_url), "ingest-ctl")):
        yield e


async def _reason(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    return info.value.code(), error_info(info.value).reason


async def test_issue_list_revoke_over_grpc(env: Env, shipped: MosquittoBroker) -> None:
    service = env.md("service")
    await env.stub.RegisterHouseholds(
        pb.RegisterHouseholdsRequest(households=[household("h1", ["m1", "m2"])]), metadata=service
    )
    issued = await env.stub.IssueDeviceCredentials(
        pb.IssueDeviceCredentialsRequest(device_id="gw-1", meter_ids=["m2", "m1"]), metadata=service
    )
    assert issued.username == "gw-1" and issued.created and list(issued.meter_ids) == ["m1", "m2"]
    assert len(issued.password) >= 40
    with make_engine(env.db_url).connect() as conn:
        stored = conn.execute(text("select password_hash from devices")).scalar_one()
    assert issued.password not in stored and stored.startswith("1000$")  # PBKDF2 iterations$salt$hash
    with Probe(shipped, issued.username, issued.password) as probe:
        assert probe.connect_result == "Success"
        listed = await env.stub.ListDevices(pb.ListDevicesRequest(page_size=1), metadata=env.md("admin"))
        assert [(d.device_id, list(d.meter_ids)) for d in listed.devices] == [("gw-1", ["m1", "m2"])]
        assert listed.next_page_token == ""
        revoked = await env.stub.RevokeDevice(pb.RevokeDeviceRequest(device_id="gw-1"), metadata=service)
        assert list(revoked.meter_ids) == ["m1", "m2"]
    assert connect_result(shipped, issued.username, issued.password) == "Not authorized"


async def test_errors_and_access(env: Env) -> None:
    service = env.md("service")
    await env.stub.RegisterHouseholds(
        pb.RegisterHouseholdsRequest(households=[household("h1", ["m1"])]), metadata=service
    )
    issue = env.stub.IssueDeviceCredentials
    code, _ = await _reason(
        issue(pb.IssueDeviceCredentialsRequest(device_id="gw", meter_ids=["m1"]), metadata=env.md("user"))
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
    code, _ = await _reason(issue(pb.IssueDeviceCredentialsRequest(device_id="gw", meter_ids=["m1"])))
    assert code is grpc.StatusCode.UNAUTHENTICATED
    cases = [
        (
            pb.IssueDeviceCredentialsRequest(device_id="a/b", meter_ids=["m1"]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_DEVICE_ID",
        ),
        (
            pb.IssueDeviceCredentialsRequest(device_id="ingest", meter_ids=["m1"]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_DEVICE_ID",
        ),
        (
            pb.IssueDeviceCredentialsRequest(device_id="gw"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "DEVICE_METERS_REQUIRED",
        ),
        (
            pb.IssueDeviceCredentialsRequest(device_id="gw", meter_ids=["nope"]),
            grpc.StatusCode.FAILED_PRECONDITION,
            "METER_NOT_REGISTERED",
        ),
    ]
    for request, want_code, want_reason in cases:
        assert await _reason(issue(request, metadata=service)) == (want_code, want_reason)
    assert await _reason(env.stub.RevokeDevice(pb.RevokeDeviceRequest(device_id="gw"), metadata=service)) == (
        grpc.StatusCode.NOT_FOUND,
        "DEVICE_NOT_FOUND",
    )
    assert await _reason(env.stub.RevokeMeter(pb.RevokeMeterRequest(meter_id="m1"), metadata=service)) == (
        grpc.StatusCode.NOT_FOUND,
        "METER_NOT_PROVISIONED",
    )


async def test_broker_refusal_changes_nothing(tmp_path: Path) -> None:
    async for env in _serve(tmp_path, NoBrokerControl()):
        service = env.md("service")
        await env.stub.RegisterHouseholds(
            pb.RegisterHouseholdsRequest(households=[household("h1", ["m1"])]), metadata=service
        )
        request = pb.IssueDeviceCredentialsRequest(device_id="gw", meter_ids=["m1"])
        assert await _reason(env.stub.IssueDeviceCredentials(request, metadata=service)) == (
            grpc.StatusCode.UNAVAILABLE,
            "BROKER_CONTROL_UNAVAILABLE",
        )
        listed = await env.stub.ListDevices(pb.ListDevicesRequest(), metadata=env.md("admin"))
        assert list(listed.devices) == []
