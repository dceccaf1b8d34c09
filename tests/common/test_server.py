"""common.server: health, reflection, error mapping, metrics and graceful shutdown, for real."""

from __future__ import annotations

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
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from common.errors import error_info
from common.server import GrpcService, RunningServer, ServerConfig, start_server
from devstack.ports import free_port
from energypulse.ledger.v1 import ledger_service_pb2, ledger_service_pb2_grpc
from tests.common.slow_server import SlowLedger
from tests.conftest import wait_for_port

ROOT = Path(__file__).resolve().parents[2]
LEDGER = "energypulse.ledger.v1.LedgerService"


@pytest.fixture
async def running() -> AsyncIterator[RunningServer]:
    service = GrpcService(
        ledger_service_pb2.DESCRIPTOR.services_by_name["LedgerService"],
        ledger_service_pb2_grpc.add_LedgerServiceServicer_to_server,
        SlowLedger(),
    )
    server = await start_server(ServerConfig(port=0, metrics_port=0), [service])
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


async def test_reflection_lists_services(running: RunningServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def one() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        names = set()
        async for reply in stub.ServerReflectionInfo(one(), timeout=5):
            names |= {s.name for s in reply.list_services_response.service}
        assert {LEDGER, "grpc.health.v1.Health"} <= names


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
