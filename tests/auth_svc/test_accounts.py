"""Accounts domain on SQLite and PostgreSQL: sign-in, enumeration resistance, rate limits,
refresh-token families, revocation and admin operations."""

from __future__ import annotations

import pytest

from auth_svc.server import AuthApp
from common.auth.revocations import subject_hash
from common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from energypulse.auth.v1 import user_pb2
from tests.auth_svc.conftest import SERVICE_SECRETS, Clock, CountingHasher
from tests.demo_accounts import DEMO_ADMIN_PASSWORD, DEMO_USER_PASSWORD


async def test_login_issues_verifiable_token(app: AuthApp) -> None:
    session = app.accounts.login("household-0001", DEMO_USER_PASSWORD, "10.0.0.1")
    who = await app.verifier.verify(session.tokens.access.token)
    assert who.subject == "household-0001"
    assert who.role == user_pb2.ROLE_USER
    assert who.households == frozenset({"sim-h000000"})
    assert session.tokens.refresh_token
    assert session.user.households == ("sim-h000000",)


def test_failed_logins_look_the_same_and_always_verify_a_hash(app: AuthApp, hasher: CountingHasher) -> None:
    """No enumeration: same error for unknown user, wrong password and disabled user; and
    the unknown-user path runs a password verification too (so timing matches)."""
    app.accounts.disable_user("admin", "household-0002", True)
    errors = []
    for username, password in (
        ("nobody-here", "whatever-pass"),
        ("household-0001", "wrong-password"),
        ("household-0002", DEMO_USER_PASSWORD),
    ):
        before = hasher.verifications
        with pytest.raises(Unauthenticated) as raised:
            app.accounts.login(username, password, "10.0.0.2")
        assert hasher.verifications == before + 1, username
        errors.append((raised.value.reason, raised.value.message))
    assert len(set(errors)) == 1
    assert errors[0] == ("INVALID_CREDENTIALS", "invalid username or password")


def test_refresh_rotates_and_reuse_revokes_family(app: AuthApp, clock: Clock) -> None:
    first = app.accounts.login("household-0001", DEMO_USER_PASSWORD, "c").tokens
    second = app.accounts.refresh(first.refresh_token, "c")
    assert second.refresh_token != first.refresh_token
    third = app.accounts.refresh(second.refresh_token, "c")
    # The spent first token comes back (stolen copy): the whole family dies.
    with pytest.raises(Unauthenticated) as raised:
        app.accounts.refresh(first.refresh_token, "c")
    assert raised.value.reason == "REFRESH_TOKEN_REUSED"
    with pytest.raises(Unauthenticated) as raised:
        app.accounts.refresh(third.refresh_token, "c")
    assert raised.value.reason == "REFRESH_TOKEN_INVALID"
    # Another session of the same user is untouched.
    other = app.accounts.login("household-0001", DEMO_USER_PASSWORD, "c").tokens
    assert app.accounts.refresh(other.refresh_token, "c").refresh_token
    actions = [row.action for row in app.accounts.list_audit(50, "")[0]]
    assert "REFRESH_TOKEN_REUSED" in actions


def test_refresh_token_expires_and_is_stored_hashed(app: AuthApp, clock: Clock) -> None:
    tokens = app.accounts.login("household-0001", DEMO_USER_PASSWORD, "c").tokens
    assert app.accounts.store.find_refresh_token(tokens.refresh_token) is None
    clock.now += app.config.refresh_ttl_s + 1
    with pytest.raises(Unauthenticated):
        app.accounts.refresh(tokens.refresh_token, "c")


def test_logout_revokes_the_family(app: AuthApp) -> None:
    tokens = app.accounts.login("household-0001", DEMO_USER_PASSWORD, "c").tokens
    rotated = app.accounts.refresh(tokens.refresh_token, "c")
    app.accounts.logout(tokens.refresh_token, "c")
    with pytest.raises(Unauthenticated):
        app.accounts.refresh(rotated.refresh_token, "c")
    app.accounts.logout("not-a-token", "c")  # idempotent, reveals nothing


async def test_disable_revokes_access_and_refresh(app: AuthApp, clock: Clock) -> None:
    tokens = app.accounts.login("household-0001", DEMO_USER_PASSWORD, "c").tokens
    app.accounts.disable_user("admin", "household-0001", True)
    with pytest.raises(Unauthenticated) as raised:
        await app.verifier.verify(tokens.access.token)
    assert raised.value.reason == "TOKEN_REVOKED"
    with pytest.raises(Unauthenticated):
        app.accounts.refresh(tokens.refresh_token, "c")
    entries = {e.subject_sha256: e for e in app.accounts.revocations()}
    assert entries[subject_hash("household-0001")].disabled
    # Re-enabled: new sign-ins work (in the same second too), old tokens stay revoked.
    app.accounts.disable_user("admin", "household-0001", False)
    fresh = app.accounts.login("household-0001", DEMO_USER_PASSWORD, "c").tokens
    assert (await app.verifier.verify(fresh.access.token)).subject == "household-0001"
    with pytest.raises(Unauthenticated):
        await app.verifier.verify(tokens.access.token)


async def test_reset_password_and_role_change_revoke_tokens(app: AuthApp) -> None:
    tokens = app.accounts.login("household-0001", DEMO_USER_PASSWORD, "c").tokens
    app.accounts.reset_password("admin", "household-0001", "new-password-1")
    with pytest.raises(Unauthenticated):
        await app.verifier.verify(tokens.access.token)
    with pytest.raises(Unauthenticated):
        app.accounts.login("household-0001", DEMO_USER_PASSWORD, "c")
    tokens = app.accounts.login("household-0001", "new-password-1", "c").tokens
    user = app.accounts.set_role("admin", "household-0001", "admin")
    assert user.role == "admin"
    with pytest.raises(Unauthenticated):
        await app.verifier.verify(tokens.access.token)
    # A role change ends the session too (issue #21): the refresh token no longer works, the next
    # sign-in carries the new role.
    with pytest.raises(Unauthenticated):
        app.accounts.refresh(tokens.refresh_token, "c")
    fresh = app.accounts.login("household-0001", "new-password-1", "c").tokens
    assert (await app.verifier.verify(fresh.access.token)).role == user_pb2.ROLE_ADMIN


async def test_link_and_unlink_household(app: AuthApp) -> None:
    user = app.accounts.user_by_name("household-0001")
    linked = app.accounts.link_household("admin", user.id, "sim-h000099", unlink=False)
    assert linked.households == ("sim-h000000", "sim-h000099")
    tokens = app.accounts.login("household-0001", DEMO_USER_PASSWORD, "c").tokens
    who = await app.verifier.verify(tokens.access.token)
    assert who.households == frozenset({"sim-h000000", "sim-h000099"})
    unlinked = app.accounts.link_household("admin", user.id, "sim-h000099", unlink=True)
    assert unlinked.households == ("sim-h000000",)
    with pytest.raises(Unauthenticated):
        await app.verifier.verify(tokens.access.token)


def test_admin_operations_validate_input(app: AuthApp) -> None:
    accounts = app.accounts
    created = accounts.create_user("admin", "carol", "long-password", "user", ["h-9"])
    assert created.role == "user" and created.households == ("h-9",)
    with pytest.raises(AlreadyExists):
        accounts.create_user("admin", "carol", "long-password", "user", [])
    with pytest.raises(InvalidArgument) as raised:
        accounts.create_user("admin", "bad name!", "long-password", "user", [])
    assert raised.value.reason == "USERNAME_INVALID"
    with pytest.raises(InvalidArgument) as raised:
        accounts.create_user("admin", "dave", "short", "user", [])
    assert raised.value.reason == "PASSWORD_INVALID"
    with pytest.raises(InvalidArgument):
        accounts.create_user("admin", "dave", "long-password", "root", [])
    with pytest.raises(NotFound):
        accounts.set_role("admin", "no-such-user", "admin")
    with pytest.raises(FailedPrecondition):
        accounts.disable_user("admin", "admin", True)


def test_list_users_and_audit_pages(app: AuthApp) -> None:
    page, token, _total = app.accounts.list_users(2, "")
    names = [u.username for u in page]
    while token:
        page, token, _total = app.accounts.list_users(2, token)
        names += [u.username for u in page]
    assert names == sorted(names)
    assert {"admin", "household-0001", "household-0003", "ingest", "meter_sim"} <= set(names)
    with pytest.raises(InvalidArgument):
        app.accounts.list_users(2, "garbage!!")
    app.accounts.login("admin", DEMO_ADMIN_PASSWORD, "c")
    with pytest.raises(Unauthenticated):
        app.accounts.login("admin", "nope-nope", "c")
    events, _ = app.accounts.list_audit(2, "")
    assert [e.action for e in events] == ["LOGIN_FAILED", "LOGIN_SUCCEEDED"]
    assert events[0].detail == "bad_password"


def test_service_accounts_sign_in_with_secret_and_get_no_refresh_token(app: AuthApp) -> None:
    session = app.accounts.login("ingest", SERVICE_SECRETS["ingest"], "c")
    assert session.user.role == "service"
    assert session.tokens.refresh_token == ""
