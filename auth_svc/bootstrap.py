"""First-start accounts: service accounts from configuration, the demo seed, the first admin.

Demo mode (EP_AUTH_DEMO=1, the local one-command run and compose) seeds the demo accounts:
``admin`` and ``household-0001`` ... one per simulated household (user N is linked to meter_sim's
household N-1, ``sim-h000000`` for ``household-0001`` by default), with the installation's own
passwords (EP_AUTH_DEMO_ADMIN_PASSWORD, EP_AUTH_DEMO_USER_PASSWORD: generated at first start by
devstack/secrets.py, never a value from this repository). An installation seeded by an earlier
version with the once-published passwords gets its own at the next start.
Production mode creates one ``admin`` with a generated password, logged once, when the database
has no admin yet.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping

from auth_svc.config import PUBLISHED_DEMO_ADMIN_PASSWORD, PUBLISHED_DEMO_USER_PASSWORD
from auth_svc.passwords import PasswordHasher
from auth_svc.store import DuplicateUser, Store
from common.auth.access import role_name
from common.log import get_logger
from energypulse.auth.v1 import user_pb2

__all__ = [
    "bootstrap_accounts",
    "demo_household_id",
    "demo_username",
]

log = get_logger(__name__)


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


def _replace_published_user_passwords(
    store: Store,
    hasher: PasswordHasher,
    demo_hash: str,
    user_password: str,
    demo_households: int,
    now: float,
) -> None:
    """Demo users seeded with the once-published password get the installation's (once: the
    first user tells whether the seed was the published one)."""
    if user_password == PUBLISHED_DEMO_USER_PASSWORD:
        return
    first = store.get_user(demo_username(1))
    if first is None or not hasher.verify(first.password_hash, PUBLISHED_DEMO_USER_PASSWORD):
        return
    replaced = 0
    for number in range(1, demo_households + 1):
        user = store.get_user(demo_username(number))
        if user is not None and user.password_hash == first.password_hash:
            store.update_user(user.id, password_hash=demo_hash, revoke_tokens_before=int(now))
            replaced += 1
    log.warning("published_demo_password_replaced", account="demo households", accounts=replaced)


def bootstrap_accounts(
    store: Store,
    hasher: PasswordHasher,
    *,
    demo: bool,
    demo_households: int,
    demo_household_format: str = "sim-h{index:06d}",
    demo_passwords: tuple[str, str] = ("", ""),
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
        admin_password, user_password = demo_passwords
        if not (admin_password and user_password):
            raise ValueError("demo mode needs both demo passwords (EP_AUTH_DEMO_*_PASSWORD)")
        admin = store.get_user("admin")
        if admin is None:
            _create_unless_raced(
                store, "admin", hasher.hash(admin_password), role_name(user_pb2.ROLE_ADMIN), (), now
            )
        elif admin_password != PUBLISHED_DEMO_ADMIN_PASSWORD and hasher.verify(
            admin.password_hash, PUBLISHED_DEMO_ADMIN_PASSWORD
        ):
            # Seeded by a version that used the published password: anyone who read the
            # repository could sign in as the operator. The installation's own replaces it.
            store.update_user(
                admin.id, password_hash=hasher.hash(admin_password), revoke_tokens_before=int(now)
            )
            log.warning("published_demo_password_replaced", account="admin")
        # One hash shared by all demo users (hashing it for each of 10,000 would slow every demo
        # start by minutes); the password itself is the installation's, not a published one.
        demo_hash = hasher.hash(user_password)
        _replace_published_user_passwords(store, hasher, demo_hash, user_password, demo_households, now)
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
