"""Broker credentials of the simulated gateways, issued by ingest at provisioning.

After registering its households, the simulator asks ingest (TelemetryService.
IssueDeviceCredentials, as its service account) for one MQTT identity per gateway, naming the
meters that gateway speaks for; the broker then lets each gateway publish only for those meters.
Each start issues fresh passwords (a rotation: nothing is stored in clear on disk, and the old
password stops working). Retried like registration, as ingest may still be starting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

import grpc

from common.log import get_logger
from energypulse.telemetry.v1 import telemetry_service_pb2 as pb
from energypulse.telemetry.v1 import telemetry_service_pb2_grpc as pb_grpc
from meter_sim.registration import Metadata

__all__ = ["Credentials", "Provisioner", "issue", "make_provisioner"]

log = get_logger(__name__)

Credentials = tuple[str, str]  # MQTT username, password
Provisioner = Callable[[Mapping[str, Sequence[str]]], dict[str, Credentials]]
_RETRY = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


async def issue(
    stub: pb_grpc.TelemetryServiceAsyncStub,
    gateways: Mapping[str, Sequence[str]],
    metadata: Metadata,
    attempts: int = 60,
) -> dict[str, Credentials]:
    """gateway id -> credentials, each gateway's call retried on UNAVAILABLE with backoff."""
    issued: dict[str, Credentials] = {}
    for gateway_id, meter_ids in gateways.items():
        request = pb.IssueDeviceCredentialsRequest(device_id=gateway_id, meter_ids=list(meter_ids))
        delay = 0.5
        for attempt in range(attempts):
            try:
                response = await stub.IssueDeviceCredentials(request, metadata=await metadata(), timeout=30)
                issued[gateway_id] = (response.username, response.password)
                break
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in _RETRY or attempt == attempts - 1:
                    raise
                log.warning("credentials_retry", gateway=gateway_id, error=exc.code().name, retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
    log.info("gateway_credentials_issued", gateways=len(issued))
    return issued


def make_provisioner(ingest_addr: str, auth_target: str, username: str, secret: str) -> Provisioner:
    def run(gateways: Mapping[str, Sequence[str]]) -> dict[str, Credentials]:
        async def go() -> dict[str, Credentials]:
            from common.auth.credentials import ServiceCredentials
            from common.channels import make_channel

            creds = ServiceCredentials.for_auth_service(make_channel(auth_target), username, secret)
            async with grpc.aio.insecure_channel(ingest_addr) as channel:
                return await issue(pb_grpc.TelemetryServiceStub(channel), gateways, creds.metadata)

        return asyncio.run(go())

    return run
