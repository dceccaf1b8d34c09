"""An in-process ledger_svc on port 0 with the real auth interceptor trusting a test token key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc

from auth_svc.testing import TokenFactory
from common.auth.keys import StaticKeySource
from common.auth.verifier import TokenVerifier
from common.server import ServerConfig, start_server
from energypulse.ledger.v1 import ledger_service_pb2_grpc
from ledger_svc.config import LedgerConfig
from ledger_svc.server import LedgerApp, build, interceptors, services
from ledger_svc.signing import Signer


@dataclass
class RunningLedger:
    app: LedgerApp
    port: int
    channel: grpc.aio.Channel
    stub: ledger_service_pb2_grpc.LedgerServiceStub
    tokens: TokenFactory

    def auth(self, role: str = "user", households: tuple[str, ...] = ("hh-1",), subject: str = "") -> list:
        # A service token is the billing service's ("ingest", the ledger's default writer) unless named.
        subject = subject or ("ingest" if role == "service" else "u-1")
        return [
            (
                "authorization",
                f"Bearer {self.tokens.token(subject=subject, role=role, households=households)}",
            )
        ]


@asynccontextmanager
async def running_ledger(
    database_url: str, signer: Signer, block_max_txs: int = 4
) -> AsyncIterator[RunningLedger]:
    tokens = TokenFactory()
    verifier = TokenVerifier(
        StaticKeySource(lambda: {tokens.kid: tokens.public_key}),
        issuer=tokens.issuer,
        audience=tokens.audience,
    )
    config = LedgerConfig(database_url=database_url, block_max_txs=block_max_txs, block_max_ms=3_600_000)
    app = build(config, signer=signer)
    server = await start_server(
        ServerConfig(port=0, metrics_port=-1), services(app), interceptors(app, verifier)
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield RunningLedger(
            app, server.port, channel, ledger_service_pb2_grpc.LedgerServiceStub(channel), tokens
        )
    finally:
        await channel.close()
        await server.stop(None)
        app.engine.dispose()
