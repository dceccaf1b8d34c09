"""Wait until every part of the stack answers: gRPC health per service, Envoy, the web front."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from collections.abc import Mapping

import grpc
from grpc_health.v1 import health_pb2

__all__ = ["grpc_serving", "http_ok", "wait_all"]


async def grpc_serving(target: str, service: str = "", timeout: float = 1.0) -> bool:
    async with grpc.aio.insecure_channel(target) as channel:
        # The method by path: the grpcio-health-checking stubs declare HealthStub without methods.
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        try:
            reply: health_pb2.HealthCheckResponse = await check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
        except grpc.aio.AioRpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status: int = response.status
            return 200 <= status < 400
    except (urllib.error.URLError, OSError):
        return False


async def wait_all(
    grpc_targets: Mapping[str, str], http_urls: Mapping[str, str], timeout: float = 120.0
) -> list[str]:
    """Names of the parts still not ready after ``timeout`` seconds (empty when all are)."""
    deadline = time.monotonic() + timeout
    pending = {
        **{n: ("grpc", t) for n, t in grpc_targets.items()},
        **{n: ("http", u) for n, u in http_urls.items()},
    }
    while pending and time.monotonic() < deadline:
        for name, (kind, where) in list(pending.items()):
            ok = await grpc_serving(where) if kind == "grpc" else await asyncio.to_thread(http_ok, where)
            if ok:
                del pending[name]
        if pending:
            await asyncio.sleep(0.3)
    return sorted(pending)
