"""Database engine, sessions and Alembic migrations, shared by every service.

SQLite is the default (one file per service); any SQLAlchemy URL works, PostgreSQL when scaled out.
Each service keeps its migrations in ``<svc>/migrations`` (an Alembic script directory whose
``env.py`` calls :func:`run_migrations_env`), and calls :func:`upgrade` at start-up.

:func:`upgrade` runs Alembic in a short-lived child process (``python -m common.db``): Alembic
and Mako cost a process ~11 MB of resident memory at import that a service would otherwise keep
for its whole life after using them once (BENCHMARKS.md: memory per service, target < 150 MB).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "MigrationError",
    "is_sqlite",
    "make_engine",
    "make_session_factory",
    "run_migrations_env",
    "upgrade",
    "upgrade_here",
]

_SQLITE_STATEMENTS = 32  # prepared statements each SQLite connection keeps (see make_engine)


class MigrationError(RuntimeError):
    """The migration child process failed (its traceback went to this process's stderr)."""


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: object) -> Engine:
    """An engine with the settings every service wants for its backend.

    SQLite gets WAL (readers never block the writer), a busy timeout instead of instant
    'database is locked' errors, foreign keys on, and ``synchronous=NORMAL`` which in WAL mode
    is still crash-safe for committed transactions.
    """
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # cached_statements: sqlite3 keeps 128 prepared statements per pooled connection by
        # default, and every IN list of another length is another statement (some bind thousands
        # of parameters): ~4 MB of ingest_svc's resident memory at 10,000 meters. The few hot
        # statements stay cached; a miss costs one prepare (microseconds).
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False, "cached_statements": _SQLITE_STATEMENTS},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(url: str, script_location: Path, version_table: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["version_table"] = version_table
    return config


def upgrade(url: str, script_location: Path, version_table: str = "alembic_version") -> None:
    """Bring the database at ``url`` to the newest revision in ``script_location``.

    ``version_table`` differs per service so that several services can share one PostgreSQL
    database without their migration histories colliding.

    Runs :func:`upgrade_here` in a child process that exits when done, so Alembic never stays
    loaded in the service. In-process instead when that saves nothing or cannot work: Alembic is
    already imported (tests, tools), or the database is SQLite in memory (private to this process).
    The arguments go over stdin, not argv, so a password in ``url`` never shows in ``ps``.
    """
    if "alembic" in sys.modules or (is_sqlite(url) and _sqlite_path(url) in ("", ":memory:")):
        upgrade_here(url, script_location, version_table)
        return
    args = json.dumps({"url": url, "script_location": str(script_location), "version_table": version_table})
    # stdout/stderr are inherited: Alembic's messages and a failure's traceback land in the
    # service's own log.
    result = subprocess.run([sys.executable, "-m", "common.db"], input=args.encode(), check=False)
    if result.returncode != 0:
        raise MigrationError(f"migrating {script_location} failed (child exit code {result.returncode})")


def upgrade_here(url: str, script_location: Path, version_table: str = "alembic_version") -> None:
    """:func:`upgrade` in this process.

    Replicas starting together (``docker compose --scale``, ``./scripts/run --replicas``) would
    each run the same migration at once and all but one fail ("duplicate column"). So the upgrade
    runs under a lock: a PostgreSQL advisory lock named after the version table, or an exclusive
    lock file next to a SQLite database. The second replica then finds the schema at head.
    """
    from alembic import command

    with _migration_lock(url, version_table):
        command.upgrade(_alembic_config(url, script_location, version_table), "head")


def _sqlite_path(url: str) -> str:
    return url.split("///", 1)[-1] if "///" in url else ""


@contextmanager
def _migration_lock(url: str, version_table: str) -> Iterator[None]:
    if is_sqlite(url):
        path = _sqlite_path(url)
        if not path or path == ":memory:":
            yield
            return
        lock_path = Path(path).with_name(Path(path).name + ".migrate.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or the process dies
            yield
        return
    if not url.startswith("postgresql"):
        yield
        return
    key = int.from_bytes(hashlib.sha256(version_table.encode()).digest()[:8], "big", signed=True)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            # Session-level lock on its own connection: held across Alembic's transactions and
            # released by the server if this process dies.
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        engine.dispose()


def run_migrations_env(target_metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py`` (online mode only)."""
    from alembic import context

    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    connectable = make_engine(url)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=config.attributes.get("version_table", "alembic_version"),
            render_as_batch=is_sqlite(url),
        )
        with context.begin_transaction():
            context.run_migrations()
    connectable.dispose()


def _main() -> int:
    """``python -m common.db`` (what :func:`upgrade` runs): one upgrade, arguments as JSON on stdin."""
    args = json.loads(sys.stdin.read())
    upgrade_here(args["url"], Path(args["script_location"]), args["version_table"])
    return 0


if __name__ == "__main__":
    sys.exit(_main())
