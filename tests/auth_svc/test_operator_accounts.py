"""The operator's account screens (issue #21) on SQLite and PostgreSQL: searching and paging
10,000 households, filtering the audit log, one-time password-reset tokens, and role changes and
disabling ending the account's sessions."""

from __future__ import annotations

import pytest

from auth_svc.server import AuthApp
from auth_svc.store import AuditFilter, PasswordResetRow
from auth_svc.tokens import hash_refresh_token
from common.errors import FailedPrecondition, InvalidArgument, Unauthenticated
from tests.auth_svc.conftest import NOW, Clock
from tests.demo_accounts import DEMO_USER_PASSWORD

HOUSEHOLDS = 10_000


def _seed(app: AuthApp, count: int = HOUSEHOLDS) -> None:
    # One (cheap) hash for all: the store is what is under test, not argon2.
    password_hash = app.accounts.hasher.hash("seeded-password-1")
    accounts = [(f"home-{i:05d}", password_hash, "user", [f"hh-{i:05d}"]) for i in range(count)]
    assert app.accounts.store.create_missing_users(accounts, NOW) == count


def _all_pages(app: AuthApp, query: str, size: int) -> tuple[list[str], int, int]:
    names: list[str] = []
    page, token, total = app.accounts.list_users(size, "", query)
    names += [u.username for u in page]
    pages = 1
    while token:
        page, token, again = app.accounts.list_users(size, token, query)
        assert again == total
        names += [u.username for u in page]
        pages += 1
    return names, total, pages


def test_ten_thousand_households_page_completely_and_search_finds_them(app: AuthApp) -> None:
    _seed(app)
    names, total, pages = _all_pages(app, "", 500)
    homes = [n for n in names if n.startswith("home-")]
    assert homes == [f"home-{i:05d}" for i in range(HOUSEHOLDS)]  # complete, ordered, no repeats
    assert total == len(names) == len(set(names)) and pages == -(-total // 500)
    # By username, ignoring case; by household id; a LIKE wildcard is a literal character.
    found, total, _ = _all_pages(app, "HOME-0999", 3)
    assert found == [f"home-0999{d}" for d in range(10)] and total == 10
    found, total, _ = _all_pages(app, "hh-01234", 50)
    assert found == ["home-01234"] and total == 1
    assert _all_pages(app, "home_0", 50)[1] == 0
    assert _all_pages(app, "%", 50)[1] == 0
    # A token belongs to its query: replaying it with another query is refused.
    _, token, _ = app.accounts.list_users(2, "", "home-0")
    with pytest.raises(InvalidArgument) as raised:
        app.accounts.list_users(2, token, "home-1")
    assert raised.value.reason == "INVALID_PAGE_TOKEN"
    with pytest.raises(InvalidArgument) as raised:
        app.accounts.list_users(2, "", "x" * 65)
    assert raised.value.reason == "USER_QUERY_INVALID"


def test_audit_log_filters_by_actor_action_and_time_and_pages(app: AuthApp, clock: Clock) -> None:
    for i in range(7):
        clock.now = NOW + 100 * i
        app.accounts.audit("ROLE_SET" if i % 2 else "USER_DISABLED", f"op-{i % 3}", "ok", target=f"u{i}")
    where = AuditFilter(action="ROLE_SET")
    rows, token = app.accounts.list_audit(2, "", where)
    seen = [r.target for r in rows]
    while token:
        rows, token = app.accounts.list_audit(2, token, where)
        seen += [r.target for r in rows]
    assert seen == ["u5", "u3", "u1"]  # newest first, every page
    rows, _ = app.accounts.list_audit(50, "", AuditFilter(actor="op-0"))
    assert [r.target for r in rows] == ["u6", "u3", "u0"]
    rows, _ = app.accounts.list_audit(50, "", AuditFilter(start=NOW + 200, end=NOW + 400))
    assert [r.target for r in rows] == ["u3", "u2"]
    _, token = app.accounts.list_audit(1, "", where)
    with pytest.raises(InvalidArgument) as raised:
        app.accounts.list_audit(1, token, AuditFilter(action="USER_DISABLED"))
    assert raised.value.reason == "INVALID_PAGE_TOKEN"
    with pytest.raises(InvalidArgument) as raised:
        app.accounts.list_audit(1, "", AuditFilter(start=NOW + 5, end=NOW + 5))
    assert raised.value.reason == "INVALID_TIME_RANGE"
    with pytest.raises(InvalidArgument) as raised:
        app.accounts.list_audit(1, "", AuditFilter(actor="a" * 129))
    assert raised.value.reason == "AUDIT_FILTER_INVALID"


async def test_password_reset_token_is_one_time_short_lived_and_ends_sessions(
    app: AuthApp, clock: Clock
) -> None:
    accounts = app.accounts
    session = accounts.login("household-0001", DEMO_USER_PASSWORD, "c").tokens
    token, expires, user = accounts.issue_password_reset("admin", "household-0001")
    assert expires == clock.now + 3600 and user.username == "household-0001"
    # Stored hashed only; nothing about the account changes until the link is used.
    with accounts.store._tx() as s:
        stored = [r.token_hash for r in s.query(PasswordResetRow).all()]
    assert stored == [hash_refresh_token(token)] and token not in stored
    assert accounts.login("household-0001", DEMO_USER_PASSWORD, "c")
    # A password the rules refuse leaves the token usable.
    with pytest.raises(InvalidArgument):
        accounts.complete_password_reset(token, "short")
    done = accounts.complete_password_reset(token, "a-fresh-passphrase-9")
    assert done.username == "household-0001"
    with pytest.raises(Unauthenticated) as raised:
        await app.verifier.verify(session.access.token)
    assert raised.value.reason == "TOKEN_REVOKED"
    with pytest.raises(Unauthenticated):
        accounts.refresh(session.refresh_token, "c")
    with pytest.raises(Unauthenticated):
        accounts.login("household-0001", DEMO_USER_PASSWORD, "c")
    assert accounts.login("household-0001", "a-fresh-passphrase-9", "c")
    # Spent: a second use fails, as does a forged, an expired or a replaced token.
    for bad in (token, "forged", ""):
        with pytest.raises(Unauthenticated) as raised:
            accounts.complete_password_reset(bad, "another-passphrase-7")
        assert raised.value.reason == "PASSWORD_RESET_TOKEN_INVALID"
    old, _, _ = accounts.issue_password_reset("admin", "household-0001")
    newer, _, _ = accounts.issue_password_reset("admin", "household-0001")
    with pytest.raises(Unauthenticated):
        accounts.complete_password_reset(old, "another-passphrase-7")
    clock.now += 3601
    with pytest.raises(Unauthenticated):
        accounts.complete_password_reset(newer, "another-passphrase-7")
    with pytest.raises(FailedPrecondition):
        accounts.issue_password_reset("admin", "ingest")
    actions = [r.action for r in accounts.list_audit(50, "")[0]]
    assert "PASSWORD_RESET_ISSUED" in actions and "PASSWORD_RESET_COMPLETED" in actions


async def test_role_change_and_disable_end_every_session(app: AuthApp) -> None:
    for change in ("role", "disable"):
        if change == "disable":
            app.accounts.disable_user("admin", "household-0002", False)
        session = app.accounts.login("household-0002", DEMO_USER_PASSWORD, "c").tokens
        if change == "role":
            app.accounts.set_role("admin", "household-0002", "admin")
        else:
            app.accounts.disable_user("admin", "household-0002", True)
        with pytest.raises(Unauthenticated) as raised:
            await app.verifier.verify(session.access.token)
        assert raised.value.reason == "TOKEN_REVOKED", change
        with pytest.raises(Unauthenticated) as raised:
            app.accounts.refresh(session.refresh_token, "c")
        assert raised.value.reason == "REFRESH_TOKEN_INVALID", change
