"""common.auth.remote: the JWKS fetched from auth_svc, cached and refetched (throttled)."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from auth_svc.testing import TokenFactory
from common.auth.remote import CachedRevocations, JwksKeySource
from common.auth.revocations import Revocation
from common.auth.verifier import TokenVerifier
from common.errors import Unauthenticated, Unavailable
from tests.common.auth.helpers import Clock


async def test_jwks_source_refetches_on_unknown_kid_but_throttled() -> None:
    first, second = TokenFactory(), TokenFactory()
    published = [first.jwk()]
    fetches = 0

    async def fetch() -> list[dict[str, str]]:
        nonlocal fetches
        fetches += 1
        return list(published)

    mono = Clock(0.0)
    source = JwksKeySource(fetch, max_age_s=300, min_refresh_s=5, clock=mono)
    wall = Clock()
    verifier = TokenVerifier(source, issuer=first.issuer, audience=first.audience, clock=wall)
    await verifier.verify(first.token(now=wall.now))
    assert fetches == 1
    # A new key appears (rotation): the unknown kid triggers one refetch once throttling allows.
    published.append(second.jwk())
    mono.now = 1.0
    with pytest.raises(Unauthenticated, match="unknown"):
        await verifier.verify(second.token(now=wall.now))
    assert fetches == 1  # throttled: a flood of unknown kids does not hammer auth_svc
    mono.now = 6.0
    await verifier.verify(second.token(now=wall.now))
    assert fetches == 2


async def test_concurrent_misses_share_one_fetch_and_last_good_keys_survive_an_outage() -> None:
    factory = TokenFactory()
    gate = asyncio.Event()
    fetches = 0
    down = False

    async def fetch() -> list[dict[str, str]]:
        nonlocal fetches
        fetches += 1
        if down:
            raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata())
        await gate.wait()
        return [factory.jwk()]

    mono = Clock(0.0)
    source = JwksKeySource(fetch, max_age_s=300, min_refresh_s=5, clock=mono)
    waiting = [asyncio.ensure_future(source.keys()) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    answers = await asyncio.gather(*waiting)
    assert fetches == 1 and all(factory.kid in keys for keys in answers)
    down, mono.now = True, 301.0  # stale, and auth_svc is unreachable: the last good keys still verify
    assert factory.kid in await source.keys()
    assert fetches == 2


async def test_revocations_fail_closed_once_older_than_a_token_lifetime() -> None:
    down = False

    async def fetch() -> dict[str, Revocation]:
        if down:
            raise OSError("auth_svc unreachable")
        return {}

    mono = Clock(0.0)
    source = CachedRevocations(fetch, max_age_s=5, max_stale_s=300, clock=mono)
    assert await source.revocations() == {}
    down = True
    mono.now = 299.0  # within an access token's lifetime of the last good list: keep using it
    assert await source.revocations() == {}
    mono.now = 300.0
    with pytest.raises(Unavailable):
        await source.revocations()
