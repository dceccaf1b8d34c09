"""The server interceptor: authenticates and authorises every RPC by its declared access rule.

Only unary-request RPCs exist in the contracts (unary and server-streaming), so only those are
wrapped; :func:`~common.auth.access.rules_from_services` refuses a client-streaming method at
start-up, the place to add its checks back (every request message, not only the first, must pass
the household check). Errors are raised as typed exceptions, which common.server's error
interceptor maps to a status with ErrorInfo.

Streams and token expiry: a server stream is admitted once, with the token it was opened with, and
it ends when that token would no longer be accepted (its ``exp`` plus the verifier's leeway): the
call then fails with UNAUTHENTICATED ``TOKEN_EXPIRED``, and the client opens a new stream with a
refreshed token (docs/CLIENTS.md). Items already sent stay delivered; a stream is never longer
than one access token's lifetime (5 minutes by default).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TypeAlias, TypeVar, cast

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from common.auth.access import PUBLIC_SERVICES, UNDECLARED, AccessRule, rules_from_services
from common.auth.caller import Caller, acting_as
from common.auth.remote import remote_verifier
from common.auth.verifier import DEFAULT_AUDIENCE, DEFAULT_ISSUER, TokenVerifier, bearer_token
from common.behaviours import StreamBehaviour
from common.errors import PermissionDenied, Unauthenticated
from energypulse.errors.v1 import error_reason_pb2 as reasons
from energypulse.options.v1 import options_pb2

__all__ = ["AuthInterceptor", "remote_auth_interceptor"]

# Generic over every RPC's messages; the generated servicers type them per RPC.
_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")
_Metadata = Sequence[tuple[str, str | bytes]]


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Authenticates and authorises every RPC according to its declared :class:`AccessRule`.

    Build it with ``AuthInterceptor(verifier, rules_from_services(descriptors))``.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        rules: Mapping[str, AccessRule],
        *,
        public_services: Sequence[str] = PUBLIC_SERVICES,
    ) -> None:
        self._verifier = verifier
        self._rules = dict(rules)
        self._public_prefixes = tuple(f"/{name}/" for name in public_services)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Req, _Resp] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Req, _Resp] | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(self._public_prefixes):
            return handler
        rule = self._rules.get(method, UNDECLARED)
        if rule.level == options_pb2.ACCESS_LEVEL_PUBLIC:
            return handler
        metadata = tuple(handler_call_details.invocation_metadata or ())

        async def admit(request: object) -> Caller:
            who = await self._authenticate(rule, metadata)
            if rule.household_field:
                who.require_household(str(getattr(request, rule.household_field, "")))
            return who

        return _wrap(handler, admit, self._verifier.now)

    async def _authenticate(self, rule: AccessRule, metadata: _Metadata) -> Caller:
        if rule.level == options_pb2.ACCESS_LEVEL_UNSPECIFIED:
            raise PermissionDenied(reasons.METHOD_ACCESS_UNDECLARED, "this RPC declares no access rule")
        token = bearer_token(metadata)
        if token is None:
            raise Unauthenticated(reasons.AUTHENTICATION_REQUIRED, "this call needs a bearer token")
        who = await self._verifier.verify(token)
        if not rule.allows(who.role):
            raise PermissionDenied(reasons.ROLE_NOT_PERMITTED, "the caller's role may not call this RPC")
        return who


def remote_auth_interceptor(
    services: Iterable[ServiceDescriptor],
    auth_channel: grpc.aio.Channel | str,
    *,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
) -> AuthInterceptor:
    """The interceptor every service other than auth_svc installs.

    ``services`` are the descriptors the server registers (their access options are read now);
    ``auth_channel`` reaches auth_svc (``common.channels.make_channel(EP_<SVC>_AUTH_ADDR)``).
    """
    return AuthInterceptor(
        remote_verifier(auth_channel, issuer=issuer, audience=audience), rules_from_services(services)
    )


# A unary behaviour as the auth interceptor may meet it: async, plain, or writing to the context.
_PlainBehaviour: TypeAlias = Callable[
    [_Req, "grpc.aio.ServicerContext[_Req, _Resp]"], "Awaitable[_Resp | None] | _Resp | None"
]


def _stream_deadline(who: Caller, now: Callable[[], float]) -> float | None:
    """The event-loop time at which a stream admitted for ``who`` ends (None: no known expiry)."""
    if who.valid_until <= 0:
        return None
    return asyncio.get_running_loop().time() + (who.valid_until - now())


def _expired() -> Unauthenticated:
    return Unauthenticated(
        reasons.TOKEN_EXPIRED,
        "the access token expired during the stream; open a new stream with a refreshed token",
    )


def _wrap(
    handler: grpc.RpcMethodHandler[_Req, _Resp],
    admit: Callable[[object], Awaitable[Caller]],
    now: Callable[[], float],
) -> grpc.RpcMethodHandler[_Req, _Resp]:
    """The same handler, admitting the caller (and binding it, see ``caller()``) before the behaviour.

    A streaming behaviour runs under the token's deadline (see the module docstring)."""
    behavior = handler.unary_unary or handler.unary_stream
    if behavior is None:
        raise TypeError("client-streaming RPCs are not supported by the auth interceptor")
    make = (
        grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.unary_stream_rpc_method_handler
    )
    if handler.unary_stream is not None and inspect.isasyncgenfunction(behavior):
        streaming = cast("StreamBehaviour[_Req, _Resp]", behavior)

        async def stream(
            request: _Req, context: grpc.aio.ServicerContext[_Req, _Resp]
        ) -> AsyncIterator[_Resp]:
            who = await admit(request)
            deadline = _stream_deadline(who, now)
            with acting_as(who):
                items = aiter(streaming(request, context))
                try:
                    while True:
                        # The timeout covers only the wait for the next item (in this task, no
                        # task per item): cancelled there, the behaviour's generator ends.
                        limit = asyncio.timeout_at(deadline)
                        try:
                            async with limit:
                                item = await anext(items)
                        except StopAsyncIteration:
                            return
                        except TimeoutError:
                            if limit.expired():
                                raise _expired() from None
                            raise
                        yield item
                finally:
                    await items.aclose()  # type: ignore[attr-defined]

        return make(stream, handler.request_deserializer, handler.response_serializer)

    # Unary responses (a coroutine function, or a plain one), and streaming handlers that write
    # through ``context.write`` and return None.
    unary_behavior = cast("_PlainBehaviour[_Req, _Resp]", behavior)

    async def unary(request: _Req, context: grpc.aio.ServicerContext[_Req, _Resp]) -> _Resp | None:
        who = await admit(request)
        with acting_as(who):
            result = unary_behavior(request, context)
            if not inspect.isawaitable(result):
                return result
            if handler.unary_unary is not None:
                return await result
            limit = asyncio.timeout_at(_stream_deadline(who, now))  # a stream writing to context
            try:
                async with limit:
                    return await result
            except TimeoutError:
                if limit.expired():
                    raise _expired() from None
                raise

    return make(unary, handler.request_deserializer, handler.response_serializer)
