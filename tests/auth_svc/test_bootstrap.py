"""First-start accounts in demo and production mode."""

from __future__ import annotations

from auth_svc.bootstrap import bootstrap_accounts
from auth_svc.server import MIGRATIONS, VERSION_TABLE
from auth_svc.store import Store
from common.db import make_engine, make_session_factory, upgrade
from tests.auth_svc.conftest import Clock, CountingHasher


def _store(db_url: str) -> Store:
    upgrade(db_url, MIGRATIONS, version_table=VERSION_TABLE)
    return Store(make_session_factory(make_engine(db_url)))


def test_demo_seed(db_url: str, clock: Clock, hasher: CountingHasher) -> None:
    store = _store(db_url)
    password = bootstrap_accounts(
        store,
        hasher,
        demo=True,
        demo_households=3,
        service_accounts={"ingest": "ingest-demo-secret"},
        clock=clock,
    )
    assert password is None
    admin = store.get_user("admin")
    assert admin is not None and admin.role == "admin"
    assert hasher.verify(admin.password_hash, "admin-demo")
    user = store.get_user("household-0003")
    assert user is not None and user.households == ("sim-h000002",)
    assert hasher.verify(user.password_hash, "demo")
    ingest = store.get_user("ingest")
    assert ingest is not None and ingest.role == "service"
    # A second start changes nothing.
    bootstrap_accounts(
        store,
        hasher,
        demo=True,
        demo_households=3,
        service_accounts={"ingest": "ingest-demo-secret"},
        clock=clock,
    )
    assert store.count_users() == 5


def test_production_creates_one_admin_once_and_syncs_service_secrets(
    db_url: str, clock: Clock, hasher: CountingHasher
) -> None:
    store = _store(db_url)
    password = bootstrap_accounts(
        store,
        hasher,
        demo=False,
        demo_households=3,
        service_accounts={"ingest": "first-secret-0123456"},
        clock=clock,
    )
    assert password and len(password) >= 20
    admin = store.get_user("admin")
    assert admin is not None and hasher.verify(admin.password_hash, password)
    assert store.get_user("household-0001") is None
    again = bootstrap_accounts(
        store,
        hasher,
        demo=False,
        demo_households=3,
        service_accounts={"ingest": "rotated-secret-0123456"},
        clock=clock,
    )
    assert again is None
    ingest = store.get_user("ingest")
    assert ingest is not None and hasher.verify(ingest.password_hash, "rotated-secret-0123456")


def test_replicas_seeding_one_database_at_once_all_start(
    db_url: str, clock: Clock, hasher: CountingHasher
) -> None:
    """Two auth_svc replicas (compose --scale) seed the same fresh database concurrently."""
    import threading

    _store(db_url)  # migrate once
    stores = [Store(make_session_factory(make_engine(db_url))) for _ in range(3)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores))

    def seed(store: Store) -> None:
        start.wait()
        try:
            bootstrap_accounts(
                store,
                hasher,
                demo=True,
                demo_households=20,
                service_accounts={"ingest": "ingest-demo-secret", "meter_sim": "meter_sim-demo-secret"},
                clock=clock,
            )
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=seed, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert stores[0].count_users() == 1 + 20 + 2


def test_demo_seed_adds_only_missing_accounts(db_url: str, clock: Clock, hasher: CountingHasher) -> None:
    store = _store(db_url)
    seed = {"hasher": hasher, "demo": True, "service_accounts": {}, "clock": clock}
    bootstrap_accounts(store, demo_households=3, **seed)  # type: ignore[arg-type]
    first = store.get_user("household-0002")
    bootstrap_accounts(store, demo_households=5, **seed)  # type: ignore[arg-type]
    assert store.count_users("user") == 5
    assert store.get_user("household-0002") == first  # untouched, not re-created
    fifth = store.get_user("household-0005")
    assert fifth is not None and fifth.households == ("sim-h000004",)
    assert store.create_missing_users([("household-0005", "x", "user", ())], clock()) == 0
