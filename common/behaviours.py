"""What grpc.aio really calls for one method, for interceptors that wrap it.

grpc-stubs type a handler's behaviour as synchronous (``(request, context) -> response``); under
grpc.aio a unary behaviour is a coroutine function, and a server-streaming one either an async
generator function or a coroutine function that sends with ``await context.write(...)`` and returns
None (the stock health servicer's ``Watch``). Interceptors cast the stub's attribute to these once,
where they unwrap it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeAlias, TypeVar

import grpc

__all__ = ["StreamBehaviour", "UnaryBehaviour", "WritingBehaviour"]

Req = TypeVar("Req")
Resp = TypeVar("Resp")

UnaryBehaviour: TypeAlias = Callable[[Req, "grpc.aio.ServicerContext[Req, Resp]"], Awaitable[Resp]]
StreamBehaviour: TypeAlias = Callable[[Req, "grpc.aio.ServicerContext[Req, Resp]"], AsyncIterator[Resp]]
WritingBehaviour: TypeAlias = Callable[[Req, "grpc.aio.ServicerContext[Req, Resp]"], Awaitable[None]]
