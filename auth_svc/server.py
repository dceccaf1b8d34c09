"""auth_svc wiring: database, key ring, accounts, servicer, and the shared auth interceptor.

auth_svc verifies tokens with its own key ring (no network hop) and checks revocations against
its database on every call, so a disabled user is refused here immediately.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from auth_svc.accounts import Accounts
from auth_svc.bootstrap import bootstrap_accounts
from auth_svc.config import (
    AuthConfig,
    key_encryption_key,
    parse_audit_reporters,
    parse_service_accounts,
    validate,
)
from auth_svc.keys import KeyRing
from auth_svc.ops.monitor import HealthMonitor, MonitorTarget
from auth_svc.ops.servicer import OpsServicer
from auth_svc.passwords import Argon2Hasher, PasswordHasher
from auth_svc.ratelimit import LoginThrottle, ThrottlePolicy
from auth_svc.servicer import AuthServicer, TrustedProxies
from auth_svc.store import Store
from auth_svc.tokens import TokenIssuer
from common.auth.access import rules_from_services
from common.auth.interceptor import AuthInterceptor
from common.auth.keys import StaticKeySource
from common.auth.revocations import Revocation, RevocationSource, session_key
from common.auth.verifier import TokenVerifier
from common.config import from_env
from common.db import make_engine, make_session_factory, upgrade
from common.log import get_logger
from common.server import GrpcService, RunningServer, ServerConfig, start_server
from energypulse.alert.v1 import alert_service_pb2
from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from energypulse.ledger.v1 import ledger_service_pb2
from energypulse.ops.v1 import ops_service_pb2, ops_service_pb2_grpc
from energypulse.prediction.v1 import prediction_service_pb2
from energypulse.telemetry.v1 import telemetry_service_pb2

__all__ = [
    "MIGRATIONS",
    "AuthApp",
    "background",
    "build",
    "health_monitor",
    "interceptors",
    "monitor_targets",
    "server_config",
    "services",
    "start",
]

log = get_logger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "auth_alembic_version"
SERVICE = auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"]
OPS_SERVICE = ops_service_pb2.DESCRIPTOR.services_by_name["OpsService"]


class _DatabaseRevocations(RevocationSource):
    """auth_svc's own revocation check: read on every call, no cache window."""

    def __init__(self, accounts: Accounts) -> None:
        self._accounts = accounts

    async def revocations(self) -> Mapping[str, Revocation]:
        entries, sessions = await asyncio.to_thread(
            lambda: (self._accounts.revocations(), self._accounts.revoked_sessions())
        )
        listed = {e.subject_sha256: Revocation(e.not_before, e.disabled) for e in entries}
        listed.update({session_key(sha): Revocation(0, disabled=True) for sha in sessions})
        return listed


@dataclass
class AuthApp:
    config: AuthConfig
    engine: Engine
    accounts: Accounts
    servicer: AuthServicer
    verifier: TokenVerifier
    initial_admin_password: str | None
    monitor: HealthMonitor


def server_config(environ: Mapping[str, str] | None = None) -> ServerConfig:
    """Server settings from EP_AUTH_GRPC_HOST, EP_AUTH_GRPC_PORT, EP_AUTH_METRICS_PORT..."""
    environ = os.environ if environ is None else environ
    prefix = "EP_AUTH_"
    return from_env(ServerConfig, {k[len(prefix) :]: v for k, v in environ.items() if k.startswith(prefix)})


def build(
    config: AuthConfig,
    *,
    hasher: PasswordHasher | None = None,
    clock: Callable[[], float] = time.time,
) -> AuthApp:
    """Validate settings, migrate the database, seed accounts and assemble the service."""
    validate(config)
    upgrade(config.database_url, MIGRATIONS, version_table=VERSION_TABLE)
    engine = make_engine(config.database_url)
    store = Store(make_session_factory(engine))
    hasher = hasher or Argon2Hasher(config.argon2_time_cost, config.argon2_memory_kib)
    leeway_s = 60
    keys = KeyRing(
        store,
        key_encryption_key(config),
        access_ttl_s=config.access_ttl_s,
        rotation_s=config.key_rotation_s,
        leeway_s=leeway_s,
        clock=clock,
    )
    keys.ensure_signing_key()
    issuer = TokenIssuer(
        keys, issuer=config.issuer, audience=config.audience, ttl_s=config.access_ttl_s, clock=clock
    )
    limiter = LoginThrottle(
        store,
        ThrottlePolicy(
            pair_free=config.pair_free_failures,
            client_free=config.client_free_failures,
            account_free=config.account_free_failures,
            base_delay_s=config.throttle_base_delay_s,
            max_delay_s=config.throttle_max_delay_s,
            window_s=config.login_window_s,
        ),
        clock,
    )
    accounts = Accounts(
        store,
        keys,
        issuer,
        hasher,
        limiter,
        refresh_ttl_s=config.refresh_ttl_s,
        password_reset_ttl_s=config.password_reset_ttl_s,
        service_secrets=parse_service_accounts(config),
        leeway_s=leeway_s,
        clock=clock,
    )
    password = bootstrap_accounts(
        store,
        hasher,
        demo=config.demo,
        demo_households=config.demo_households,
        demo_household_format=config.demo_household_format,
        demo_passwords=(config.demo_admin_password, config.demo_user_password),
        service_accounts=parse_service_accounts(config),
        clock=clock,
    )
    verifier = TokenVerifier(
        StaticKeySource(keys.public_keys),
        issuer=config.issuer,
        audience=config.audience,
        revocations=_DatabaseRevocations(accounts),
        clock=clock,
    )
    servicer = AuthServicer(
        accounts,
        proxies=TrustedProxies(config.trusted_proxies),
        audit_reporters=parse_audit_reporters(config),
    )
    return AuthApp(config, engine, accounts, servicer, verifier, password, health_monitor(config, clock))


def monitor_targets(config: AuthConfig) -> list[MonitorTarget]:
    """The services the operator watches: the five gRPC services, each by the gRPC service name it
    serves, and the witness over HTTP (its /healthz)."""
    named = [
        ("auth", SERVICE.full_name, config.monitor_auth_target),
        (
            "prediction",
            prediction_service_pb2.DESCRIPTOR.services_by_name["PredictionService"].full_name,
            config.monitor_predict_target,
        ),
        (
            "ledger",
            ledger_service_pb2.DESCRIPTOR.services_by_name["LedgerService"].full_name,
            config.monitor_ledger_target,
        ),
        (
            "telemetry",
            telemetry_service_pb2.DESCRIPTOR.services_by_name["TelemetryService"].full_name,
            config.monitor_telemetry_target,
        ),
        (
            "alert",
            alert_service_pb2.DESCRIPTOR.services_by_name["AlertService"].full_name,
            config.monitor_alert_target,
        ),
    ]
    targets = [
        MonitorTarget(service, grpc_service, address) for service, grpc_service, address in named if address
    ]
    if config.monitor_witness_url:
        targets.append(MonitorTarget("witness", "", config.monitor_witness_url, kind="http"))
    return targets


def health_monitor(config: AuthConfig, clock: Callable[[], float] = time.time) -> HealthMonitor:
    return HealthMonitor(
        monitor_targets(config),
        interval_s=config.health_probe_interval_s,
        alert_after_s=config.health_alert_after_s,
        history_s=config.health_history_s,
        clock=clock,
    )


def services(app: AuthApp) -> list[GrpcService]:
    return [
        GrpcService(SERVICE, auth_service_pb2_grpc.add_AuthServiceServicer_to_server, app.servicer),
        GrpcService(
            OPS_SERVICE, ops_service_pb2_grpc.add_OpsServiceServicer_to_server, OpsServicer(app.monitor)
        ),
    ]


def interceptors(app: AuthApp) -> list[AuthInterceptor]:
    return [AuthInterceptor(app.verifier, rules_from_services([SERVICE, OPS_SERVICE]))]


def background(app: AuthApp) -> list[Callable[[], Coroutine[object, None, None]]]:
    """Key rotation, and the health monitor unless EP_AUTH_HEALTH_PROBE_INTERVAL_S is 0."""
    jobs: list[Callable[[], Coroutine[object, None, None]]] = [lambda: rotate_keys_forever(app)]
    if app.config.health_probe_interval_s > 0:
        jobs.append(app.monitor.run_forever)
    return jobs


async def start(app: AuthApp, server: ServerConfig) -> RunningServer:
    return await start_server(server, services(app), interceptors(app))


async def rotate_keys_forever(app: AuthApp, every_s: float = 3600.0) -> None:
    """Make a new signing key once the current one reaches EP_AUTH_KEY_ROTATION_S."""
    while True:
        await asyncio.sleep(every_s)
        key = await asyncio.to_thread(app.accounts.keys.ensure_signing_key)
        log.debug("signing_key_checked", kid=key.kid)
