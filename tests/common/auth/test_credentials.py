"""common.auth.credentials: a service account's token, cached and renewed."""

from __future__ import annotations

import asyncio

from common.auth.credentials import IssuedToken, ServiceCredentials
from tests.common.auth.helpers import Clock


async def test_service_credentials_cache_and_renew_before_expiry() -> None:
    clock = Clock()
    issued: list[str] = []

    async def fetch() -> IssuedToken:
        issued.append(f"token-{len(issued)}")
        return IssuedToken(issued[-1], clock.now + 300)

    creds = ServiceCredentials(fetch, renew_before_s=60, clock=clock)
    assert await creds.metadata() == (("authorization", "Bearer token-0"),)
    clock.now += 200
    assert await creds.token() == "token-0"
    clock.now += 41  # inside the renewal margin
    assert await creds.token() == "token-1"
    creds.invalidate()
    assert await creds.token() == "token-2"
    results = await asyncio.gather(*(creds.token() for _ in range(5)))
    assert set(results) == {"token-2"}  # concurrent callers share one fetch
