"""common.auth.remote: the JWKS fetched from auth_svc, cached and refetched (throttled)."""

from __future__ import annotations

import pytest

from auth_svc.testing import TokenFactory
from common.auth.remote import JwksKeySource
from common.auth.verifier import TokenVerifier
from common.errors import Unauthenticated
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
