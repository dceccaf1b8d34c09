"""A PredictApp behind a real gRPC server on port 0, with the production interceptors and a
test-only token issuer: one set-up for every test file that calls the service through stubs;
and the seeded app itself (config, build, past forecasts issued) for those that call it directly."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc

from auth_svc.testing import TokenFactory
from common.auth.keys import StaticKeySource
from common.auth.verifier import TokenVerifier
from common.config import from_env
from common.server import ServerConfig, start_server
from energypulse.prediction.v1 import prediction_service_pb2_grpc as pb_grpc
from predict_svc.config import PredictConfig
from predict_svc.server import Now, PredictApp, build, interceptors, services

HOUSEHOLD = "household-main"


def seeded_app(tmp_path: Path, now: Now, models_from: Path | None = None, **config: Any) -> PredictApp:
    """The app of ``config`` on a state directory in ``tmp_path``, its past forecasts issued (so
    accuracy has something to score). ``models_from``: its models are copied to
    ``tmp_path / "models"`` and served from there, so a test may change them."""
    if models_from is not None:
        shutil.copytree(models_from, tmp_path / "models")
        config["model_dir"] = str(tmp_path / "models")
    app = build(from_env(PredictConfig, {}, state_dir=str(tmp_path / "state"), **config), now=now)
    app.wait_seeded()
    return app


def bearer(
    factory: TokenFactory, role: str = "user", households: tuple[str, ...] = (HOUSEHOLD,)
) -> tuple[tuple[str, str], ...]:
    """Call metadata with a token of ``factory`` for a ``role``-1 of ``households``."""
    token = factory.token(subject=f"{role}-1", role=role, households=households)
    return (("authorization", f"Bearer {token}"),)


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
