"""gRPC server bootstrap shared by every service.

Every server gets: the standard health service (one status per service name), server reflection
(so `grpcurl` works without .proto files), Prometheus metrics on their own HTTP port, the error
interceptor that maps :mod:`common.errors` to ``google.rpc.Status`` with ``ErrorInfo``, optional
further interceptors (authentication), and graceful shutdown on SIGTERM/SIGINT: health flips to
NOT_SERVING, new calls are refused, in-flight calls get ``shutdown_grace_seconds`` to finish.

A service's ``server.py`` builds its :class:`GrpcService` list; its ``__main__`` calls
:func:`serve`. Tests call :func:`start_server` with port 0 and ``await running.stop(...)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar, cast
from wsgiref.simple_server import WSGIServer

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import Counter, Histogram, start_http_server

from common.behaviours import StreamBehaviour, UnaryBehaviour, WritingBehaviour
from common.config import env_field
from common.errors import EnergyPulseError, InvalidArgument, Unavailable, to_rpc_status
from common.instance import current as current_instance
from common.log import get_logger
from common.reflection import enable_reflection
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["GrpcService", "RunningServer", "ServerConfig", "serve", "start_server"]

log = get_logger(__name__)

RPC_TOTAL = Counter("energypulse_grpc_requests_total", "gRPC calls handled", ["service", "method", "code"])
RPC_SECONDS = Histogram(
    "energypulse_grpc_request_seconds",
    "gRPC call latency (time to the response, or to the end of a stream)",
    ["service", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


@dataclass(frozen=True)
class ServerConfig:
    """Listening and shutdown settings; read with the service's prefix (e.g. ``EP_LEDGER_``)."""

    host: str = env_field("GRPC_HOST", "127.0.0.1", "Address the gRPC server binds to")
    port: int = env_field("GRPC_PORT", 0, "gRPC port (0 picks a free one)")
    metrics_host: str = env_field("METRICS_HOST", "127.0.0.1", "Address of the Prometheus endpoint")
    metrics_port: int = env_field("METRICS_PORT", -1, "Prometheus /metrics port (0 free, -1 off)")
    shutdown_grace_seconds: float = env_field(
        "SHUTDOWN_GRACE_SECONDS", 10.0, "Time in-flight calls get to finish on SIGTERM"
    )
    max_message_bytes: int = env_field(
        "MAX_MESSAGE_BYTES", 16 * 1024 * 1024, "Largest request or response message"
    )


@dataclass(frozen=True)
class GrpcService:
    """One servicer to register: its descriptor, the generated ``add_*_to_server`` and the object."""

    descriptor: ServiceDescriptor
    # Each generated ``add_*_to_server`` takes its own servicer class, so no one type fits them all.
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: object


# An interceptor sees every RPC, so it is generic over the request and response messages; the
# servicer behind it types them per RPC.
_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")


def _split_method(full_method: str) -> tuple[str, str]:
    _, service, method = full_method.split("/", 2)
    return service, method


async def _raise_mapped(
    context: grpc.aio.ServicerContext[_Req, _Resp], error: Exception, full: str
) -> NoReturn:
    if isinstance(error, grpc.aio.AbortError):
        raise error  # the handler already chose its status
    if isinstance(error, EnergyPulseError):
        status = to_rpc_status(error)
        await context.abort(status.code, status.details, status.trailing_metadata)
    if _store_unreachable(error):
        # A database that is down or restarting is a temporary condition of the server, not a bug:
        # UNAVAILABLE (HTTP 503 through Envoy) tells clients to retry, where INTERNAL would not.
        log.warning("rpc_store_unavailable", method=full, error=repr(error)[:500])
        status = to_rpc_status(
            Unavailable(reasons.DATABASE_UNAVAILABLE, "the service's database is unreachable; retry shortly")
        )
        await context.abort(status.code, status.details, status.trailing_metadata)
    log.exception("rpc_failed", method=full, error=repr(error))
    await context.abort(grpc.StatusCode.INTERNAL, "internal error")


class ErrorAndMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Maps domain exceptions to rich statuses and records per-method counts and latency.

    It also parses the request itself: the handler it returns takes the raw bytes (no request
    deserializer), so a message that does not parse (corrupt protobuf, invalid UTF-8 in a string
    field) fails inside the behaviour as INVALID_ARGUMENT with ``MALFORMED_REQUEST``, instead of in
    grpc core before any error mapping. The bytes are parsed once, as grpc would have.

    Server-streaming behaviours come in two shapes and keep theirs: an async generator function,
    or a coroutine function that writes with ``context.write`` (the stock health ``Watch``).
    Client-streaming RPCs (only reflection here) pass through untouched.
    """

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Req, _Resp] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Req, _Resp] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_streaming:
            return handler
        full = handler_call_details.method
        service, method = _split_method(full)
        parse = _parser(handler.request_deserializer)
        serialize = handler.response_serializer
        # The returned handler's requests are bytes; the stubs cannot say that of _Req.
        made: grpc.RpcMethodHandler[bytes, _Resp]
        if handler.unary_unary is not None:
            # grpc-stubs type behaviours as sync; under grpc.aio a unary one is a coroutine function.
            inner_uu = cast("UnaryBehaviour[_Req, _Resp]", handler.unary_unary)

            async def unary_unary(raw: bytes, context: grpc.aio.ServicerContext[_Req, _Resp]) -> _Resp:
                started = time.perf_counter()
                code = "OK"
                try:
                    return await inner_uu(parse(raw), context)
                except asyncio.CancelledError:
                    code = "CANCELLED"
                    raise
                except Exception as error:  # noqa: BLE001 - mapped, never swallowed
                    code = _code_of(error)
                    await _raise_mapped(context, error, full)
                finally:
                    _observe(service, method, code, started)

            made = grpc.unary_unary_rpc_method_handler(unary_unary, None, serialize)
        elif handler.unary_stream is not None and inspect.isasyncgenfunction(handler.unary_stream):
            inner_us = cast("StreamBehaviour[_Req, _Resp]", handler.unary_stream)

            async def unary_stream(
                raw: bytes, context: grpc.aio.ServicerContext[_Req, _Resp]
            ) -> AsyncIterator[_Resp]:
                started = time.perf_counter()
                code = "OK"
                try:
                    async for item in inner_us(parse(raw), context):
                        yield item
                except asyncio.CancelledError:
                    code = "CANCELLED"
                    raise
                except Exception as error:  # noqa: BLE001
                    code = _code_of(error)
                    await _raise_mapped(context, error, full)
                finally:
                    _observe(service, method, code, started)

            made = grpc.unary_stream_rpc_method_handler(unary_stream, None, serialize)
        elif handler.unary_stream is not None:
            inner_w = cast("WritingBehaviour[_Req, _Resp]", handler.unary_stream)

            async def unary_writing(raw: bytes, context: grpc.aio.ServicerContext[_Req, _Resp]) -> None:
                started = time.perf_counter()
                code = "OK"
                try:
                    await inner_w(parse(raw), context)
                except asyncio.CancelledError:
                    code = "CANCELLED"
                    raise
                except Exception as error:  # noqa: BLE001
                    code = _code_of(error)
                    await _raise_mapped(context, error, full)
                finally:
                    _observe(service, method, code, started)

            made = grpc.unary_stream_rpc_method_handler(unary_writing, None, serialize)
        else:
            return handler
        return cast("grpc.RpcMethodHandler[_Req, _Resp]", made)


def _observe(service: str, method: str, code: str, started: float) -> None:
    RPC_TOTAL.labels(service, method, code).inc()
    RPC_SECONDS.labels(service, method).observe(time.perf_counter() - started)


def _parser(deserialize: Callable[[bytes], _Req] | None) -> Callable[[bytes], _Req]:
    """The handler's request deserializer, failing as INVALID_ARGUMENT on bytes that do not parse."""
    if deserialize is None:  # a generic handler that takes bytes itself
        return cast("Callable[[bytes], _Req]", _identity)
    parse = deserialize

    def parsed(raw: bytes) -> _Req:
        try:
            return parse(raw)
        except DecodeError:
            raise InvalidArgument(
                reasons.MALFORMED_REQUEST,
                "the request message does not parse (corrupt protobuf or invalid UTF-8 in a string)",
            ) from None

    return parsed


def _identity(raw: bytes) -> bytes:
    return raw


def _store_unreachable(error: Exception) -> bool:
    """True for SQLAlchemy errors that mean "database not reachable right now" (connection refused
    or dropped, server shutting down, pool exhausted, SQLite busy past its timeout)."""
    from sqlalchemy import exc

    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.TimeoutError))


def _code_of(error: Exception) -> str:
    if isinstance(error, EnergyPulseError):
        return error.code.name
    if isinstance(error, grpc.aio.AbortError):
        return "ABORTED_BY_HANDLER"
    if _store_unreachable(error):
        return "UNAVAILABLE"
    return "INTERNAL"


class _IdentifyingHealthServicer(health.aio.HealthServicer):
    """The stock health servicer; every Check answer also says which replica answered
    (version, start time, instance: ``common.instance``) in its initial metadata."""

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> health_pb2.HealthCheckResponse:
        await context.send_initial_metadata(current_instance().metadata())
        answer: health_pb2.HealthCheckResponse = await super().Check(request, context)
        return answer


@dataclass
class RunningServer:
    """A started server: its bound port, health servicer and a graceful ``stop``."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    service_names: list[str]
    metrics_port: int | None = None
    _metrics_server: WSGIServer | None = field(default=None, repr=False)

    async def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ["", *self.service_names]:
            await self.health.set(name, status)

    async def stop(self, grace: float | None) -> None:
        """Stop taking calls, let in-flight ones finish within ``grace`` seconds, then close."""
        await self.set_serving(False)
        await self.server.stop(grace)
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()


async def start_server(
    config: ServerConfig,
    services: Sequence[GrpcService],
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
) -> RunningServer:
    """Create, bind and start a server with health, reflection, metrics and interceptors."""
    options = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        ("grpc.so_reuseport", 0),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 5000),
        # Above the edge's header limit (envoy/edge_policy.py, 32 KiB): Envoy refuses an oversized
        # header set with a reason before a service's refusal could list the header names.
        ("grpc.max_metadata_size", 64 * 1024),
        ("grpc.absolute_max_metadata_size", 80 * 1024),
    ]
    server = grpc.aio.server(interceptors=[ErrorAndMetricsInterceptor(), *interceptors], options=options)
    names = [svc.descriptor.full_name for svc in services]
    for svc in services:
        svc.add_to_server(svc.servicer, server)
    health_servicer = _IdentifyingHealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection([*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name], server)
    port = server.add_insecure_port(f"{config.host}:{config.port}")
    if port == 0:
        raise OSError(f"cannot bind gRPC server to {config.host}:{config.port}")
    await server.start()
    running = RunningServer(server=server, port=port, health=health_servicer, service_names=names)
    if config.metrics_port >= 0:
        metrics_server, _thread = start_http_server(config.metrics_port, addr=config.metrics_host)
        running._metrics_server = metrics_server
        running.metrics_port = metrics_server.server_port
    await running.set_serving(True)
    log.info(
        "grpc_server_started",
        host=config.host,
        port=port,
        metrics_port=running.metrics_port,
        services=names,
    )
    return running


def _freeze_heap() -> None:
    """Exempt everything alive now (imports, models, caches) from the cyclic garbage collector.

    Why: a full collection walks every tracked object; in ledger_svc one took ~21 ms and stalled
    every call in flight (the largest p99 episodes in bench/bench_edge.py). What start-up built
    lives as long as the process, so later collections need only walk what serving allocates.
    """
    gc.collect()
    gc.freeze()
    log.info("heap_frozen", objects=gc.get_freeze_count())


async def _serve_when_ready(running: RunningServer, ready: Callable[[], bool]) -> None:
    while not ready():
        await asyncio.sleep(0.5)
    _freeze_heap()  # what became ready (a loaded model) is start-up state too
    await running.set_serving(True)
    log.info("service_ready")
    await asyncio.Event().wait()  # stay alive like the other background jobs


async def serve(
    config: ServerConfig,
    services: Sequence[GrpcService],
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    background: Sequence[Callable[[], Coroutine[object, None, None]]] = (),
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
    ready: Callable[[], bool] | None = None,
    on_draining: Sequence[Callable[[], Awaitable[None]]] = (),
) -> None:
    """Run until SIGTERM/SIGINT, then shut down gracefully.

    ``on_draining`` hooks run first, before the server stops taking calls: they end open
    server streams (a watch that never ends on its own would otherwise be cancelled when the
    grace period runs out, which gRPC logs as an unhandled error), so their clients reconnect to
    another replica at once.

    ``background`` coroutines (e.g. an MQTT consumer) run beside the server and are cancelled
    after the server has drained; ``on_shutdown`` hooks run last (close pools, flush buffers).
    ``ready`` (e.g. "a model is loaded"): health reports NOT_SERVING until it returns true, so
    Envoy, compose and the local run only send traffic to a replica that can answer.
    """
    _freeze_heap()
    running = await start_server(config, services, interceptors)
    if ready is not None and not ready():
        await running.set_serving(False)
        background = [*background, lambda: _serve_when_ready(running, ready)]
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested.set)
    tasks = [asyncio.create_task(job()) for job in background]
    waiter = asyncio.create_task(stop_requested.wait())
    # A background job that dies takes the process down so the supervisor restarts it.
    done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    failed = [t for t in done if t is not waiter and t.exception() is not None]
    for task in failed:
        log.error("background_task_failed", error=repr(task.exception()))
    log.info("shutdown_started", grace_seconds=config.shutdown_grace_seconds)
    for hook in on_draining:
        await hook()
    await running.stop(config.shutdown_grace_seconds)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    for hook in on_shutdown:
        await hook()
    log.info("shutdown_complete")
    if failed:
        raise SystemExit(1)
