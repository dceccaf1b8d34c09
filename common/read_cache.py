"""Shared reads: recent answers reused for a while, and one read per key in flight at a time.

Why: the hot read RPCs (ingest's household summary and grid stats, the ledger's signed head and
newest blocks) are asked the same question many times a second, and the answer changes only now
and then. A fresh answer costs a worker-thread hop and a database round trip (a signed head also an
Ed25519 signature). So an answer is reused for ``max_age`` after its read started, and callers that
miss share one read instead of queueing one each. Without that, the moment an answer expired every
call in flight missed together (at ~2,000 calls/s that herd stalled the event loop for 15-60 ms once
per max age). With ``refresh_ahead``, an answer past half its max age is read again in the
background while callers keep getting it, so under steady load no call waits on the database.

Staleness bound: an answer reflects every write committed before its read *started* and is served
for at most ``max_age`` after that start. With ``epoch`` (a count of this process's own writes),
an answer, or a read in flight, that started before the count last moved is never handed out:
a caller always sees the writes this process made before its call (read-your-writes).

An answer is published when its read lands, on the event loop, and nowhere else: which answer a
caller gets never depends on how far a worker thread has got.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from common.log import get_logger

__all__ = ["ReadCache"]

log = get_logger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _no_epoch() -> int:
    return 0


@dataclass(frozen=True, slots=True)
class _Answer(Generic[V]):
    started: float  # on the cache's clock
    epoch: int
    value: V


@dataclass(frozen=True, slots=True)
class _Flight(Generic[V]):
    started: float
    epoch: int
    future: asyncio.Future[V]
    background: bool  # started ahead of expiry: no caller was waiting on it then


class ReadCache(Generic[K, V]):
    """Per-key answers for ``max_age`` after their read started; one read in flight per key.

    ``max_age <= 0`` turns reuse and sharing off (every call reads). ``clock`` gives the time in
    the unit of ``max_age``. Errors reach every caller waiting on that read and are never kept (the
    next call reads again); one caller giving up does not cancel the others' read. At most
    ``max_entries`` answers are kept (oldest dropped first). Event loop only (not thread-safe).
    """

    def __init__(
        self,
        max_age: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        refresh_ahead: bool = False,
        epoch: Callable[[], int] = _no_epoch,
        max_entries: int = 10_000,
        name: str = "read",
    ) -> None:
        self.max_age = max_age
        self.max_entries = max(1, max_entries)
        self._clock = clock
        self._refresh_ahead = refresh_ahead
        self._epoch = epoch
        self._name = name
        self._answers: dict[K, _Answer[V]] = {}  # insertion order = age order
        self._flights: dict[K, _Flight[V]] = {}

    async def get(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        """``key``'s answer: a recent one, a share of the read in flight, or a new read."""
        if self.max_age <= 0:
            return await read()
        now, epoch = self._clock(), self._epoch()
        answer = self._answers.get(key)
        if answer is not None and answer.epoch >= epoch and now - answer.started <= self.max_age:
            if self._refresh_ahead and 2 * (now - answer.started) > self.max_age:
                self._start(key, read, now, epoch, background=True)
            return answer.value
        # shield: one caller giving up (deadline, disconnect) must not cancel the others' read.
        return await asyncio.shield(self._start(key, read, now, epoch, background=False))

    def forget(self, key: K) -> None:
        """Drop ``key``'s answer and detach its read in flight: the next call reads afresh."""
        self._answers.pop(key, None)
        self._flights.pop(key, None)

    def _start(
        self, key: K, read: Callable[[], Awaitable[V]], now: float, epoch: int, background: bool
    ) -> asyncio.Future[V]:
        flight = self._flights.get(key)
        if flight is not None and flight.epoch >= epoch:
            return flight.future  # began after this caller's latest write: it covers it
        future = asyncio.ensure_future(read())
        started = _Flight(now, epoch, future, background)
        self._flights[key] = started
        future.add_done_callback(lambda _: self._land(key, started))
        return future

    def _land(self, key: K, flight: _Flight[V]) -> None:
        error = None if flight.future.cancelled() else flight.future.exception()  # marks it seen
        if self._flights.get(key) is not flight:
            return  # forgotten or overtaken while in flight: it may predate a write, do not keep it
        del self._flights[key]
        if flight.future.cancelled():
            return
        if error is not None:
            if flight.background:  # callers waiting on it got the error; a refresh has no one to tell
                log.warning("shared_read_failed", what=self._name, error=repr(error))
            return
        self._answers.pop(key, None)
        self._answers[key] = _Answer(flight.started, flight.epoch, flight.future.result())
        if len(self._answers) > self.max_entries:
            self._trim()

    def _trim(self) -> None:
        now = self._clock()
        for k in [k for k, a in self._answers.items() if now - a.started > self.max_age]:
            del self._answers[k]
        while len(self._answers) > self.max_entries:
            del self._answers[next(iter(self._answers))]
