"""The health monitor: every ``interval_s`` it probes each replica of each service with the
standard ``grpc.health.v1.Health/Check`` (the replica's version and start time come back in the
answer's metadata, ``common.instance``), keeps one round per probe for ``history_s`` in a bounded
ring per service (memory, not the database: a replica's history restarts with it; 24 h at 10 s is
8,640 small rounds per service), raises an alert once a service has not been SERVING for
``alert_after_s`` (a log event and a gauge), and mirrors all of it as Prometheus gauges.

Replicas: an address ``ipv4:h1:p1,h2:p2`` lists them; ``dns:///name:port`` is resolved every round
(one replica per address record, so ``docker compose --scale`` shows up); ``host:port`` is one.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import grpc
from grpc_health.v1 import health_pb2
from prometheus_client import Gauge

from common.instance import Instance, from_metadata
from common.log import get_logger
from energypulse.ops.v1 import ops_service_pb2 as pb

__all__ = [
    "HealthMonitor",
    "MonitorTarget",
    "ProbeResult",
    "Round",
    "ServiceState",
    "grpc_probe",
    "http_probe",
    "resolve_endpoints",
]

log = get_logger(__name__)

SERVING = pb.SERVICE_STATUS_SERVING
DEGRADED = pb.SERVICE_STATUS_DEGRADED
DOWN = pb.SERVICE_STATUS_DOWN
# Worse is larger: a bucket shows the worst status it saw.
Status: TypeAlias = pb.ServiceStatus.ValueType
SEVERITY: dict[Status, int] = {pb.SERVICE_STATUS_UNSPECIFIED: 0, SERVING: 1, DEGRADED: 2, DOWN: 3}

REPLICAS = Gauge("energypulse_ops_replicas", "Replicas of a service by state", ["service", "state"])
REPLICA_UP = Gauge(
    "energypulse_ops_replica_up", "1 if the replica's last probe was SERVING", ["service", "endpoint"]
)
REPLICA_LATENCY = Gauge(
    "energypulse_ops_probe_latency_seconds",
    "Round trip of the replica's last health probe",
    ["service", "endpoint"],
)
REPLICA_START = Gauge(
    "energypulse_ops_replica_start_time_seconds",
    "When the replica's process started (UNIX seconds; uptime = time() - this)",
    ["service", "endpoint"],
)
REPLICA_INFO = Gauge(
    "energypulse_ops_replica_info",
    "Version and instance of a replica (always 1)",
    ["service", "endpoint", "version", "instance"],
)
SERVICE_STATUS = Gauge(
    "energypulse_ops_service_status", "Service status: 1 serving, 2 degraded, 3 down, 0 unknown", ["service"]
)
SERVICE_ALERT = Gauge(
    "energypulse_ops_service_alert", "1 while the service has been unhealthy for the alert delay", ["service"]
)
SERVICE_UNHEALTHY = Gauge(
    "energypulse_ops_service_unhealthy_seconds",
    "How long the service has not been SERVING (0 when it is)",
    ["service"],
)


@dataclass(frozen=True)
class MonitorTarget:
    """One service to watch: its short name, the gRPC service name to ask for, its address.

    ``http`` targets (the witness serves HTTP only) are probed with ``GET <address>/healthz``:
    200 is SERVING; ``address`` is then a base URL (``http://host:port``), ``grpc_service`` unused.
    """

    service: str
    grpc_service: str
    address: str
    kind: str = "grpc"


@dataclass(frozen=True)
class ProbeResult:
    endpoint: str
    serving: bool
    latency_ms: float
    instance: Instance
    error: str
    at: float


@dataclass(frozen=True)
class Round:
    """One probe round of one service."""

    at: float
    status: Status
    serving: int
    total: int
    mean_latency_ms: float
    max_latency_ms: float


@dataclass
class ServiceState:
    target: MonitorTarget
    history: deque[Round]
    replicas: list[ProbeResult] = field(default_factory=list)
    status: Status = pb.SERVICE_STATUS_UNSPECIFIED
    status_since: float | None = None
    unhealthy_since: float | None = None
    alert_fired_at: float | None = None
    labelled: set[tuple[str, ...]] = field(default_factory=set)


Probe = Callable[[str, str, float], Awaitable[ProbeResult]]
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def _dns(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    hosts = sorted({str(info[4][0]) for info in infos})
    return [f"[{h}]:{port}" if ":" in h else f"{h}:{port}" for h in hosts]


async def resolve_endpoints(address: str, resolver: Resolver = _dns) -> list[str]:
    """The replicas an address names (see the module docstring); [] when a name does not resolve."""
    address = address.strip()
    for scheme in ("ipv4:", "ipv6:"):
        if address.startswith(scheme):
            return [a.strip() for a in address[len(scheme) :].split(",") if a.strip()]
    if address.startswith("dns:"):
        name = address.removeprefix("dns:").lstrip("/")
        host, _, port = name.rpartition(":")
        try:
            return await resolver(host, int(port))
        except (OSError, ValueError):
            return []
    if address.startswith(("http://", "https://")):
        return [address.rstrip("/")]
    return [address] if address else []


class _Channels:
    """One channel per replica endpoint, closed when the endpoint goes away."""

    def __init__(self) -> None:
        self._open: dict[str, grpc.aio.Channel] = {}

    def get(self, endpoint: str) -> grpc.aio.Channel:
        if endpoint not in self._open:
            self._open[endpoint] = grpc.aio.insecure_channel(endpoint)
        return self._open[endpoint]

    async def keep(self, endpoints: set[str]) -> None:
        for endpoint in set(self._open) - endpoints:
            await self._open.pop(endpoint).close()

    async def close(self) -> None:
        await self.keep(set())


def grpc_probe(channels: _Channels) -> Probe:
    async def probe(endpoint: str, grpc_service: str, timeout_s: float) -> ProbeResult:
        # The method by path: the grpcio-health-checking stubs declare HealthStub without methods.
        check = channels.get(endpoint).unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        started = time.perf_counter()
        call = check(health_pb2.HealthCheckRequest(service=grpc_service), timeout=timeout_s)
        try:
            answer: health_pb2.HealthCheckResponse = await call
            instance = from_metadata(await call.initial_metadata())
            serving = answer.status == health_pb2.HealthCheckResponse.SERVING
            error = "" if serving else health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
        except grpc.aio.AioRpcError as exc:
            instance, serving = from_metadata(None), False
            error = f"{exc.code().name}: {exc.details() or ''}".strip().rstrip(":")[:200]
        latency = (time.perf_counter() - started) * 1000
        return ProbeResult(endpoint, serving, latency, instance, error, time.time())

    return probe


def _http_get_status(url: str, timeout_s: float) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def http_probe() -> Probe:
    """``GET <endpoint>/healthz``: SERVING on 200 (the witness answers 503 until its first cosignature)."""

    async def probe(endpoint: str, _grpc_service: str, timeout_s: float) -> ProbeResult:
        started = time.perf_counter()
        try:
            status = await asyncio.to_thread(_http_get_status, f"{endpoint}/healthz", timeout_s)
            serving, error = status == 200, "" if status == 200 else f"HTTP {status}"
        except (OSError, ValueError) as exc:  # refused, timed out, unresolvable
            serving, error = False, f"{type(exc).__name__}: {exc}"[:200]
        latency = (time.perf_counter() - started) * 1000
        return ProbeResult(endpoint, serving, latency, from_metadata(None), error, time.time())

    return probe


class HealthMonitor:
    def __init__(
        self,
        targets: Sequence[MonitorTarget],
        *,
        interval_s: float,
        alert_after_s: float,
        history_s: float,
        probe: Probe | None = None,
        http: Probe | None = None,
        resolver: Resolver = _dns,
        clock: Callable[[], float] = time.time,
        timeout_s: float = 2.0,
    ) -> None:
        self.interval_s = interval_s
        self.alert_after_s = alert_after_s
        self.history_s = history_s
        self._clock = clock
        self.started_at = clock()
        self._channels = _Channels()
        self._probe = probe or grpc_probe(self._channels)
        self._http = http or http_probe()
        self._resolver = resolver
        self._timeout_s = min(timeout_s, interval_s) if interval_s > 0 else timeout_s
        capacity = int(history_s / interval_s) + 2 if interval_s > 0 else 1
        self.services = [ServiceState(t, deque(maxlen=capacity)) for t in targets]

    def now(self) -> float:
        return self._clock()

    async def probe_once(self) -> None:
        """One round: resolve and probe every replica of every service at once, then record."""
        resolved = await asyncio.gather(
            *(resolve_endpoints(s.target.address, self._resolver) for s in self.services)
        )
        rounds = [
            asyncio.gather(
                *(
                    (self._http if s.target.kind == "http" else self._probe)(
                        e, s.target.grpc_service, self._timeout_s
                    )
                    for e in endpoints
                )
            )
            for s, endpoints in zip(self.services, resolved, strict=True)
        ]
        results = await asyncio.gather(*rounds)
        await self._channels.keep(
            {
                e
                for s, endpoints in zip(self.services, resolved, strict=True)
                if s.target.kind == "grpc"
                for e in endpoints
            }
        )
        now = self._clock()
        for state, replicas in zip(self.services, results, strict=True):
            self._record(state, list(replicas), now)

    def _record(self, state: ServiceState, replicas: list[ProbeResult], now: float) -> None:
        serving = [r for r in replicas if r.serving]
        if replicas and len(serving) == len(replicas):
            status = SERVING
        elif serving:
            status = DEGRADED
        else:
            status = DOWN  # no replica answers, or the name resolves to none
        latencies = [r.latency_ms for r in serving]
        state.history.append(
            Round(
                now,
                status,
                len(serving),
                len(replicas),
                sum(latencies) / len(latencies) if latencies else 0.0,
                max((r.latency_ms for r in replicas), default=0.0),
            )
        )
        while state.history and state.history[0].at < now - self.history_s:
            state.history.popleft()
        state.replicas = replicas
        if status != state.status:
            state.status, state.status_since = status, now
        self._alert(state, now)
        self._export(state, now)

    def _alert(self, state: ServiceState, now: float) -> None:
        name = state.target.service
        if state.status == SERVING:
            if state.alert_fired_at is not None:
                log.info(
                    "service_alert_resolved",
                    service=name,
                    unhealthy_s=round(now - (state.unhealthy_since or now), 1),
                )
            state.unhealthy_since = state.alert_fired_at = None
            return
        if state.unhealthy_since is None:
            state.unhealthy_since = now
        if state.alert_fired_at is None and now - state.unhealthy_since >= self.alert_after_s:
            state.alert_fired_at = now
            log.warning(
                "service_alert_firing",
                service=name,
                status=pb.ServiceStatus.Name(state.status),
                unhealthy_since=state.unhealthy_since,
                errors=sorted({r.error for r in state.replicas if r.error}),
            )

    def _export(self, state: ServiceState, now: float) -> None:
        name = state.target.service
        REPLICAS.labels(name, "serving").set(sum(r.serving for r in state.replicas))
        REPLICAS.labels(name, "total").set(len(state.replicas))
        SERVICE_STATUS.labels(name).set(state.status)
        SERVICE_ALERT.labels(name).set(1 if state.alert_fired_at is not None else 0)
        SERVICE_UNHEALTHY.labels(name).set(
            0 if state.unhealthy_since is None else now - state.unhealthy_since
        )
        labelled: set[tuple[str, ...]] = set()
        for r in state.replicas:
            REPLICA_UP.labels(name, r.endpoint).set(1 if r.serving else 0)
            REPLICA_LATENCY.labels(name, r.endpoint).set(r.latency_ms / 1000)
            labelled.add(("replica", r.endpoint))
            if r.instance.start_time is not None:
                REPLICA_START.labels(name, r.endpoint).set(r.instance.start_time)
                labelled.add(("start", r.endpoint))
            if r.instance.version or r.instance.name:
                REPLICA_INFO.labels(name, r.endpoint, r.instance.version, r.instance.name).set(1)
                labelled.add(("info", r.endpoint, r.instance.version, r.instance.name))
        for gone in state.labelled - labelled:  # a replica scaled away, or restarted with another version
            with contextlib.suppress(KeyError):
                if gone[0] == "replica":
                    REPLICA_UP.remove(name, gone[1])
                    REPLICA_LATENCY.remove(name, gone[1])
                elif gone[0] == "start":
                    REPLICA_START.remove(name, gone[1])
                else:
                    REPLICA_INFO.remove(name, *gone[1:])
        state.labelled = labelled

    async def run_forever(self) -> None:
        """Probe every ``interval_s`` until cancelled; a failed round is logged, never fatal."""
        try:
            while True:
                started = self._clock()
                try:
                    await self.probe_once()
                except Exception as exc:  # noqa: BLE001 - the monitor must outlive any one round
                    log.error("health_round_failed", error=repr(exc))
                await asyncio.sleep(max(0.0, self.interval_s - (self._clock() - started)))
        finally:
            await self._channels.close()
