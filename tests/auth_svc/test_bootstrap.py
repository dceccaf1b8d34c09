"""First-start accounts in demo and production mode."""

from __future__ import annotations

from auth_svc.bootstrap import bootstrap_accounts
from auth_svc.server import MIGRATIONS, VERSION_TABLE
from auth_svc.store import Store
from common.db import make_engine, make_session_factory, upgrade
from tests.auth_svc.conftest import Clock, CountingHasher
from tests.demo_accounts import DEMO_PASSWORDS


def _store(db_url: str) -> Store:
    upgrade(db_url, MIGRATIONS, version_table=VERSION_TABLE)
    return Store(make_session_factory(make_engine(db_url)))


def test_demo_seed(db_url: str, clock: Clock, hasher: CountingHasher) -> None:
    store = _store(db_url)
    password = bootstrap_accounts(
        store,
        hasher,
        demo=True,
        demo_passwords=DEMO_PASSWORDS,
        demo_households=3,
        service_accounts={"ingest": "ingest-demo-secret"},
        clock=clock,
    )
    assert password is None
    admin = store.get_user("admin")
    assert admin is not None and admin.role == "admin"
    assert hasher.verify(admin.password_hash, DEMO_PASSWORDS[0])
    user = store.get_user("household-0003")
    assert user is not None and user.households == ("sim-h000002",)
    assert hasher.verify(user.password_hash, DEMO_PASSWORDS[1])
    ingest = store.get_user("ingest")
    assert ingest is not None and ingest.role == "service"
    # A second start changes nothing.
    bootstrap_accounts(
        store,
        hasher,
        demo=True,
        demo_passwords=DEMO_PASSWORDS,
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
                demo_passwords=DEMO_PASSWORDS,
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
    seed = {
        "hasher": hasher,
        "demo": True,
        "demo_passwords": DEMO_PASSWORDS,
        "service_accounts": {},
        "clock": clock,
    }
    bootstrap_accounts(store, demo_households=3, **seed)  # type: ignore[arg-type]
    first = store.get_user("household-0002")
    bootstrap_accounts(store, demo_households=5, **seed)  # type: ignore[arg-type]
    assert store.count_users("user") == 5
    assert store.get_user("household-0002") == first  # untouched, not re-created
    fifth = store.get_user("household-0005")
    assert fifth is not None and fifth.households == ("sim-h000004",)
    assert store.create_missing_users([("household-0005", "x", "user", ())], clock()) == 0


def test_demo_mode_seeds_the_installations_passwords_and_replaces_published_ones(
    db_url: str, clock: Clock, hasher: CountingHasher
) -> None:
    """An installation seeded by an earlier version with the once-published passwords
    (admin-demo, demo) gets its own at the next start: anyone who read the repository could
    otherwise sign in as its operator."""
    store = _store(db_url)

    def start(passwords: tuple[str, str]) -> None:
        bootstrap_accounts(
            store,
            hasher,
            demo=True,
            demo_households=3,
            demo_passwords=passwords,
            service_accounts={},
            clock=clock,
        )

    start(("admin-demo", "demo"))  # what the repository used to seed
    admin_before = store.get_user("admin")
    assert admin_before is not None and hasher.verify(admin_before.password_hash, "admin-demo")
    own = ("Xq7admin0installation", "Zr4user0installation")
    start(own)
    admin = store.get_user("admin")
    assert admin is not None and hasher.verify(admin.password_hash, own[0])
    assert not hasher.verify(admin.password_hash, "admin-demo")
    for n in (1, 2, 3):
        user = store.get_user(f"household-000{n}")
        assert user is not None and hasher.verify(user.password_hash, own[1])
        assert not hasher.verify(user.password_hash, "demo")
    # Once replaced, a later start with other values changes nobody's password: only the
    # published ones are replaced (an owner's own choice is kept).
    second = store.get_user("household-0002")
    assert second is not None
    store.update_user(second.id, password_hash=hasher.hash("owner-chosen-pw"))
    start(("other-admin-pw-0", "other-user-pw-0"))
    kept = store.get_user("household-0002")
    assert kept is not None and hasher.verify(kept.password_hash, "owner-chosen-pw")
    admin_after = store.get_user("admin")
    assert admin_after is not None and hasher.verify(admin_after.password_hash, own[0])
    assert store.count_users() == 4


def test_demo_mode_without_its_passwords_does_not_start(
    db_url: str, clock: Clock, hasher: CountingHasher
) -> None:
    import pytest

    with pytest.raises(ValueError, match="EP_AUTH_DEMO"):
        bootstrap_accounts(
            _store(db_url), hasher, demo=True, demo_households=1, service_accounts={}, clock=clock
        )
