"""OpsService: the monitor's state and history as the operator page reads it (admins only)."""

from __future__ import annotations

import math

import grpc

from auth_svc.ops.monitor import SEVERITY, HealthMonitor, Round, ServiceState
from common import timestamps
from common.errors import InvalidArgument
from energypulse.errors.v1 import error_reason_pb2 as reasons
from energypulse.ops.v1 import ops_service_pb2 as pb
from energypulse.ops.v1 import ops_service_pb2_grpc

__all__ = ["HISTORY_BUCKETS", "OpsServicer", "history"]

HISTORY_BUCKETS = 288  # 24 h in 5-minute buckets by default


def history(rounds: list[Round], start: float, step: float) -> list[pb.HealthSample]:
    """Rounds from ``start`` on, in buckets of ``step`` seconds: the worst status, mean and max
    latency, fewest serving replicas of each bucket that had a round."""
    buckets: dict[int, list[Round]] = {}
    for r in rounds:
        if r.at >= start:
            buckets.setdefault(int((r.at - start) // step), []).append(r)
    samples = []
    for index in sorted(buckets):
        group = buckets[index]
        latencies = [r.mean_latency_ms for r in group if r.serving]
        samples.append(
            pb.HealthSample(
                start_time=timestamps.from_seconds(start + index * step),
                status=max((r.status for r in group), key=SEVERITY.__getitem__),
                latency_ms=sum(latencies) / len(latencies) if latencies else 0.0,
                max_latency_ms=max(r.max_latency_ms for r in group),
                replicas_serving=min(r.serving for r in group),
                replicas_total=max(r.total for r in group),
            )
        )
    return samples


def _service(state: ServiceState, start: float, step: float) -> pb.ServiceHealth:
    rounds = [r for r in state.history if r.at >= start]
    message = pb.ServiceHealth(
        service=state.target.service,
        grpc_service=state.target.grpc_service,
        status=state.status,
        availability=sum(r.status == pb.SERVICE_STATUS_SERVING for r in rounds) / len(rounds)
        if rounds
        else 0.0,
        history=history(rounds, start, step),
    )
    if state.status_since is not None:
        message.status_since_time.CopyFrom(timestamps.from_seconds(state.status_since))
    for r in state.replicas:
        replica = pb.Replica(
            endpoint=r.endpoint,
            serving=r.serving,
            latency_ms=r.latency_ms,
            version=r.instance.version,
            instance=r.instance.name,
            error=r.error,
            check_time=timestamps.from_seconds(r.at),
        )
        if r.instance.start_time is not None:
            replica.start_time.CopyFrom(timestamps.from_seconds(r.instance.start_time))
        message.replicas.append(replica)
    if state.alert_fired_at is not None and state.unhealthy_since is not None:
        message.alert.CopyFrom(
            pb.Alert(
                since_time=timestamps.from_seconds(state.unhealthy_since),
                fire_time=timestamps.from_seconds(state.alert_fired_at),
                status=state.status,
            )
        )
    return message


class OpsServicer(ops_service_pb2_grpc.OpsServiceServicer):
    def __init__(self, monitor: HealthMonitor) -> None:
        self._monitor = monitor

    async def GetServiceHealth(
        self,
        request: pb.GetServiceHealthRequest,
        context: grpc.aio.ServicerContext[pb.GetServiceHealthRequest, pb.GetServiceHealthResponse],
    ) -> pb.GetServiceHealthResponse:
        monitor = self._monitor
        kept = int(monitor.history_s)
        if not 0 <= request.window_seconds <= kept or request.step_seconds < 0:
            raise InvalidArgument(
                reasons.HEALTH_WINDOW_INVALID,
                f"window_seconds is 0..{kept} (0: all {kept}) and step_seconds is not negative",
            )
        window = request.window_seconds or kept
        step = max(
            request.step_seconds or math.ceil(window / HISTORY_BUCKETS), math.ceil(monitor.interval_s), 1
        )
        now = monitor.now()
        start = math.floor((now - window) / step) * step  # buckets on whole steps of the clock
        return pb.GetServiceHealthResponse(
            services=[_service(s, start, step) for s in monitor.services],
            probe_interval_seconds=math.ceil(monitor.interval_s),
            alert_after_seconds=math.ceil(monitor.alert_after_s),
            monitor_start_time=timestamps.from_seconds(monitor.started_at),
            step_seconds=step,
        )
