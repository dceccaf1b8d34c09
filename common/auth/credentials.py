"""Client side: a service account's access token, and the client interceptors that send it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import grpc

from common.channels import make_channel
from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc

__all__ = ["IssuedToken", "ServiceCredentials"]

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_at: float  # UNIX seconds


@dataclass
class ServiceCredentials:
    """A service account's access token, fetched on first use and renewed before it expires.

    ``fetch`` logs in (see :meth:`for_auth_service`). Use ``await creds.metadata()`` per call, or
    ``creds.client_interceptors()`` when creating an aio channel so every call carries the token.
    """

    fetch: Callable[[], Awaitable[IssuedToken]]
    renew_before_s: float = 60.0
    clock: Callable[[], float] = time.time
    _current: IssuedToken | None = field(default=None, init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    @classmethod
    def for_auth_service(
        cls,
        channel: grpc.aio.Channel | str,
        username: str,
        secret: str,
        *,
        renew_before_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> ServiceCredentials:
        """Credentials that log in to auth_svc over ``channel`` with a client secret.

        A target string makes the channel on first use, inside the running event loop.
        """
        stubs: list[auth_service_pb2_grpc.AuthServiceAsyncStub] = []

        async def fetch() -> IssuedToken:
            if not stubs:
                stubs.append(
                    auth_service_pb2_grpc.AuthServiceStub(
                        make_channel(channel) if isinstance(channel, str) else channel
                    )
                )
            response = await stubs[0].Login(
                auth_service_pb2.LoginRequest(username=username, password=secret), timeout=10
            )
            expires = response.tokens.access_token_expire_time
            return IssuedToken(response.tokens.access_token, expires.seconds + expires.nanos / 1e9)

        return cls(fetch, renew_before_s=renew_before_s, clock=clock)

    async def token(self) -> str:
        async with self._lock:
            current = self._current
            if current is None or current.expires_at - self.renew_before_s <= self.clock():
                current = self._current = await self.fetch()
            return current.access_token

    def invalidate(self) -> None:
        """Forget the token (e.g. after an UNAUTHENTICATED reply); the next call logs in again."""
        self._current = None

    async def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {await self.token()}"),)

    def client_interceptors(self) -> list[grpc.aio.ClientInterceptor]:
        """Interceptors adding the token to unary-request calls (the only kind the contracts have)."""
        return [_BearerUnaryUnary(self), _BearerUnaryStream(self)]


async def _with_token(
    creds: ServiceCredentials, details: grpc.aio.ClientCallDetails
) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    metadata["authorization"] = f"Bearer {await creds.token()}"
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )


class _BearerUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, creds: ServiceCredentials) -> None:
        self._creds = creds

    async def intercept_unary_unary(
        self,
        continuation: Callable[
            [grpc.aio.ClientCallDetails, _Req], Awaitable[grpc.aio.UnaryUnaryCall[_Req, _Resp]]
        ],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _Req,
    ) -> _Resp | grpc.aio.UnaryUnaryCall[_Req, _Resp]:
        return await continuation(await _with_token(self._creds, client_call_details), request)


class _BearerUnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, creds: ServiceCredentials) -> None:
        self._creds = creds

    async def intercept_unary_stream(
        self,
        continuation: Callable[
            [grpc.aio.ClientCallDetails, _Req], Awaitable[grpc.aio.UnaryStreamCall[_Req, _Resp]]
        ],
        client_call_details: grpc.aio.ClientCallDetails,
        request: _Req,
    ) -> AsyncIterator[_Resp] | grpc.aio.UnaryStreamCall[_Req, _Resp]:
        return await continuation(await _with_token(self._creds, client_call_details), request)
