"""Ending open server streams when a replica shuts down.

A server stream that never ends on its own (a live feed, a watch) outlives ``server.stop(grace)``
and is cancelled when the grace period runs out: its client sees CANCELLED/UNAVAILABLE after the
whole grace period and gRPC logs the cancellation as an unhandled error with a raw traceback.
A :class:`Drain` closed first (``common.server.serve``'s ``on_draining``) lets each stream return
at its next wait, status OK, so its client reconnects to another replica at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable

__all__ = ["Drain"]


class Drain:
    """One per process; the servicers' stream loops wait through it."""

    def __init__(self) -> None:
        self._closed = asyncio.Event()

    @property
    def draining(self) -> bool:
        return self._closed.is_set()

    async def close(self) -> None:
        """Start draining: every wait through this object returns True from now on."""
        self._closed.set()

    async def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds``; True (at once) when draining starts first."""
        if self.draining:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)
        return self.draining

    async def until(self, waiter: Awaitable[object]) -> bool:
        """Wait for ``waiter`` or for draining, whichever comes first; True when draining did
        (``waiter`` is then cancelled). An error of ``waiter`` propagates."""
        task = asyncio.ensure_future(waiter)
        stop = asyncio.ensure_future(self._closed.wait())
        try:
            done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, stop):
                if not pending.done():
                    pending.cancel()
        if task in done:
            task.result()
            return False
        return True
