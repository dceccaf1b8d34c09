"""The simulator registers its fleet with a real TelemetryService (port 0, real auth)."""

from __future__ import annotations

from pathlib import Path

import grpc
from prometheus_client import CollectorRegistry

from auth_svc.testing import TokenFactory
from common.auth.access import rules_from_services
from common.auth.interceptor import AuthInterceptor
from common.auth.keys import StaticKeySource
from common.auth.verifier import TokenVerifier
from common.db import make_engine
from common.server import GrpcService, ServerConfig, start_server
from energypulse.telemetry.v1 import telemetry_service_pb2 as pb
from energypulse.telemetry.v1 import telemetry_service_pb2_grpc as pb_grpc
from ingest_svc.app import migrate
from ingest_svc.intake.metrics import IngestMetrics
from ingest_svc.server import SERVICE
from ingest_svc.telemetry.servicer import TelemetryServicer
from meter_sim.profiles import ProfileMix, draw_households
from meter_sim.registration import register


async def test_register_fleet_in_chunks_idempotently(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    migrate(url)
    engine = make_engine(url)
    factory = TokenFactory()
    verifier = TokenVerifier(
        StaticKeySource(lambda: {factory.kid: factory.public_key}),
        issuer=factory.issuer,
        audience=factory.audience,
    )
    running = await start_server(
        ServerConfig(port=0, metrics_port=-1),
        [
            GrpcService(
                SERVICE,
                pb_grpc.add_TelemetryServiceServicer_to_server,
                TelemetryServicer(engine, IngestMetrics(CollectorRegistry())),
            )
        ],
        [AuthInterceptor(verifier, rules_from_services([SERVICE]))],
    )

    async def metadata() -> tuple[tuple[str, str], ...]:
        return (
            ("authorization", f"Bearer {factory.token(subject='meter_sim', role='service', households=[])}"),
        )

    households = draw_households(250, ProfileMix(), 5)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.TelemetryServiceStub(channel)
            assert await register(stub, households, metadata, chunk=100) == (250, 0)
            assert await register(stub, households, metadata, chunk=100) == (0, 250)
            admin = (("authorization", f"Bearer {factory.token(subject='a', role='admin', households=[])}"),)
            got = await stub.GetHousehold(
                pb.GetHouseholdRequest(household_id=households[7].household_id), metadata=admin
            )
            assert got.household.residents == households[7].residents
            assert [m.meter_id for m in got.household.meters] == [households[7].meter_id]
    finally:
        await running.stop(0)
        engine.dispose()
