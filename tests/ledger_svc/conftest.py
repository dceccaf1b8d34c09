"""Fixtures: a fresh ledger database per test, on SQLite (file in tmp_path) and PostgreSQL (own schema)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from common.db import upgrade
from ledger_svc.ledger import Ledger
from ledger_svc.server import MIGRATIONS, VERSION_TABLE
from ledger_svc.signing import Signer
from ledger_svc.store import make_ledger_engine
from tests.conftest import require
from tests.ledger_svc.ledger_records import Clock

PG_URL = os.environ.get("EP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_SEED = bytes(range(32))


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    return _pg_available()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, pg_available: bool) -> Iterator[str]:
    """A migrated, empty ledger database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/ledger.db"
        upgrade(url, MIGRATIONS, version_table=VERSION_TABLE)
        yield url
        return
    require(pg_available, "PostgreSQL not reachable at EP_TEST_POSTGRES_URL")
    schema = f"ledger_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url, MIGRATIONS, version_table=VERSION_TABLE)
        yield url
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def signer() -> Signer:
    return Signer.from_seed(TEST_SEED)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_ledger(db_url: str, signer: Signer, clock: Clock) -> Iterator[Callable[..., Ledger]]:
    """Ledger instances over the test database (several = several replicas)."""
    engines: list[Engine] = []

    def factory(block_max_txs: int = 4, block_max_ms: int = 60_000) -> Ledger:
        engine = make_ledger_engine(db_url)
        engines.append(engine)
        ledger = Ledger(engine, signer, block_max_txs, block_max_ms, clock=clock)
        ledger.load()
        return ledger

    yield factory
    for engine in engines:
        engine.dispose()


@pytest.fixture
def ledger(make_ledger: Callable[..., Ledger]) -> Ledger:
    return make_ledger()
