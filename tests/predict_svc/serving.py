"""A PredictApp behind a real gRPC server on port 0, with the production interceptors and a
test-only token issuer: one set-up for every test file that calls the service through stubs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc

from auth_svc.testing import TokenFactory
from common.auth.keys import StaticKeySource
from common.auth.verifier import TokenVerifier
from common.server import ServerConfig, start_server
from energypulse.prediction.v1 import prediction_service_pb2_grpc as pb_grpc
from predict_svc.server import PredictApp, interceptors, services


@asynccontextmanager
async def serving(app: PredictApp) -> AsyncIterator[tuple[pb_grpc.PredictionServiceStub, TokenFactory]]:
    """A stub on the served app and the factory whose tokens its verifier trusts."""
    factory = TokenFactory()
    verifier = TokenVerifier(
        StaticKeySource(lambda: {factory.kid: factory.public_key}),
        issuer=factory.issuer,
        audience=factory.audience,
    )
    running = await start_server(ServerConfig(port=0), services(app), interceptors(app, verifier))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield pb_grpc.PredictionServiceStub(channel), factory
    finally:
        await channel.close()
        await running.stop(None)
