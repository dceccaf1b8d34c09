"""First-start accounts: service accounts from configuration, the demo seed, the first admin.

Demo mode (EP_AUTH_DEMO=1, the local one-command run) seeds the documented accounts:
``admin``/``admin-demo``, ``household-0001``/``demo`` ... one per simulated household (user N is
linked to meter_sim's household N-1, ``sim-h000000`` for ``household-0001`` by default), and the
service accounts with their demo secrets.
Production mode creates one ``admin`` with a generated password, logged once, when the database
has no admin yet.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping

from auth_svc.passwords import PasswordHasher
from auth_svc.store import DuplicateUser, Store
from common.auth.access import role_name
from common.log import get_logger
from energypulse.auth.v1 import user_pb2

__all__ = [
    "DEMO_ADMIN_PASSWORD",
    "DEMO_USER_PASSWORD",
    "bootstrap_accounts",
    "demo_household_id",
    "demo_username",
]

log = get_logger(__name__)

DEMO_ADMIN_PASSWORD = "admin-demo"
DEMO_USER_PASSWORD = "demo"


def demo_username(number: int) -> str:
    return f"household-{number:04d}"


DEMO_SEED_CHUNK = 500


def demo_household_id(number: int, household_format: str = "sim-h{index:06d}") -> str:
    """The simulated household of demo user ``number`` (1-based; meter_sim counts from 0)."""
    return household_format.format(index=number - 1)


def _create_unless_raced(
    store: Store, name: str, password_hash: str, role: str, households: tuple[str, ...], now: float
) -> None:
    """Create an account; another replica seeding the same database at the same moment may win."""
    try:
        store.create_user(name, password_hash, role, households, now)
    except DuplicateUser:
        log.info("account_seeded_by_another_replica", account=name)


def bootstrap_accounts(
    store: Store,
    hasher: PasswordHasher,
    *,
    demo: bool,
    demo_households: int,
    demo_household_format: str = "sim-h{index:06d}",
    service_accounts: Mapping[str, str],
    clock: Callable[[], float] = time.time,
) -> str | None:
    """Seed accounts; returns the generated admin password when one was made (production)."""
    now = clock()
    for name, secret in service_accounts.items():
        user = store.get_user(name)
        if user is None:
            _create_unless_raced(store, name, hasher.hash(secret), role_name(user_pb2.ROLE_SERVICE), (), now)
        elif not hasher.verify(user.password_hash, secret):
            # The configured secret is the source of truth: a rotated secret replaces the old.
            store.update_user(
                user.id, password_hash=hasher.hash(secret), role=role_name(user_pb2.ROLE_SERVICE)
            )
            log.info("service_account_secret_updated", account=name)
    if demo:
        if store.get_user("admin") is None:
            _create_unless_raced(
                store, "admin", hasher.hash(DEMO_ADMIN_PASSWORD), role_name(user_pb2.ROLE_ADMIN), (), now
            )
        # One hash shared by all demo users: their password is published anyway, and hashing it
        # a hundred times would slow every demo start by seconds.
        demo_hash = hasher.hash(DEMO_USER_PASSWORD)
        accounts = [
            (
                demo_username(number),
                demo_hash,
                role_name(user_pb2.ROLE_USER),
                (demo_household_id(number, demo_household_format),),
            )
            for number in range(1, demo_households + 1)
        ]
        # A few large transactions: 10,000 demo households would be 10,000 commits one by one,
        # and one transaction of all of them would hold every row in memory at once.
        for start in range(0, len(accounts), DEMO_SEED_CHUNK):
            chunk = accounts[start : start + DEMO_SEED_CHUNK]
            try:
                store.create_missing_users(chunk, now)
            except DuplicateUser:
                log.info("accounts_seeded_by_another_replica")
                store.create_missing_users(chunk, now)
        log.info("demo_accounts_ready", households=demo_households)
        return None
    if store.count_users(role_name(user_pb2.ROLE_ADMIN)) > 0:
        return None
    password = secrets.token_urlsafe(18)
    username = "admin" if store.get_user("admin") is None else f"admin-{secrets.token_hex(3)}"
    store.create_user(username, hasher.hash(password), role_name(user_pb2.ROLE_ADMIN), (), now)
    # Logged exactly once, on the start that creates the account; change it after signing in.
    log.warning("initial_admin_created", username=username, password=password)
    return password
