"""ledger_svc wiring: database, signing key, ledger, servicer, auth interceptor, block sealer."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
from sqlalchemy.engine import Engine

from common.auth.access import rules_from_services
from common.auth.interceptor import AuthInterceptor, remote_auth_interceptor
from common.auth.verifier import TokenVerifier
from common.channels import make_channel
from common.config import from_env
from common.db import upgrade
from common.log import get_logger
from common.server import GrpcService, ServerConfig
from energypulse.ledger.v1 import ledger_service_pb2, ledger_service_pb2_grpc
from ledger_svc.config import LedgerConfig
from ledger_svc.ledger import Ledger
from ledger_svc.servicer import LedgerServicer
from ledger_svc.signing import Signer, load_or_create_signer
from ledger_svc.store import make_ledger_engine

__all__ = [
    "MIGRATIONS",
    "SERVICE",
    "VERSION_TABLE",
    "LedgerApp",
    "build",
    "interceptors",
    "seal_forever",
    "server_config",
    "services",
]

log = get_logger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "ledger_svc_alembic_version"
SERVICE = ledger_service_pb2.DESCRIPTOR.services_by_name["LedgerService"]


@dataclass
class LedgerApp:
    config: LedgerConfig
    engine: Engine
    ledger: Ledger
    servicer: LedgerServicer


def server_config(environ: Mapping[str, str] | None = None) -> ServerConfig:
    """EP_LEDGER_GRPC_HOST/GRPC_PORT/METRICS_PORT..., default ports 50053 and 9103."""
    return from_env(
        ServerConfig, environ, prefix="EP_LEDGER_", defaults={"port": 50053, "metrics_port": 9103}
    )


def build(config: LedgerConfig, signer: Signer | None = None) -> LedgerApp:
    """Migrate the database, load the key and rebuild the Merkle tree from the stored chain."""
    upgrade(config.database_url, MIGRATIONS, version_table=VERSION_TABLE)
    if signer is None:
        signer = load_or_create_signer(
            config.signing_key_path, config.signing_key_seed, create=config.create_signing_key or config.demo
        )
    engine = make_ledger_engine(config.database_url)
    ledger = Ledger(engine, signer, config.block_max_txs, config.block_max_ms)
    ledger.load()
    servicer = LedgerServicer(
        ledger,
        ZoneInfo(config.invoice_time_zone),
        config.max_append_batch,
        config.head_max_age_ms,
        writers=config.writers,
        origin=config.origin,
    )
    log.info(
        "ledger_ready",
        verifier_key=signer.verifier_key(config.origin),
        key_id=signer.log_id.hex(),
        tree_size=ledger.tree_size(),
        pid=os.getpid(),
    )
    return LedgerApp(config, engine, ledger, servicer)


def services(app: LedgerApp) -> list[GrpcService]:
    return [GrpcService(SERVICE, ledger_service_pb2_grpc.add_LedgerServiceServicer_to_server, app.servicer)]


def interceptors(app: LedgerApp, verifier: TokenVerifier | None = None) -> list[grpc.aio.ServerInterceptor]:
    """The shared auth interceptor; tokens are checked against auth_svc's keys unless given a verifier."""
    if verifier is None:
        channel = make_channel(app.config.auth_target)
        return [
            remote_auth_interceptor(
                [SERVICE], channel, issuer=app.config.jwt_issuer, audience=app.config.jwt_audience
            )
        ]
    return [AuthInterceptor(verifier, rules_from_services([SERVICE]))]


async def seal_forever(ledger: Ledger, period_ms: int) -> None:
    """Seal pending transactions once the oldest is ``block_max_ms`` old (any replica may do it)."""
    interval = min(max(period_ms / 4, 50), 1000) / 1000
    while True:
        await asyncio.sleep(interval)
        try:
            sealed = await asyncio.to_thread(ledger.seal_due)
            if sealed:
                log.debug("ledger_blocks_sealed", count=sealed)
        except Exception as exc:  # noqa: BLE001 - a busy database must not kill the sealer
            log.warning("ledger_seal_failed", error=repr(exc))
