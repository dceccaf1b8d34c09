"""alert_svc wiring: database, KEK, target policy, clients of predict_svc and ingest_svc, the
evaluator and delivery workers, servicer, auth interceptor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
from sqlalchemy.engine import Engine

from alert_svc.channels import Deliverer
from alert_svc.config import AlertConfig, validate
from alert_svc.evaluator import Evaluator
from alert_svc.servicer import AlertServicer
from alert_svc.signals import AlertSignals
from alert_svc.store import AlertStore
from alert_svc.targets import TargetPolicy
from alert_svc.upstream import Upstream
from common.auth.access import rules_from_services
from common.auth.credentials import ServiceCredentials
from common.auth.interceptor import AuthInterceptor, remote_auth_interceptor
from common.auth.verifier import TokenVerifier
from common.channels import make_channel
from common.config import from_env
from common.db import make_engine, upgrade
from common.rate_coverage import watch_rate_coverage
from common.server import GrpcService, ServerConfig
from energy.localtime import local_date
from energy.ratebook import DEFAULT_RULESET, load_ratebook
from energypulse.alert.v1 import alert_service_pb2, alert_service_pb2_grpc

__all__ = [
    "MIGRATIONS",
    "SERVICE",
    "VERSION_TABLE",
    "AlertApp",
    "build",
    "interceptors",
    "server_config",
    "services",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alert_alembic_version"
SERVICE = alert_service_pb2.DESCRIPTOR.services_by_name["AlertService"]


@dataclass
class AlertApp:
    config: AlertConfig
    engine: Engine
    store: AlertStore
    upstream: Upstream
    deliverer: Deliverer
    evaluator: Evaluator
    servicer: AlertServicer
    signals: AlertSignals


def server_config(environ: Mapping[str, str] | None = None) -> ServerConfig:
    """EP_ALERT_GRPC_HOST/GRPC_PORT/METRICS_PORT..., default ports 50055 and 9106."""
    return from_env(ServerConfig, environ, prefix="EP_ALERT_", defaults={"port": 50055, "metrics_port": 9106})


def build(config: AlertConfig, creds: ServiceCredentials | None = None) -> AlertApp:
    """Validate the settings, migrate the database and wire the parts (no network yet)."""
    validate(config)
    upgrade(config.database_url, MIGRATIONS, version_table=VERSION_TABLE)
    engine = make_engine(config.database_url)
    store = AlertStore(engine)
    policy = TargetPolicy(config.allowed_networks)
    if creds is None:
        creds = ServiceCredentials.for_auth_service(
            config.auth_target, config.service_account, config.service_secret
        )
    upstream = Upstream(
        config.predict_target, config.telemetry_target, creds, config.upstream_timeout_seconds
    )
    book = load_ratebook(Path(config.ratebook_dir) if config.ratebook_dir else DEFAULT_RULESET)
    deliverer = Deliverer(
        store,
        config.kek,
        policy,
        max_attempts=config.max_attempts,
        backoff_s=config.backoff_seconds,
        timeout_s=config.delivery_timeout_seconds,
        currency=book.currency,  # the installation's (the rule set's, as the bill's)
    )
    watch_rate_coverage(
        book.coverage, "alert_svc", today=lambda: local_date(datetime.now(UTC)), ruleset=str(book.path)
    )
    tz = ZoneInfo(config.time_zone)
    signals = AlertSignals(config.watch_poll_seconds, config.watch_fallback_seconds)
    evaluator = Evaluator(
        store,
        upstream,
        deliverer,
        book,
        tz,
        config.rate_limit_per_hour,
        shards=config.evaluation_shards,
        signals=signals,
    )
    servicer = AlertServicer(
        store,
        evaluator,
        config.kek,
        policy,
        max_rules=config.max_rules,
        max_subscriptions=config.max_subscriptions,
        signals=signals,
    )
    return AlertApp(config, engine, store, upstream, deliverer, evaluator, servicer, signals)


def services(app: AlertApp) -> list[GrpcService]:
    return [GrpcService(SERVICE, alert_service_pb2_grpc.add_AlertServiceServicer_to_server, app.servicer)]


def interceptors(app: AlertApp, verifier: TokenVerifier | None = None) -> list[grpc.aio.ServerInterceptor]:
    """The shared auth interceptor; tokens are checked against auth_svc's keys unless given a verifier."""
    if verifier is None:
        channel = make_channel(app.config.auth_target)
        return [
            remote_auth_interceptor(
                [SERVICE], channel, issuer=app.config.jwt_issuer, audience=app.config.jwt_audience
            )
        ]
    return [AuthInterceptor(verifier, rules_from_services([SERVICE]))]
