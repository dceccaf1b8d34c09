"""common.server: health, reflection, error mapping, metrics and graceful shutdown, for real."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_status import rpc_status

from common.errors import NotFound, error_info
from common.server import GrpcService, RunningServer, ServerConfig, start_server
from devstack.ports import free_port
from energypulse.ledger.v1 import ledger_service_pb2, ledger_service_pb2_grpc
from energypulse.telemetry.v1 import telemetry_service_pb2 as tpb
from energypulse.telemetry.v1 import telemetry_service_pb2_grpc
from tests.common.slow_server import SlowLedger
from tests.conftest import wait_for_port

ROOT = Path(__file__).resolve().parents[2]
LEDGER = "energypulse.ledger.v1.LedgerService"
TELEMETRY = "energypulse.telemetry.v1.TelemetryService"
GRPCURL = ROOT / ".venv" / "bin" / "grpcurl"


class FailingStreams(telemetry_service_pb2_grpc.TelemetryServiceServicer):
    """Both shapes of a server-streaming behaviour: one message, then a domain error."""

    async def StreamReadings(  # an async generator
        self, request: tpb.StreamReadingsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[tpb.StreamReadingsResponse]:
        yield tpb.StreamReadingsResponse()
        raise NotFound("HOUSEHOLD_NOT_FOUND", f"no household {request.household_id}")

    async def StreamGridStats(  # a coroutine writing through the context, like health's Watch
        self, request: tpb.StreamGridStatsRequest, context: grpc.aio.ServicerContext
    ) -> None:
        await context.write(tpb.StreamGridStatsResponse())
        raise NotFound("ZONE_NOT_FOUND", "no zone")


@pytest.fixture
async def running() -> AsyncIterator[RunningServer]:
    service = GrpcService(
        ledger_service_pb2.DESCRIPTOR.services_by_name["LedgerService"],
        ledger_service_pb2_grpc.add_LedgerServiceServicer_to_server,
        SlowLedger(),
    )
    streams = GrpcService(
        tpb.DESCRIPTOR.services_by_name["TelemetryService"],
        telemetry_service_pb2_grpc.add_TelemetryServiceServicer_to_server,
        FailingStreams(),
    )
    server = await start_server(ServerConfig(port=0, metrics_port=0), [service, streams])
    yield server
    await server.stop(0)


async def test_health_reports_each_service(running: RunningServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", LEDGER):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_health_watch_streams_status_changes(running: RunningServer) -> None:
    # Watch is a coroutine writing with context.write: the interceptor once iterated it as an
    # async generator and every Watch ended in INTERNAL (issue 20).
    await running.health.set(LEDGER, health_pb2.HealthCheckResponse.NOT_SERVING)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        call = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=LEDGER), timeout=10
        )
        first = await call.read()
        assert isinstance(first, health_pb2.HealthCheckResponse)
        assert first.status == health_pb2.HealthCheckResponse.NOT_SERVING
        await running.health.set(LEDGER, health_pb2.HealthCheckResponse.SERVING)
        second = await call.read()
        assert isinstance(second, health_pb2.HealthCheckResponse)
        assert second.status == health_pb2.HealthCheckResponse.SERVING
        call.cancel()


@pytest.mark.parametrize(
    ("method", "request_message", "reason"),
    [
        ("StreamReadings", tpb.StreamReadingsRequest(household_id="hh-9"), "HOUSEHOLD_NOT_FOUND"),
        ("StreamGridStats", tpb.StreamGridStatsRequest(), "ZONE_NOT_FOUND"),
    ],
)
async def test_both_stream_shapes_keep_error_mapping_and_metrics(
    running: RunningServer, method: str, request_message: object, reason: str
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = telemetry_service_pb2_grpc.TelemetryServiceStub(channel)
        call = getattr(stub, method)(request_message, timeout=5)
        received = []
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for item in call:
                received.append(item)
    assert len(received) == 1
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    detail = error_info(info.value)
    assert detail is not None and detail.reason == reason
    line = f'energypulse_grpc_requests_total{{code="NOT_FOUND",method="{method}",service="{TELEMETRY}"}}'
    # The interceptor counts the call once the stream has ended on the server, which can be just
    # after the client saw the status: wait for the count (bounded), never for a fixed time.
    deadline = time.monotonic() + 20
    text = ""
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{running.metrics_port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        if line in text:
            break
        await asyncio.sleep(0.05)
    assert line in text


# GetBlockRequest{height}: a varint tag with its value cut off. StreamReadingsRequest{household_id}:
# a string field holding 0xFF, which is not UTF-8 (what Envoy sends for /households/%FF/...).
TRUNCATED = b"\x08"
INVALID_UTF8 = b"\x0a\x01\xff"


@pytest.mark.parametrize(
    ("method", "streaming", "raw"),
    [
        (f"/{LEDGER}/GetBlock", False, TRUNCATED),
        (f"/{TELEMETRY}/StreamReadings", True, INVALID_UTF8),
        ("/grpc.health.v1.Health/Check", False, INVALID_UTF8),
        ("/grpc.health.v1.Health/Watch", True, INVALID_UTF8),
    ],
)
async def test_malformed_request_bytes_are_invalid_argument_with_reason(
    running: RunningServer, method: str, streaming: bool, raw: bytes
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            if streaming:
                async for _ in channel.unary_stream(method)(raw, timeout=5):
                    pass
            else:
                await channel.unary_unary(method)(raw, timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value
    status = rpc_status.from_call(info.value)  # type: ignore[arg-type]
    assert status is not None
    found = []
    for detail in status.details:
        unpacked = error_details_pb2.ErrorInfo()
        if detail.Unpack(unpacked):
            found.append(unpacked.reason)
    assert found == ["MALFORMED_REQUEST"]


async def test_well_formed_raw_bytes_still_reach_the_servicer(running: RunningServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        raw = await channel.unary_unary(f"/{LEDGER}/GetSignedHead")(
            ledger_service_pb2.GetSignedHeadRequest().SerializeToString(), timeout=5
        )
        assert isinstance(raw, bytes)
        assert ledger_service_pb2.GetSignedHeadResponse.FromString(raw).head.tree_size == 7
        with pytest.raises(grpc.aio.AioRpcError) as info:  # parsed and mapped as before
            await channel.unary_unary(f"/{LEDGER}/GetBlock")(
                ledger_service_pb2.GetBlockRequest(height=42).SerializeToString(), timeout=5
            )
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_reflection_lists_services_in_both_versions(running: RunningServer, version: str) -> None:
    # v1 and v1alpha are wire-identical apart from the package, so v1alpha messages ask v1 too.
    method = f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        info = channel.stream_stream(
            method,
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )

        async def one() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        names = set()
        async for reply in info(one(), timeout=5):
            assert isinstance(reply, reflection_pb2.ServerReflectionResponse)
            names |= {s.name for s in reply.list_services_response.service}
    assert {
        LEDGER,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names


async def _grpcurl(port: int, *args: str, flags: tuple[str, ...] = ()) -> tuple[int, str, str]:
    # The server runs on this event loop: the client must not block it.
    proc = await asyncio.create_subprocess_exec(
        str(GRPCURL),
        "-plaintext",
        *flags,
        f"127.0.0.1:{port}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_grpcurl_lists_and_describes_methods(running: RunningServer) -> None:
    code, out, err = await _grpcurl(running.port, "list")
    assert code == 0, err
    assert {LEDGER, TELEMETRY, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} <= set(
        out.split()
    )
    # A method's full name: "Symbol not found" before (issue 20), as upb's pool finds no methods.
    code, out, err = await _grpcurl(running.port, "describe", f"{LEDGER}.GetSignedHead")
    assert code == 0, err
    assert "rpc GetSignedHead ( .energypulse.ledger.v1.GetSignedHeadRequest )" in out
    assert '(.google.api.http) = { get:"/api/v1/ledger/head"' in out  # the imports resolve too
    code, out, err = await _grpcurl(running.port, "describe", "grpc.reflection.v1.ServerReflection")
    assert code == 0 and "stream .grpc.reflection.v1.ServerReflectionRequest" in out, err
    code, _, err = await _grpcurl(running.port, "describe", f"{LEDGER}.NoSuchMethod")
    assert code != 0 and "Symbol not found" in err, err


async def test_reflection_for_the_edge_describes_every_contract_service(running: RunningServer) -> None:
    # The edge routes reflection to one upstream with this header (envoy/generate.py): it answers
    # for all four services, so grpcurl through Envoy lists and describes what the edge serves.
    auth, prediction = "energypulse.auth.v1.AuthService", "energypulse.prediction.v1.PredictionService"
    code, out, err = await _grpcurl(running.port, "list")
    assert code == 0 and auth not in out.split(), err
    edge = ("-reflect-header", "x-energypulse-reflection: edge")
    code, out, err = await _grpcurl(running.port, "list", flags=edge)
    assert code == 0, err
    assert {auth, prediction, LEDGER, TELEMETRY, "grpc.health.v1.Health"} <= set(out.split())
    code, out, err = await _grpcurl(running.port, "describe", f"{prediction}.GetPriceForecast", flags=edge)
    assert (
        code == 0 and "rpc GetPriceForecast ( .energypulse.prediction.v1.GetPriceForecastRequest )" in out
    ), err


async def test_domain_error_maps_to_status_with_error_info(running: RunningServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = ledger_service_pb2_grpc.LedgerServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetBlock(ledger_service_pb2.GetBlockRequest(height=42), timeout=5)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == "no block at height 42"
    detail = error_info(info.value)  # type: ignore[arg-type]
    assert detail is not None
    assert (detail.reason, detail.domain, detail.metadata["height"]) == (
        "BLOCK_NOT_FOUND",
        "energypulse.io",
        "42",
    )


async def test_metrics_count_calls_by_code(running: RunningServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = ledger_service_pb2_grpc.LedgerServiceStub(channel)
        await stub.GetSignedHead(ledger_service_pb2.GetSignedHeadRequest(), timeout=5)
    with urllib.request.urlopen(f"http://127.0.0.1:{running.metrics_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    assert (
        'energypulse_grpc_requests_total{code="OK",method="GetSignedHead",service="energypulse.ledger.v1.LedgerService"}'
        in text
    )


def test_sigterm_drains_in_flight_call_then_exits_zero(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.common.slow_server", str(port)],
        cwd=ROOT,
        stderr=open(tmp_path / "server.log", "wb"),
    )
    try:
        wait_for_port(port, timeout=20)
        result: dict[str, object] = {}

        def call() -> None:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = ledger_service_pb2_grpc.LedgerServiceStub(channel)
                try:
                    reply = stub.GetSignedHead(
                        ledger_service_pb2.GetSignedHeadRequest(), metadata=[("x-delay", "1.5")], timeout=20
                    )
                    result["size"] = reply.head.tree_size
                except grpc.RpcError as error:
                    result["error"] = error

        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(0.5)  # the call is now sleeping inside the handler
        proc.send_signal(signal.SIGTERM)
        caller.join(timeout=30)
        assert result == {"size": 7}, result
        assert proc.wait(timeout=30) == 0
        log = (tmp_path / "server.log").read_text()
        assert '"event": "shutdown_complete"' in log or '"event":"shutdown_complete"' in log
        # Start-up state is exempt from the cyclic GC (full collections stalled calls ~20 ms).
        frozen = [json.loads(line) for line in log.splitlines() if "heap_frozen" in line]
        assert frozen and frozen[0]["objects"] > 10_000, frozen
    finally:
        if proc.poll() is None:
            proc.kill()
