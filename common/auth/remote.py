"""auth_svc's signing keys and revocation list, fetched over gRPC and cached.

These are the two ad-hoc caches of common.auth (each a lock, a fetch time and a last good value);
they live here alone so that moving them onto a shared read-coalescing cache touches one module.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common.auth.keys import KeySource, parse_jwks
from common.auth.revocations import Revocation, RevocationSource
from common.auth.verifier import DEFAULT_AUDIENCE, DEFAULT_ISSUER, TokenVerifier
from common.channels import make_channel
from common.errors import Unavailable
from common.log import get_logger
from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["CachedRevocations", "JwksKeySource", "remote_verifier"]

log = get_logger(__name__)


class JwksKeySource(KeySource):
    """auth_svc's JWKS, cached; refetched when stale or when a token names an unknown kid.

    Refetching on an unknown kid is throttled (``min_refresh_s``) so a flood of tokens with made-up
    kids cannot turn into a flood of calls to auth_svc.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Sequence[Mapping[str, str]]]],
        *,
        max_age_s: float = 300.0,
        min_refresh_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age_s = max_age_s
        self._min_refresh_s = min_refresh_s
        self._clock = clock
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def keys(self, *, refresh: bool = False) -> Mapping[str, Ed25519PublicKey]:
        async with self._lock:
            age = self._clock() - self._fetched_at
            if age >= self._max_age_s or (refresh and age >= self._min_refresh_s):
                try:
                    self._keys = parse_jwks(await self._fetch())
                    self._fetched_at = self._clock()
                except (TimeoutError, grpc.RpcError, OSError) as exc:
                    log.warning("jwks_fetch_failed", error=str(exc))
                    if not self._keys:
                        raise Unavailable(reasons.AUTH_KEYS_UNAVAILABLE, "cannot fetch signing keys") from exc
            return self._keys


class CachedRevocations(RevocationSource):
    """A revocation list fetched at most every ``max_age_s``.

    If auth_svc cannot be reached the last list keeps being used for ``max_stale_s`` (an access
    token's lifetime); after that calls fail closed with UNAVAILABLE.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Mapping[str, Revocation]]],
        *,
        max_age_s: float = 5.0,
        max_stale_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age_s = max_age_s
        self._max_stale_s = max_stale_s
        self._clock = clock
        self._list: Mapping[str, Revocation] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def revocations(self) -> Mapping[str, Revocation]:
        async with self._lock:
            age = self._clock() - self._fetched_at
            if age >= self._max_age_s:
                try:
                    self._list = dict(await self._fetch())
                    self._fetched_at = self._clock()
                except (TimeoutError, grpc.RpcError, OSError) as exc:
                    log.warning("revocations_fetch_failed", error=str(exc))
                    if age >= self._max_stale_s:
                        raise Unavailable(
                            reasons.AUTH_REVOCATIONS_UNAVAILABLE, "cannot fetch the revocation list"
                        ) from exc
            return self._list


def remote_verifier(
    channel: grpc.aio.Channel | str,
    *,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    revocations_max_age_s: float = 5.0,
    access_ttl_s: float = 300.0,
    clock: Callable[[], float] = time.time,
) -> TokenVerifier:
    """A verifier for services other than auth_svc: keys and revocations come from auth_svc.

    ``channel`` may be a target string ("host:port"): the channel is then made on first use,
    inside the server's event loop (a grpc.aio channel made before ``asyncio.run`` is bound to
    another loop and fails with "attached to a different loop").
    """
    stubs: list[auth_service_pb2_grpc.AuthServiceAsyncStub] = []

    def stub_now() -> auth_service_pb2_grpc.AuthServiceAsyncStub:
        if not stubs:
            stubs.append(
                auth_service_pb2_grpc.AuthServiceStub(
                    make_channel(channel) if isinstance(channel, str) else channel
                )
            )
        return stubs[0]

    async def fetch_keys() -> list[dict[str, str]]:
        response = await stub_now().GetJwks(auth_service_pb2.GetJwksRequest(), timeout=5)
        return [
            {"kty": k.kty, "crv": k.crv, "x": k.x, "kid": k.kid, "alg": k.alg, "use": k.use}
            for k in response.keys
        ]

    async def fetch_revocations() -> dict[str, Revocation]:
        response = await stub_now().GetRevocations(auth_service_pb2.GetRevocationsRequest(), timeout=5)
        return {r.subject_sha256: Revocation(r.not_before, r.disabled) for r in response.revocations}

    return TokenVerifier(
        JwksKeySource(fetch_keys),
        issuer=issuer,
        audience=audience,
        revocations=CachedRevocations(
            fetch_revocations, max_age_s=revocations_max_age_s, max_stale_s=access_ttl_s
        ),
        clock=clock,
    )
