"""A short-lived cache of read results with in-flight coalescing, for the hot query RPCs.

Envoy fans many client connections into one replica, and a dashboard asks the same questions
(a household's summary, the grid's stats) over and over; the answers change only when readings
arrive, every few seconds. So a result is reused for ``ttl_s`` and concurrent identical requests
share one database read instead of queueing one each on the worker threads.

Staleness bound: an answer reflects every write committed before its read *started*, and is
served for at most ``ttl_s`` after that start. So a reading stored at time t shows in every answer
to a request made after t + ttl_s (plus that read's own duration for the request that waits on it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["ReadCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ReadCache(Generic[K, V]):
    """Per-key results for ``ttl_s`` after their read started; one read in flight per key.

    ``ttl_s <= 0`` turns both off (every call reads). Errors are shared by the callers waiting on
    that read but never kept. At most ``max_entries`` results are kept (oldest dropped first).
    Not thread-safe: used from the server's event loop only.
    """

    def __init__(
        self, ttl_s: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max(1, max_entries)
        self._clock = clock
        self._done: dict[K, tuple[float, V]] = {}  # insertion order = age order
        self._flights: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        if self.ttl_s <= 0:
            return await load()
        now = self._clock()
        hit = self._done.get(key)
        if hit is not None and now - hit[0] <= self.ttl_s:
            return hit[1]
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(load())
            self._flights[key] = flight
            flight.add_done_callback(lambda f: self._settle(key, now, f))
        # shield: one caller giving up (deadline, disconnect) must not cancel the others' read.
        return await asyncio.shield(flight)

    def forget(self, key: K) -> None:
        """Drop ``key``'s result and detach its read in flight: the next call reads afresh."""
        self._done.pop(key, None)
        self._flights.pop(key, None)

    def _settle(self, key: K, started: float, flight: asyncio.Future[V]) -> None:
        failed = flight.cancelled() or flight.exception() is not None  # exception(): marks it seen
        if self._flights.get(key) is not flight:
            return  # forgotten while in flight: its result may predate the change, do not keep it
        del self._flights[key]
        if failed:
            return
        self._done.pop(key, None)
        self._done[key] = (started, flight.result())
        if len(self._done) > self.max_entries:
            self._trim()

    def _trim(self) -> None:
        now = self._clock()
        for k in [k for k, (at, _) in self._done.items() if now - at > self.ttl_s]:
            del self._done[k]
        while len(self._done) > self.max_entries:
            del self._done[next(iter(self._done))]
