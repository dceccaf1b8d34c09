"""auth_svc's signing keys and revocation list, fetched over gRPC and cached.

Both sit on the shared :class:`~common.read_cache.ReadCache` (fresh for a max age, one fetch in
flight); what is theirs alone is what to do when auth_svc cannot be reached: keep the last good
answer (keys: as long as there is one; revocations: for at most an access token's lifetime).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common.auth.keys import KeySource, parse_jwks
from common.auth.revocations import Revocation, RevocationSource, session_key
from common.auth.verifier import DEFAULT_AUDIENCE, DEFAULT_ISSUER, TokenVerifier
from common.channels import make_channel
from common.errors import Unavailable
from common.log import get_logger
from common.read_cache import ReadCache
from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["CachedRevocations", "JwksKeySource", "remote_verifier", "revocation_map"]

log = get_logger(__name__)
_KEY = "all"  # one answer per source


class JwksKeySource(KeySource):
    """auth_svc's JWKS, cached; refetched when stale or when a token names an unknown kid.

    Refetching on an unknown kid is throttled (``min_refresh_s``) so a flood of tokens with made-up
    kids cannot turn into a flood of calls to auth_svc. Concurrent misses share one fetch
    (:class:`~common.read_cache.ReadCache`); when auth_svc cannot be reached the last good keys
    keep verifying tokens (they only ever change by rotation, announced ahead in the JWKS).
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
        self._min_refresh_s = min_refresh_s
        self._clock = clock
        self._cache: ReadCache[str, dict[str, Ed25519PublicKey]] = ReadCache(
            max_age_s, clock=clock, max_entries=1, name="jwks"
        )
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")

    async def _read(self) -> dict[str, Ed25519PublicKey]:
        keys = parse_jwks(await self._fetch())
        self._keys, self._fetched_at = keys, self._clock()
        return keys

    async def keys(self, *, refresh: bool = False) -> Mapping[str, Ed25519PublicKey]:
        if refresh and self._clock() - self._fetched_at >= self._min_refresh_s:
            self._cache.forget(_KEY)
        try:
            return await self._cache.get(_KEY, self._read)
        except (TimeoutError, grpc.RpcError, OSError) as exc:
            log.warning("jwks_fetch_failed", error=str(exc))
            if not self._keys:
                raise Unavailable(reasons.AUTH_KEYS_UNAVAILABLE, "cannot fetch signing keys") from exc
            return self._keys


class CachedRevocations(RevocationSource):
    """The revocation list, pushed by auth_svc (``watch``) or else fetched at most every
    ``max_age_s`` (concurrent misses share one fetch).

    With ``watch`` a background task keeps a WatchRevocations stream open: every list auth_svc
    pushes (at once, on every change, and at least every 10 s) replaces the current one, so a
    sign-out reaches this verifier within a second. While the stream is quiet for longer than
    ``push_timeout_s``, or down (reconnected with backoff), the list is polled as without it.
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
        watch: Callable[[], AsyncIterator[Mapping[str, Revocation]]] | None = None,
        push_timeout_s: float = 30.0,
    ) -> None:
        self._fetch = fetch
        self._watch = watch
        self._push_timeout_s = push_timeout_s
        self._pushed_at = float("-inf")
        self._watcher: asyncio.Task[None] | None = None
        self._max_stale_s = max_stale_s
        self._clock = clock
        self._cache: ReadCache[str, Mapping[str, Revocation]] = ReadCache(
            max_age_s, clock=clock, max_entries=1, name="revocations"
        )
        self._list: Mapping[str, Revocation] = {}
        self._fetched_at = float("-inf")

    async def _read(self) -> Mapping[str, Revocation]:
        entries = dict(await self._fetch())
        self._list, self._fetched_at = entries, self._clock()
        return entries

    async def _follow(self) -> None:
        assert self._watch is not None
        backoff = 0.5
        while True:
            try:
                async for listed in self._watch():
                    self._list, self._fetched_at = dict(listed), self._clock()
                    self._pushed_at = self._clock()
                    backoff = 0.5
            except asyncio.CancelledError:
                raise
            except (grpc.RpcError, OSError, TimeoutError) as exc:  # broke: poll meanwhile, reconnect
                log.warning("revocations_watch_failed", error=str(exc))
            self._pushed_at = float("-inf")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None

    async def revocations(self) -> Mapping[str, Revocation]:
        if self._watch is not None:
            if self._watcher is None or self._watcher.done():
                self._watcher = asyncio.get_running_loop().create_task(self._follow())
            if self._clock() - self._pushed_at < self._push_timeout_s:
                return self._list
        try:
            return await self._cache.get(_KEY, self._read)
        except (TimeoutError, grpc.RpcError, OSError) as exc:
            log.warning("revocations_fetch_failed", error=str(exc))
            if self._clock() - self._fetched_at >= self._max_stale_s:
                raise Unavailable(
                    reasons.AUTH_REVOCATIONS_UNAVAILABLE, "cannot fetch the revocation list"
                ) from exc
            return self._list


def revocation_map(
    response: auth_service_pb2.GetRevocationsResponse | auth_service_pb2.WatchRevocationsResponse,
) -> dict[str, Revocation]:
    """The wire list as the verifier's mapping (subjects and signed-out sessions)."""
    listed = {r.subject_sha256: Revocation(r.not_before, r.disabled) for r in response.revocations}
    listed.update({session_key(sha): Revocation(0, disabled=True) for sha in response.revoked_session_sha256})
    return listed


def remote_verifier(
    channel: grpc.aio.Channel | str,
    *,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    revocations_max_age_s: float = 5.0,
    access_ttl_s: float = 300.0,
    clock: Callable[[], float] = time.time,
    watch: bool = True,
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
        return revocation_map(response)

    async def watch_revocations() -> AsyncIterator[dict[str, Revocation]]:
        stream = stub_now().WatchRevocations(auth_service_pb2.WatchRevocationsRequest())
        async for response in stream:
            yield revocation_map(response)

    return TokenVerifier(
        JwksKeySource(fetch_keys),
        issuer=issuer,
        audience=audience,
        revocations=CachedRevocations(
            fetch_revocations,
            max_age_s=revocations_max_age_s,
            max_stale_s=access_ttl_s,
            watch=watch_revocations if watch else None,
        ),
        clock=clock,
    )
