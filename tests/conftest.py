"""Fixtures shared by every test folder: free ports, a private Mosquitto, PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devstack import reaper
from devstack.broker import mosquitto_binary, start_mosquitto
from devstack.ports import free_port
from tests.mqtt_identities import (
    HARNESS_PASSWORD,
    HARNESS_USER,
    INGEST_PASSWORD,
    harness_clients,
    harness_roles,
)

ROOT = Path(__file__).resolve().parents[1]

ENTSOE_DIR = Path(os.environ.get("EP_ENTSOE_DIR", ROOT.parent / "shared" / "data" / "entsoe"))


def require(condition: object, reason: str) -> None:
    """Skip when ``condition`` is false, except under CI=true, where a missing prerequisite fails:
    CI must run every test, so a skip there would hide that the test never ran."""
    __tracebackhide__ = True  # report the caller's line, not this one
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI=true: prerequisites must be present)", pytrace=False)
    pytest.skip(reason)


def wait_for_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class Broker:
    """A private Mosquitto on a free port, restartable with its persistence kept."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Logged in as the test harness (tests/mqtt_identities.py)."""
        return f"mqtt://{HARNESS_USER}:{HARNESS_PASSWORD}@127.0.0.1:{self.port}"

    @property
    def ingest_url(self) -> str:
        return f"mqtt://ingest:{INGEST_PASSWORD}@127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = start_mosquitto(
            self.port,
            self.data_dir,
            self.data_dir / "mosquitto.log",
            ingest_password=INGEST_PASSWORD,
            extra_clients=harness_clients(),
            extra_roles=harness_roles(),
        )
        reaper.watch(self.proc, group=False)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self.proc is not None:
            reaper.release(self.proc)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc is not None:
            reaper.release(self.proc)


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    """A fresh broker for one test."""
    if mosquitto_binary() is None:
        pytest.fail("mosquitto is not installed; ./scripts/test installs it")
    broker = Broker(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A reachable PostgreSQL URL (./scripts/test makes sure one is)."""
    return os.environ.get("EP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def private_database(postgres_url: str, prefix: str) -> Iterator[str]:
    """A throw-away database on the test server, dropped afterwards (parallel runs never collide)."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_or_postgres(
    prefix: str, prepare: Callable[[str], None] | None = None
) -> Callable[..., Iterator[str]]:
    """A fixture, parametrised over SQLite (a file in ``tmp_path``) and PostgreSQL (a
    :func:`private_database` on the test server), yielding the database URL after ``prepare(url)``
    (e.g. migrations). In a test module: ``db_url = sqlite_or_postgres("ep_settle")``."""

    @pytest.fixture(params=["sqlite", "postgresql"])
    def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / f'{prefix}.db'}"
            if prepare is not None:
                prepare(url)
            yield url
            return
        with private_database(request.getfixturevalue("postgres_url"), prefix) as url:
            if prepare is not None:
                prepare(url)
            yield url

    return database_url


@pytest.fixture(scope="session")
def entsoe_dir() -> Path:
    if not (ENTSOE_DIR / "day_ahead_prices_NO_1.csv").exists():
        pytest.fail(f"ENTSO-E data not found at {ENTSOE_DIR} (set EP_ENTSOE_DIR)")
    return ENTSOE_DIR
