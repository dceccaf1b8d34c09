"""How fresh the hot reads are: the signed head and the newest blocks page, shared and reused.

Why: GetSignedHead and ListBlocks (newest first) are what dashboards and verifiers poll, and a
fresh answer costs a thread hop and a database round trip (a head also an Ed25519 signature). A
head a few hundred ms old is still a correct signed commitment (CT logs publish heads
periodically), so both answers go through a :class:`common.read_cache.ReadCache`: reused for
``max_age_ms``, one read in flight shared by the callers that miss, read again in the background
past half that age.

The policy, in one place:
- An answer is at most ``max_age_ms`` old (from the start of its read, on the ledger's clock);
  ``max_age_ms <= 0`` reads on every call. Other replicas' appends and seals show within that age.
- It covers every append and seal *this* replica made before the call: the cache's epoch is
  :attr:`Ledger.local_writes`, so a caller never gets an answer, or joins a read, that started
  before this replica's latest write.
- Pages below the newest are sealed blocks, which never change: the servicer serves them from
  :meth:`Ledger.cached_blocks` whatever their age.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Protocol, TypeVar

from common.read_cache import ReadCache
from ledger_svc.ledger import Ledger
from ledger_svc.reads import Block
from ledger_svc.signing import SignedTreeHead

__all__ = ["NewestBlocks", "RunInThread", "SharedHead"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class RunInThread(Protocol):
    """How the ledger's blocking calls leave the event loop (the servicer's worker threads)."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


def _cache(ledger: Ledger, max_age_ms: int, name: str) -> ReadCache[K, T]:
    return ReadCache(
        max_age_ms,
        clock=ledger.clock,
        refresh_ahead=True,
        epoch=lambda: ledger.local_writes,
        name=name,
    )


class SharedHead:
    """``get()``: a signed head no older than ``max_age_ms`` (``<= 0``: signs on every call)."""

    def __init__(self, ledger: Ledger, max_age_ms: int, run: RunInThread) -> None:
        self._ledger = ledger
        self._run = run
        self._heads: ReadCache[None, SignedTreeHead] = _cache(ledger, max_age_ms, "signed_head")

    async def get(self) -> SignedTreeHead:
        return await self._heads.get(None, lambda: self._run(self._ledger.signed_head))


class NewestBlocks:
    """``get(limit)``: the newest ``limit`` blocks, newest first, read at most ``max_age_ms`` ago
    (``<= 0``: read on every call)."""

    def __init__(self, ledger: Ledger, max_age_ms: int, run: RunInThread) -> None:
        self._ledger = ledger
        self._run = run
        self._pages: ReadCache[int, list[Block]] = _cache(ledger, max_age_ms, "newest_blocks")

    async def get(self, limit: int) -> list[Block]:
        return await self._pages.get(limit, lambda: self._run(lambda: self._ledger.blocks_page(None, limit)))
