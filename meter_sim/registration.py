"""Registers the simulated households and meters with ingest_svc (TelemetryService.RegisterHouseholds).

That is the only thing the simulator writes outside MQTT; re-registering the same fleet is
idempotent, so it runs on every start. Retried with backoff because ingest may still be starting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

import grpc

from common.log import get_logger
from contracts.mqtt.boundary import KEY_ALGORITHM, key_id
from energy.localtime import LOCAL_TZ
from energy.zones import DEFAULT_ZONE
from energypulse.telemetry.v1 import reading_pb2 as rpb
from energypulse.telemetry.v1 import telemetry_service_pb2 as pb
from energypulse.telemetry.v1 import telemetry_service_pb2_grpc as pb_grpc
from meter_sim.profiles import Heating, Household

__all__ = ["make_registrar", "register", "to_proto"]

log = get_logger(__name__)

_HEATING = {
    Heating.HEAT_PUMP: rpb.HEATING_TYPE_HEAT_PUMP,
    Heating.ELECTRIC_RESISTIVE: rpb.HEATING_TYPE_ELECTRIC_RESISTIVE,
    Heating.DISTRICT_HEATING: rpb.HEATING_TYPE_DISTRICT,
    Heating.NON_ELECTRIC: rpb.HEATING_TYPE_NON_ELECTRIC,
}
Metadata = Callable[[], Awaitable[tuple[tuple[str, str], ...]]]


def to_proto(
    h: Household, zone: str = DEFAULT_ZONE, time_zone: str = LOCAL_TZ, public_key: bytes | None = None
) -> rpb.Household:
    meter = rpb.Meter(meter_id=h.meter_id, household_id=h.household_id)
    if public_key is not None:
        meter.signing_key.CopyFrom(
            rpb.MeterSigningKey(algorithm=KEY_ALGORITHM, public_key=public_key, key_id=key_id(public_key))
        )
    return rpb.Household(
        household_id=h.household_id,
        display_name=f"Simulated household {h.household_id}",
        zone=zone,
        time_zone=time_zone,
        residents=h.residents,
        heating=_HEATING[h.heating],
        has_ev=h.has_ev,
        has_solar=h.has_solar,
        meters=[meter],
    )


async def register(
    stub: pb_grpc.TelemetryServiceAsyncStub,  # the stub of an aio channel (typing only: .pyi)
    households: Sequence[Household],
    metadata: Metadata,
    chunk: int = 1000,
    attempts: int = 60,
    zone: str = DEFAULT_ZONE,
    public_keys: Mapping[str, bytes] | None = None,
) -> tuple[int, int]:
    """(created, updated) over all chunks; each chunk retried on UNAVAILABLE with backoff.

    ~10 minutes of retries (10 s apart at most): every process of the stack starts together, and
    auth_svc seeding thousands of demo accounts or ingest migrating can take a while.
    """
    created = updated = 0
    for start in range(0, len(households), chunk):
        request = pb.RegisterHouseholdsRequest(
            households=[
                to_proto(h, zone, public_key=(public_keys or {}).get(h.meter_id))
                for h in households[start : start + chunk]
            ]
        )
        delay = 0.5
        for attempt in range(attempts):
            try:
                response = await stub.RegisterHouseholds(request, metadata=await metadata(), timeout=30)
                created += response.created
                updated += response.updated
                break
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) or (
                    attempt == attempts - 1
                ):
                    raise
                log.warning("register_retry", error=exc.code().name, retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
    log.info("households_registered", created=created, updated=updated)
    return created, updated


def make_registrar(
    ingest_addr: str, auth_target: str, username: str, secret: str, zone: str = DEFAULT_ZONE
) -> Callable[[Sequence[Household], Mapping[str, bytes]], None]:
    def run(households: Sequence[Household], public_keys: Mapping[str, bytes]) -> None:
        async def go() -> None:
            from common.auth.credentials import ServiceCredentials
            from common.channels import make_channel

            creds = ServiceCredentials.for_auth_service(make_channel(auth_target), username, secret)
            async with grpc.aio.insecure_channel(ingest_addr) as channel:
                await register(
                    pb_grpc.TelemetryServiceStub(channel),
                    households,
                    creds.metadata,
                    zone=zone,
                    public_keys=public_keys,
                )

        asyncio.run(go())

    return run
