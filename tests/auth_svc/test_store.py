"""The store: migrations match the models, and refresh tokens are consumed exactly once."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from auth_svc.server import MIGRATIONS, VERSION_TABLE
from auth_svc.store import Base, Store
from common.db import make_engine, make_session_factory, upgrade
from tests.auth_svc.conftest import Clock


def test_migrations_match_models(db_url: str) -> None:
    upgrade(db_url, MIGRATIONS, version_table=VERSION_TABLE)
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_refresh_token_is_consumed_once(db_url: str, clock: Clock) -> None:
    upgrade(db_url, MIGRATIONS, version_table=VERSION_TABLE)
    engine = make_engine(db_url)
    try:
        store = Store(make_session_factory(engine))
        user = store.create_user("u1", "hash", "user", ["h1", "h1"], clock.now)
        assert user.households == ("h1",)
        store.add_refresh_token(user.id, "fam", "a" * 64, clock.now, clock.now + 60)
        row = store.find_refresh_token("a" * 64)
        assert row is not None
        assert store.mark_refresh_used(row.id, clock.now)
        assert not store.mark_refresh_used(row.id, clock.now)  # a racing second refresh loses
        assert store.revoke_family("fam", clock.now) == 1
    finally:
        engine.dispose()
