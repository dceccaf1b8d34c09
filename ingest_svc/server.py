"""ingest_svc wiring for gRPC: TelemetryService servicer, auth interceptor, server settings."""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from common.auth.access import rules_from_services
from common.auth.interceptor import AuthInterceptor
from common.auth.remote import remote_verifier
from common.auth.verifier import TokenVerifier
from common.config import from_env
from common.server import GrpcService, ServerConfig
from energypulse.telemetry.v1 import telemetry_service_pb2, telemetry_service_pb2_grpc
from ingest_svc.app import IngestApp
from ingest_svc.billing import CorrectionRpcs
from ingest_svc.devices.servicer import DeviceRpcs
from ingest_svc.telemetry.servicer import TelemetryServicer

__all__ = ["SERVICE", "interceptors", "server_config", "services"]

SERVICE = telemetry_service_pb2.DESCRIPTOR.services_by_name["TelemetryService"]


def server_config(environ: Mapping[str, str] | None = None) -> ServerConfig:
    """EP_INGEST_GRPC_HOST/GRPC_PORT/METRICS_PORT..., default ports 50054 and 9104."""
    return from_env(
        ServerConfig, environ, prefix="EP_INGEST_", defaults={"port": 50054, "metrics_port": 9104}
    )


class IngestServicer(DeviceRpcs, CorrectionRpcs, TelemetryServicer):
    """TelemetryService: the telemetry room's RPCs, the devices room's and billing's correction."""


def services(app: IngestApp) -> list[GrpcService]:
    servicer = IngestServicer(
        app.engine,
        app.metrics,
        online_window_s=app.config.online_window_s,
        costs=app.costs,
        month_costs=app.month_costs,
        price_forecasts=app.price_forecasts,
        summary_cache_s=app.config.summary_cache_s,
        grid_cache_s=app.config.grid_cache_s,
    )
    servicer.devices = app.devices
    servicer.drain = app.drain
    servicer.corrections = app.corrections
    return [GrpcService(SERVICE, telemetry_service_pb2_grpc.add_TelemetryServiceServicer_to_server, servicer)]


def interceptors(app: IngestApp, verifier: TokenVerifier | None = None) -> list[grpc.aio.ServerInterceptor]:
    if verifier is None:
        # A target string: the channel is made lazily inside the server's event loop.
        verifier = remote_verifier(
            app.config.auth_target,
            issuer=app.config.jwt_issuer,
            audience=app.config.jwt_audience,
        )
    return [AuthInterceptor(verifier, rules_from_services([SERVICE]))]
