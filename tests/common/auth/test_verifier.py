"""common.auth.verifier: access JWTs become callers; every bad token is UNAUTHENTICATED with its reason."""

from __future__ import annotations

import pytest

from auth_svc.testing import BAD_TOKEN_KINDS, TokenFactory
from common.auth.keys import StaticKeySource
from common.auth.revocations import Revocation, subject_hash
from common.auth.verifier import TokenVerifier, bearer_token
from common.errors import Unauthenticated
from energypulse.auth.v1 import user_pb2
from tests.common.auth.helpers import Clock, FixedRevocations, make_verifier


async def test_valid_token_yields_caller() -> None:
    factory, clock = TokenFactory(), Clock()
    token = factory.token(subject="household-0001", households=["h1", "h2"], now=clock.now)
    who = await make_verifier(factory, clock).verify(token)
    assert who.subject == "household-0001"
    assert who.role == user_pb2.ROLE_USER
    assert who.households == frozenset({"h1", "h2"})
    assert who.token_id


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
async def test_bad_tokens_are_unauthenticated(kind: str) -> None:
    factory, clock = TokenFactory(), Clock()
    token = factory.bad(now=clock.now)[kind]
    with pytest.raises(Unauthenticated) as raised:
        await make_verifier(factory, clock).verify(token)
    expected = {
        "alg_none": "TOKEN_ALGORITHM_REJECTED",
        "hs256_public_key": "TOKEN_ALGORITHM_REJECTED",
        "hs256_public_key_raw": "TOKEN_ALGORITHM_REJECTED",
        "expired": "TOKEN_EXPIRED",
        "not_yet_valid": "TOKEN_NOT_YET_VALID",
        "wrong_audience": "TOKEN_AUDIENCE_INVALID",
        "wrong_issuer": "TOKEN_ISSUER_INVALID",
        "unknown_kid": "TOKEN_KID_UNKNOWN",
        "no_kid": "TOKEN_KID_MISSING",
        "tampered_payload": "TOKEN_SIGNATURE_INVALID",
        "signed_by_other_key": "TOKEN_SIGNATURE_INVALID",
        "missing_exp": "TOKEN_CLAIMS_INVALID",
    }
    assert raised.value.reason == expected[kind]


async def test_expiry_follows_the_injected_clock_with_leeway() -> None:
    factory, clock = TokenFactory(), Clock()
    token = factory.token(now=clock.now, ttl_s=300)
    verifier = make_verifier(factory, clock, leeway_s=30)
    clock.now += 300 + 29
    assert (await verifier.verify(token)).subject == "household-0001"
    clock.now += 1
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier.verify(token)


async def test_verified_tokens_are_cached_but_expiry_keys_and_revocation_still_apply() -> None:
    factory, clock = TokenFactory(), Clock()
    keys = {factory.kid: factory.public_key}
    entries: dict[str, Revocation] = {}
    verifier = TokenVerifier(
        StaticKeySource(lambda: keys),
        issuer=factory.issuer,
        audience=factory.audience,
        clock=clock,
        revocations=FixedRevocations(entries),
        leeway_s=30,
        cache_size=2,
    )
    token = factory.token(subject="alice", now=clock.now, ttl_s=300)
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first  # served from the cache
    entries[subject_hash("alice")] = Revocation(not_before=int(clock.now) + 1)
    with pytest.raises(Unauthenticated, match="revoked"):
        await verifier.verify(token)  # revocation is checked on every call, cached or not
    entries.clear()
    keys.clear()  # the signing key was withdrawn: a cached token must not outlive it
    with pytest.raises(Unauthenticated) as raised:
        await verifier.verify(token)
    assert raised.value.reason == "TOKEN_KID_UNKNOWN"
    keys[factory.kid] = factory.public_key
    assert (await verifier.verify(token)).subject == "alice"
    clock.now += 300 + 30
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier.verify(token)  # expiry is checked on a cache hit too
    # Bounded: the least recently used entry goes first; an evicted token still verifies.
    tokens = [factory.token(subject=f"user-{i}", now=clock.now) for i in range(3)]
    for t in tokens:
        await verifier.verify(t)
    assert len(verifier._verified) == 2 and tokens[0] not in verifier._verified
    assert (await verifier.verify(tokens[0])).subject == "user-0"


async def test_garbage_and_oversized_tokens_are_malformed() -> None:
    factory, clock = TokenFactory(), Clock()
    verifier = make_verifier(factory, clock)
    for token in ("", "not-a-jwt", "a.b.c", "x" * 9000):
        with pytest.raises(Unauthenticated) as raised:
            await verifier.verify(token)
        assert raised.value.reason == "TOKEN_MALFORMED"


async def test_unknown_role_claim_is_rejected() -> None:
    factory, clock = TokenFactory(), Clock()
    token = factory.token(role="root", now=clock.now)
    with pytest.raises(Unauthenticated) as raised:
        await make_verifier(factory, clock).verify(token)
    assert raised.value.reason == "TOKEN_CLAIMS_INVALID"


async def test_revoked_and_disabled_subjects_are_rejected() -> None:
    factory, clock = TokenFactory(), Clock()
    old = factory.token(subject="alice", now=clock.now)
    fresh = factory.token(subject="alice", now=clock.now + 5)
    other = factory.token(subject="bob", now=clock.now)
    revocations = {subject_hash("alice"): Revocation(not_before=int(clock.now) + 1)}
    verifier = make_verifier(factory, clock, revocations=FixedRevocations(revocations))
    clock.now += 10
    with pytest.raises(Unauthenticated, match="revoked"):
        await verifier.verify(old)
    assert (await verifier.verify(fresh)).subject == "alice"
    assert (await verifier.verify(other)).subject == "bob"
    disabled = make_verifier(
        factory, clock, revocations=FixedRevocations({subject_hash("alice"): Revocation(0, True)})
    )
    with pytest.raises(Unauthenticated, match="revoked"):
        await disabled.verify(fresh)


def test_bearer_token_parsing() -> None:
    assert bearer_token([("authorization", "Bearer abc")]) == "abc"
    assert bearer_token([("authorization", "bearer  abc ")]) == "abc"
    assert bearer_token([("x-other", "1")]) is None
    for bad in ([("authorization", "Basic abc")], [("authorization", "Bearer ")]):
        with pytest.raises(Unauthenticated):
            bearer_token(bad)
    with pytest.raises(Unauthenticated):
        bearer_token([("authorization", "Bearer a"), ("authorization", "Bearer b")])
