"""common.auth.interceptor on a real gRPC server: who may call what."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from auth_svc.testing import TokenFactory
from common.auth.access import rules_from_services
from common.auth.interceptor import AuthInterceptor
from common.auth.keys import StaticKeySource
from common.auth.verifier import TokenVerifier
from common.errors import error_info
from common.server import GrpcService, ServerConfig, start_server
from energypulse.telemetry.v1 import telemetry_service_pb2 as tpb
from energypulse.telemetry.v1 import telemetry_service_pb2_grpc as tgrpc
from tests.common.auth.helpers import TelemetryProbe


@pytest.fixture
async def telemetry() -> AsyncIterator[tuple[TokenFactory, TelemetryProbe, grpc.aio.Channel]]:
    factory = TokenFactory()
    probe = TelemetryProbe()
    descriptor = tpb.DESCRIPTOR.services_by_name["TelemetryService"]
    verifier = TokenVerifier(
        StaticKeySource(lambda: {factory.kid: factory.public_key}),
        issuer=factory.issuer,
        audience=factory.audience,
    )
    running = await start_server(
        ServerConfig(port=0),
        [GrpcService(descriptor, tgrpc.add_TelemetryServiceServicer_to_server, probe)],
        [AuthInterceptor(verifier, rules_from_services([descriptor]))],
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    yield factory, probe, channel
    await channel.close()
    await running.stop(None)


def _auth(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def _code(call: object) -> tuple[grpc.StatusCode, str]:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        info = error_info(error)
        return error.code(), info.reason if info else ""
    return grpc.StatusCode.OK, ""


async def test_interceptor_admits_owner_and_sets_caller(telemetry) -> None:  # type: ignore[no-untyped-def]
    factory, probe, channel = telemetry
    stub = tgrpc.TelemetryServiceStub(channel)
    token = factory.token(subject="household-0001", households=["h1"])
    reply = await stub.GetHouseholdSummary(
        tpb.GetHouseholdSummaryRequest(household_id="h1"), metadata=_auth(token)
    )
    assert reply.household_id == "h1"
    assert probe.seen[-1].subject == "household-0001"


async def test_interceptor_rejects_missing_and_bad_tokens(telemetry) -> None:  # type: ignore[no-untyped-def]
    factory, probe, channel = telemetry
    stub = tgrpc.TelemetryServiceStub(channel)
    request = tpb.GetHouseholdSummaryRequest(household_id="household-0001")
    assert await _code(stub.GetHouseholdSummary(request)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "AUTHENTICATION_REQUIRED",
    )
    for kind, token in factory.bad().items():
        code, reason = await _code(stub.GetHouseholdSummary(request, metadata=_auth(token)))
        assert code is grpc.StatusCode.UNAUTHENTICATED, kind
        assert reason.startswith("TOKEN_"), kind
    assert probe.seen == []


async def test_user_on_other_household_and_admin_rpc_is_denied(telemetry) -> None:  # type: ignore[no-untyped-def]
    factory, probe, channel = telemetry
    stub = tgrpc.TelemetryServiceStub(channel)
    user = _auth(factory.token(households=["h1"]))
    assert await _code(
        stub.GetHouseholdSummary(tpb.GetHouseholdSummaryRequest(household_id="h2"), metadata=user)
    ) == (grpc.StatusCode.PERMISSION_DENIED, "HOUSEHOLD_NOT_PERMITTED")
    assert await _code(
        stub.GetHouseholdSummary(tpb.GetHouseholdSummaryRequest(household_id=""), metadata=user)
    ) == (grpc.StatusCode.PERMISSION_DENIED, "HOUSEHOLD_NOT_PERMITTED")
    assert await _code(stub.GetGridStats(tpb.GetGridStatsRequest(), metadata=user)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ROLE_NOT_PERMITTED",
    )
    assert await _code(stub.RegisterHouseholds(tpb.RegisterHouseholdsRequest(), metadata=user)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ROLE_NOT_PERMITTED",
    )
    # A streaming RPC is checked before its first message.
    stream = stub.StreamReadings(tpb.StreamReadingsRequest(household_id="h2"), metadata=user)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for _ in stream:
            pass
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert probe.seen == []


async def test_admin_and_service_roles(telemetry) -> None:  # type: ignore[no-untyped-def]
    factory, probe, channel = telemetry
    stub = tgrpc.TelemetryServiceStub(channel)
    admin = _auth(factory.token(subject="admin", role="admin", households=[]))
    service = _auth(factory.token(subject="meter_sim", role="service", households=[]))
    assert (await stub.GetGridStats(tpb.GetGridStatsRequest(), metadata=admin)).readings_stored == 7
    await stub.GetHouseholdSummary(tpb.GetHouseholdSummaryRequest(household_id="any"), metadata=admin)
    await stub.RegisterHouseholds(tpb.RegisterHouseholdsRequest(), metadata=service)
    assert await _code(stub.GetGridStats(tpb.GetGridStatsRequest(), metadata=service)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ROLE_NOT_PERMITTED",
    )
    assert [c.subject for c in probe.seen] == ["admin", "admin", "meter_sim"]


async def test_streaming_handler_sees_caller(telemetry) -> None:  # type: ignore[no-untyped-def]
    factory, probe, channel = telemetry
    stub = tgrpc.TelemetryServiceStub(channel)
    token = factory.token(subject="household-0001", households=["h1"])
    replies = [
        r
        async for r in stub.StreamReadings(
            tpb.StreamReadingsRequest(household_id="h1"), metadata=_auth(token)
        )
    ]
    assert len(replies) == 2
    assert [c.subject for c in probe.seen] == ["household-0001", "household-0001"]


async def test_health_and_reflection_need_no_token(telemetry) -> None:  # type: ignore[no-untyped-def]
    _factory, _probe, channel = telemetry
    health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = [s.name async for r in responses for s in r.list_services_response.service]
    assert "energypulse.telemetry.v1.TelemetryService" in names


async def test_undeclared_rpc_fails_closed() -> None:
    factory = TokenFactory()
    descriptor = tpb.DESCRIPTOR.services_by_name["TelemetryService"]
    verifier = TokenVerifier(
        StaticKeySource(lambda: {factory.kid: factory.public_key}),
        issuer=factory.issuer,
        audience=factory.audience,
    )
    rules = rules_from_services([descriptor])
    del rules["/energypulse.telemetry.v1.TelemetryService/GetGridStats"]
    running = await start_server(
        ServerConfig(port=0),
        [GrpcService(descriptor, tgrpc.add_TelemetryServiceServicer_to_server, TelemetryProbe())],
        [AuthInterceptor(verifier, rules)],
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = tgrpc.TelemetryServiceStub(channel)
            admin = _auth(factory.token(role="admin"))
            assert await _code(stub.GetGridStats(tpb.GetGridStatsRequest(), metadata=admin)) == (
                grpc.StatusCode.PERMISSION_DENIED,
                "METHOD_ACCESS_UNDECLARED",
            )
    finally:
        await running.stop(None)


class _EndlessStream(TelemetryProbe):
    """StreamReadings sends one reading, then waits (as a live stream does between readings)."""

    async def StreamReadings(
        self, request: tpb.StreamReadingsRequest, context: object
    ) -> AsyncIterator[tpb.StreamReadingsResponse]:
        yield tpb.StreamReadingsResponse()
        await asyncio.Event().wait()  # never set: only the token's expiry ends this stream
        yield tpb.StreamReadingsResponse()  # pragma: no cover


async def test_a_stream_ends_unauthenticated_when_its_token_expires() -> None:
    factory = TokenFactory()
    descriptor = tpb.DESCRIPTOR.services_by_name["TelemetryService"]
    verifier = TokenVerifier(
        StaticKeySource(lambda: {factory.kid: factory.public_key}),
        issuer=factory.issuer,
        audience=factory.audience,
        leeway_s=0,
    )
    running = await start_server(
        ServerConfig(port=0),
        [GrpcService(descriptor, tgrpc.add_TelemetryServiceServicer_to_server, _EndlessStream())],
        [AuthInterceptor(verifier, rules_from_services([descriptor]))],
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = tgrpc.TelemetryServiceStub(channel)
            short = factory.token(subject="household-0001", households=["h1"], ttl_s=2)
            stream = stub.StreamReadings(tpb.StreamReadingsRequest(household_id="h1"), metadata=_auth(short))
            received = 0
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                async for _ in stream:
                    received += 1
            assert received == 1  # admitted, served, then ended by the expiry (not refused up front)
            info = error_info(raised.value)
            assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert info is not None and info.reason == "TOKEN_EXPIRED"
    finally:
        await running.stop(None)
