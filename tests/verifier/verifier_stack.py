"""Test stack: an in-process ledger_svc (port 0, real auth interceptor) behind a local HTTP/JSON gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc

from auth_svc.testing import TokenFactory
from common.auth.keys import StaticKeySource
from common.auth.verifier import TokenVerifier
from common.server import ServerConfig, start_server
from energypulse.ledger.v1 import ledger_service_pb2_grpc
from ledger_svc.config import LedgerConfig
from ledger_svc.server import LedgerApp, build, interceptors, services
from ledger_svc.signing import Signer
from tests.verifier.http_shim import json_gateway


@dataclass
class Deployed:
    app: LedgerApp
    stub: ledger_service_pb2_grpc.LedgerServiceStub
    base_url: str
    tokens: TokenFactory
    signer: Signer

    def token(self, role: str = "user", households: tuple[str, ...] = ("hh-1",)) -> str:
        subject = "ingest" if role == "service" else f"{role}-x"  # ingest: the ledger's default writer
        return self.tokens.token(subject=subject, role=role, households=households)


@asynccontextmanager
async def deployed_ledger(
    tmp_path: Path, signer: Signer | None = None, db_name: str = "ledger.db"
) -> AsyncIterator[Deployed]:
    """A ledger behind the JSON shim; ``signer`` shared by two deployments makes a split view."""
    tokens = TokenFactory()
    verifier = TokenVerifier(
        StaticKeySource(lambda: {tokens.kid: tokens.public_key}),
        issuer=tokens.issuer,
        audience=tokens.audience,
    )
    signer = signer or Signer.generate()
    app = build(LedgerConfig(database_url=f"sqlite:///{tmp_path}/{db_name}", block_max_txs=4), signer=signer)
    server = await start_server(
        ServerConfig(port=0, metrics_port=-1), services(app), interceptors(app, verifier)
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        with json_gateway(server.port) as base_url:
            yield Deployed(app, ledger_service_pb2_grpc.LedgerServiceStub(channel), base_url, tokens, signer)
    finally:
        await channel.close()
        await server.stop(None)
        app.engine.dispose()
