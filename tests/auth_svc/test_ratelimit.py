"""Sign-in throttling (auth_svc/ratelimit.py) on SQLite and PostgreSQL: the attacker's lane slows
down exponentially, the owner from another address is never refused, a throttled attempt costs no
hash, service accounts are outside it, and two replicas on one database share the counters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auth_svc.accounts import LoginThrottled
from auth_svc.config import AuthConfig
from auth_svc.ratelimit import ThrottlePolicy, account_key
from auth_svc.server import AuthApp, build
from common.errors import ResourceExhausted, Unauthenticated
from tests.auth_svc.conftest import SERVICE_SECRETS, Clock, CountingHasher
from tests.demo_accounts import DEMO_USER_PASSWORD

OWNER = "household-0001"
ATTACKER = "203.0.113.9"
HOME = "198.51.100.7"


def _fail(app: AuthApp, client: str = ATTACKER, username: str = OWNER) -> str:
    """One attempt with a wrong password: 'denied' (checked, wrong) or 'throttled'."""
    try:
        app.accounts.login(username, "wrong-password", client)
    except Unauthenticated:
        return "denied"
    except ResourceExhausted as exc:
        assert exc.reason == "LOGIN_RATE_LIMITED"
        return "throttled"
    raise AssertionError("a wrong password signed in")


def test_delay_doubles_after_the_free_failures() -> None:
    policy = ThrottlePolicy(pair_free=3, base_delay_s=1, max_delay_s=60)
    assert [policy.delay_s(n, 3) for n in range(2, 11)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]


def test_attacker_is_slowed_and_the_owner_from_another_address_is_not(
    app: AuthApp, clock: Clock, hasher: CountingHasher
) -> None:
    assert [_fail(app) for _ in range(3)] == ["denied"] * 3
    # Fourth attempt in the same second: waits 1 s; a throttled attempt runs no hash at all.
    before = hasher.verifications
    assert [_fail(app) for _ in range(50)] == ["throttled"] * 50
    assert hasher.verifications == before
    # The owner, from home, with the right password: never refused, not even delayed.
    assert app.accounts.login(OWNER, DEMO_USER_PASSWORD, HOME).user.username == OWNER
    # Waiting out the delay gives the attacker exactly one more guess, then a doubled delay.
    clock.now += 1.01
    assert [_fail(app), _fail(app)] == ["denied", "throttled"]
    clock.now += 1.01
    assert _fail(app) == "throttled"  # now 2 s
    clock.now += 1.0
    assert [_fail(app), _fail(app)] == ["denied", "throttled"]
    # The owner's success does not reset the attacker's address lane.
    app.accounts.login(OWNER, DEMO_USER_PASSWORD, HOME)
    assert _fail(app) == "throttled"


def test_the_owner_at_the_attackers_address_waits_but_is_not_locked_out(app: AuthApp, clock: Clock) -> None:
    for _ in range(4):
        _fail(app)
    with pytest.raises(ResourceExhausted) as raised:
        app.accounts.login(OWNER, DEMO_USER_PASSWORD, ATTACKER)
    assert "try again in" in raised.value.message
    clock.now += app.accounts.limiter.policy.max_delay_s  # at most the longest delay
    assert app.accounts.login(OWNER, DEMO_USER_PASSWORD, ATTACKER).user


def test_one_address_spraying_accounts_is_slowed_across_accounts(app: AuthApp) -> None:
    # Client budget 10 (tests/auth_svc/conftest.py): two guesses each on many accounts.
    outcomes = [_fail(app, "192.0.2.7", f"user-{index}") for index in range(12)]
    assert outcomes[:10] == ["denied"] * 10 and outcomes[-1] == "throttled"
    assert app.accounts.login(OWNER, DEMO_USER_PASSWORD, "192.0.2.8").user


def test_many_addresses_on_one_account_slow_it_down(app: AuthApp) -> None:
    # Account budget 30: a distributed attack eventually delays every address, owner included.
    outcomes = [_fail(app, f"10.9.{i // 200}.{i % 200}") for i in range(31)]
    assert outcomes[:30] == ["denied"] * 30 and outcomes[-1] == "throttled"


def test_unknown_accounts_are_throttled_the_same_way(app: AuthApp) -> None:
    assert [_fail(app, username="ghost") for _ in range(4)] == ["denied"] * 3 + ["throttled"]


def test_service_accounts_bypass_the_password_throttle(app: AuthApp, hasher: CountingHasher) -> None:
    for _ in range(20):
        assert _fail(app, client="127.0.0.1", username="ingest") == "denied"
    before = hasher.verifications
    session = app.accounts.login("ingest", SERVICE_SECRETS["ingest"], "127.0.0.1")
    assert session.user.role == "service" and hasher.verifications == before  # no argon2


@pytest.fixture
def replica(config: AuthConfig, hasher: CountingHasher, clock: Clock) -> Iterator[AuthApp]:
    """A second auth_svc on the same database."""
    built = build(config, hasher=hasher, clock=clock)
    yield built
    built.engine.dispose()


def test_two_replicas_share_the_counters(app: AuthApp, replica: AuthApp, clock: Clock) -> None:
    assert [_fail(app), _fail(replica), _fail(app)] == ["denied"] * 3
    assert _fail(replica) == "throttled"  # replica 2 saw replica 1's failures
    clock.now += 1.01
    assert _fail(replica) == "denied"
    assert _fail(app) == "throttled"  # and replica 1 sees replica 2's
    # A success on one replica clears the pair on both.
    clock.now += 2.01
    app.accounts.login(OWNER, DEMO_USER_PASSWORD, ATTACKER)
    assert replica.accounts.login(OWNER, DEMO_USER_PASSWORD, ATTACKER).user


def test_a_refusal_names_what_the_edge_may_refuse_and_for_how_long(app: AuthApp, clock: Clock) -> None:
    for _ in range(4):
        _fail(app)
    with pytest.raises(LoginThrottled) as raised:
        app.accounts.login(OWNER, DEMO_USER_PASSWORD, ATTACKER)
    scopes = dict(raised.value.throttled.scopes)
    assert set(scopes) == {"pair"} and 0 < scopes["pair"] <= app.accounts.limiter.policy.max_delay_s
    assert raised.value.throttled.edge_hint() == f"pair={scopes['pair']:.3f}"
    # One address spraying accounts: the whole address is refused ("client"), every account.
    outcomes = [_fail(app, "192.0.2.9", f"user-{index}") for index in range(11)]
    assert outcomes[-1] == "throttled"
    with pytest.raises(LoginThrottled) as raised:
        app.accounts.login("someone-else", "x", "192.0.2.9")
    assert "client" in dict(raised.value.throttled.scopes)


def test_the_account_key_is_ascii_only_so_the_edge_forms_the_same_one() -> None:
    assert account_key("  HouseHold-0001\t") == "household-0001"
    # Unicode case and spaces are not folded (the edge's Lua works on bytes): another key.
    assert account_key("\u212aevin") != account_key("kevin")
    assert account_key("\u3000kevin") != account_key("kevin")
    assert len(account_key("x" * 100).encode()) == 64
