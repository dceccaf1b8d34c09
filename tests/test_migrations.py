"""Every service's Alembic migrations build exactly the schema its SQLAlchemy models describe,
on SQLite and on PostgreSQL (the scale-out store), from an empty database.

"Exactly" = Alembic's autogenerate comparison (the same one `alembic revision --autogenerate`
uses) finds no difference between the migrated database and ``Base.metadata``: no missing or
extra table, column, index, unique constraint or foreign key, and no column type or nullability
mismatch. A model change without a migration fails here on both engines.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from common.db import make_engine, upgrade
from tests.conftest import private_database

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ServiceSchema:
    name: str
    store_module: str  # holds ``Base`` (what migrations/env.py targets)
    version_table: str  # as the service passes it to common.db.upgrade at start-up

    @property
    def migrations(self) -> Path:
        return ROOT / self.name / "migrations"

    def metadata(self) -> MetaData:
        return importlib.import_module(self.store_module).Base.metadata  # type: ignore[no-any-return]


# Version table names as each service's server passes them (auth_svc/server.py, ledger_svc/server.py,
# ingest_svc/app.py); a service sharing a database with another must not share its history table.
SERVICES = [
    ServiceSchema("auth_svc", "auth_svc.store", "auth_alembic_version"),
    ServiceSchema("ledger_svc", "ledger_svc.store", "ledger_svc_alembic_version"),
    ServiceSchema("ingest_svc", "ingest_svc.schema", "ingest_alembic_version"),
    ServiceSchema("alert_svc", "alert_svc.store", "alert_alembic_version"),
]


def test_every_service_with_migrations_is_covered() -> None:
    """A new service with a migrations folder must be added above, not silently skipped."""
    with_migrations = {p.parents[1].name for p in ROOT.glob("*_svc/migrations/env.py")}
    assert with_migrations == {s.name for s in SERVICES}


def _diff(url: str, service: ServiceSchema, own_tables_only: bool = False) -> list[Any]:
    own = set(service.metadata().tables)

    def include_name(name: str | None, kind: str, _parent: Any) -> bool:
        return not (own_tables_only and kind == "table" and name not in own)

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "version_table": service.version_table,
                    "compare_type": True,
                    "compare_server_default": False,  # server defaults render differently per engine
                    "include_name": include_name,
                },
            )
            return list(compare_metadata(context, service.metadata()))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _check(url: str, service: ServiceSchema) -> None:
    upgrade(url, service.migrations, version_table=service.version_table)
    expected = set(service.metadata().tables)
    assert expected, f"{service.store_module}.Base has no tables"
    assert expected | {service.version_table} <= _tables(url)
    assert _diff(url, service) == []
    # Start-up runs upgrade every time: a second run on a migrated database is a no-op.
    upgrade(url, service.migrations, version_table=service.version_table)
    assert _diff(url, service) == []


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_migrations_match_models_on_sqlite(tmp_path: Path, service: ServiceSchema) -> None:
    _check(f"sqlite:///{tmp_path / (service.name + '.db')}", service)


@pytest.fixture
def fresh_postgres_db(postgres_url: str) -> Iterator[str]:
    """A throw-away database on the test server, dropped afterwards."""
    with private_database(postgres_url, "ep_mig") as url:
        yield url


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_migrations_match_models_on_postgresql(fresh_postgres_db: str, service: ServiceSchema) -> None:
    _check(fresh_postgres_db, service)


def test_all_services_share_one_postgresql_database(fresh_postgres_db: str) -> None:
    """Compose may point every service at one database: histories and tables must not collide."""
    for service in SERVICES:
        upgrade(fresh_postgres_db, service.migrations, version_table=service.version_table)
    for service in SERVICES:
        # The others' tables are not this service's business: compare only its own names.
        assert _diff(fresh_postgres_db, service, own_tables_only=True) == []
    names = [t for s in SERVICES for t in s.metadata().tables]
    assert len(names) == len(set(names)), "two services define a table of the same name"


def _upgrade_in_subprocesses(
    url: str, service: ServiceSchema, count: int
) -> list[subprocess.CompletedProcess[str]]:
    # Every process sleeps until the same instant, then upgrades: without the lock in
    # common.db.upgrade, two of three fail ("table ... already exists" on SQLite,
    # pg_type_typname_nsp_index on PostgreSQL), as replicas starting together did.
    code = (
        "import sys, time; from pathlib import Path; from common.db import upgrade; "
        "time.sleep(max(0.0, float(sys.argv[4]) - time.time())); "
        "upgrade(sys.argv[1], Path(sys.argv[2]), version_table=sys.argv[3])"
    )
    start_at = str(time.time() + 4.0)  # after every interpreter has imported
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url, str(service.migrations), service.version_table, start_at],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_replicas_starting_together_migrate_once(tmp_path: Path, fresh_postgres_db: str, engine: str) -> None:
    """`--scale ingest_svc=3`: three processes upgrade one fresh database at the same moment."""
    service = next(s for s in SERVICES if s.name == "ingest_svc")  # the one with two revisions
    url = f"sqlite:///{tmp_path / 'shared.db'}" if engine == "sqlite" else fresh_postgres_db
    results = _upgrade_in_subprocesses(url, service, 3)
    assert [r.returncode for r in results] == [0, 0, 0], "\n".join(r.stderr[-1500:] for r in results)
    assert _diff(url, service) == []


def test_upgrade_runs_alembic_in_a_child_process(tmp_path: Path) -> None:
    """A service calling upgrade() at start-up never has Alembic (~11 MB resident) loaded afterwards,
    and the database is migrated all the same."""
    service = next(s for s in SERVICES if s.name == "ingest_svc")
    url = f"sqlite:///{tmp_path / 'child.db'}"
    code = (
        "import sys; from pathlib import Path; from common.db import upgrade; "
        "upgrade(sys.argv[1], Path(sys.argv[2]), version_table=sys.argv[3]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, url, str(service.migrations), service.version_table],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-1500:]
    assert result.stdout.strip() == "[]"
    assert _diff(url, service) == []


def test_a_failing_child_migration_raises(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from common.db import MigrationError, upgrade\n"
        "try:\n"
        "    upgrade(sys.argv[1], Path(sys.argv[2]))\n"
        "except MigrationError as exc:\n"
        "    print('raised', exc)\n"
    )
    missing = tmp_path / "no-such-migrations"
    result = subprocess.run(
        [sys.executable, "-c", code, f"sqlite:///{tmp_path / 'x.db'}", str(missing)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-1500:]
    assert result.stdout.startswith("raised migrating"), result.stdout
    assert "no-such-migrations" in result.stderr  # the child's error reaches the service's log
