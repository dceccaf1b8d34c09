"""The hot reads every caller shares: the signed head and the newest blocks.

Why: GetSignedHead and ListBlocks (newest first) are what dashboards and verifiers poll. A fresh
answer costs a thread hop and a database round trip (and, for a head, an Ed25519 signature), so a
recent one is reused for ``max_age_ms`` (Ledger.recent_head, Ledger.recent_blocks_page). Before this
module, the moment that answer expired every call in flight missed together and each read its own:
at ~2,000 calls/s that herd stalled the event loop for 15-60 ms once per max age (periodic p99
episodes in bench/bench_edge.py). Now callers that miss share one read, and an answer past half its
max age is read again in the background while callers keep getting it, so under steady load no
call waits on the database.

Freshness is unchanged: an answer is at most ``max_age_ms`` old and covers every append and seal
this replica made before the call (a caller never joins a read that started before its replica's
latest write; see Ledger.local_writes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from common.log import get_logger
from ledger_svc.ledger import Block, Ledger
from ledger_svc.signing import SignedTreeHead

__all__ = ["NewestBlocks", "SharedHead"]

log = get_logger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
RunInThread = Callable[..., Awaitable[Any]]


class _Reads(Generic[K, T]):
    """The reuse policy for one kind of read, and at most one such read per key in flight, joined
    by callers whose replica has not written since it started. Event loop only."""

    def __init__(self, ledger: Ledger, max_age_ms: int, what: str) -> None:
        self._ledger = ledger
        self.max_age_ms = max_age_ms
        self._what = what
        self._flights: dict[K, tuple[int, asyncio.Future[T]]] = {}

    async def get(self, key: K, read: Callable[[], Awaitable[T]], reused: T | None, age_ms: int | None) -> T:
        """``reused``: what the ledger still holds for ``key`` (None: too old, or its tree grew),
        read ``age_ms`` ago."""
        if self.max_age_ms <= 0:
            return await read()
        if reused is None:
            # shield: one caller giving up (deadline, disconnect) must not cancel the others' read.
            return await asyncio.shield(self._start(key, read))
        if age_ms is not None and 2 * age_ms > self.max_age_ms:
            self._start(key, read)  # ahead of expiry; this caller keeps the still-valid answer
        return reused

    def _start(self, key: K, read: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        writes = self._ledger.local_writes
        flight = self._flights.get(key)
        if flight is not None and flight[0] >= writes and not flight[1].done():
            return flight[1]
        future = asyncio.ensure_future(read())
        self._flights[key] = (writes, future)
        future.add_done_callback(lambda done: self._landed(key, done))
        return future

    def _landed(self, key: K, done: asyncio.Future[T]) -> None:
        flight = self._flights.get(key)
        if flight is not None and flight[1] is done:
            del self._flights[key]
        # A background refresh has no caller to tell; callers waiting on it get the error themselves.
        if not done.cancelled() and (error := done.exception()) is not None:
            log.warning("shared_read_failed", what=self._what, error=repr(error))


class SharedHead:
    """``get()``: a signed head no older than ``max_age_ms`` (``<= 0``: signs on every call)."""

    def __init__(self, ledger: Ledger, max_age_ms: int, run: RunInThread) -> None:
        self._ledger = ledger
        self._run = run
        self._reads: _Reads[None, SignedTreeHead] = _Reads(ledger, max_age_ms, "signed_head")

    def _sign(self) -> Awaitable[SignedTreeHead]:
        return self._run(self._ledger.signed_head)  # type: ignore[no-any-return]

    async def get(self) -> SignedTreeHead:
        head = self._ledger.recent_head(self._reads.max_age_ms)
        age = None if head is None else self._ledger.head_age_ms(head)
        return await self._reads.get(None, self._sign, head, age)


class NewestBlocks:
    """``get(limit)``: the newest ``limit`` blocks, newest first, their count read at most
    ``max_age_ms`` ago (``<= 0``: read on every call)."""

    def __init__(self, ledger: Ledger, max_age_ms: int, run: RunInThread) -> None:
        self._ledger = ledger
        self._run = run
        self._reads: _Reads[int, list[Block]] = _Reads(ledger, max_age_ms, "newest_blocks")

    async def get(self, limit: int) -> list[Block]:
        def read() -> Awaitable[list[Block]]:
            return self._run(self._ledger.blocks_page, None, limit)  # type: ignore[no-any-return]

        blocks = self._ledger.recent_blocks_page(None, limit, self._reads.max_age_ms)
        return await self._reads.get(limit, read, blocks, self._ledger.newest_blocks_age_ms())
