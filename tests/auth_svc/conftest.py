"""Fixtures for auth_svc: a database per test (SQLite file or a fresh PostgreSQL schema), an
injected clock and a counting (real, cheap) argon2 hasher, and a real gRPC server on port 0."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace

import grpc
import pytest

from auth_svc.config import AuthConfig
from auth_svc.passwords import Argon2Hasher
from auth_svc.server import AuthApp, build, start
from common.mqtt_auth import new_secret
from common.server import RunningServer, ServerConfig
from energypulse.auth.v1 import auth_service_pb2_grpc
from tests.conftest import sqlite_or_postgres
from tests.demo_accounts import DEMO_ADMIN_PASSWORD, DEMO_USER_PASSWORD

NOW = float(int(time.time()))
# Random per test session, as an installation's are (no secret has a default, demo mode neither).
SERVICE_SECRETS = {"ingest": new_secret(), "meter_sim": new_secret()}
KEK = base64.urlsafe_b64encode(os.urandom(32)).decode()


class Clock:
    """Injected wall clock: tests move time instead of sleeping."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingHasher(Argon2Hasher):
    """A real argon2id hasher (cheap parameters) that counts verifications."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost_kib=1024)
        self.verifications = 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return super().verify(password_hash, password)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


db_url = sqlite_or_postgres("auth_test")


@pytest.fixture
def config(db_url: str) -> AuthConfig:
    return AuthConfig(
        database_url=db_url,
        demo=True,
        demo_households=3,
        demo_admin_password=DEMO_ADMIN_PASSWORD,
        demo_user_password=DEMO_USER_PASSWORD,
        key_encryption_key=KEK,
        service_accounts=",".join(f"{k}:{v}" for k, v in SERVICE_SECRETS.items()),
        access_ttl_s=300,
        pair_free_failures=3,
        client_free_failures=10,
        account_free_failures=30,
        login_window_s=60,
    )


@pytest.fixture
def app(config: AuthConfig, hasher: CountingHasher, clock: Clock) -> Iterator[AuthApp]:
    built = build(config, hasher=hasher, clock=clock)
    yield built
    built.engine.dispose()


@dataclass
class Server:
    app: AuthApp
    running: RunningServer
    channel: grpc.aio.Channel
    stub: auth_service_pb2_grpc.AuthServiceStub

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.running.port}"


@pytest.fixture
async def server(app: AuthApp) -> AsyncIterator[Server]:
    running = await start(app, ServerConfig(port=0))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    yield Server(app, running, channel, auth_service_pb2_grpc.AuthServiceStub(channel))
    await channel.close()
    await running.stop(None)


__all__ = ["NOW", "Clock", "CountingHasher", "Server", "replace"]
