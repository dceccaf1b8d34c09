"""SharedHead and NewestBlocks: callers that miss share one read, answers are read again ahead of
expiry, an answer never misses this replica's own appends and seals, and a failed or abandoned read
strands nobody."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import pytest

from ledger_svc.ledger import Block, Ledger
from ledger_svc.shared_reads import NewestBlocks, SharedHead
from tests.ledger_svc.ledger_records import Clock, settlement

MAX_AGE_MS = 250
T = TypeVar("T")


class Signings:
    """Runs ledger reads on a thread like the servicer does, counting calls; each read's answer can
    be held back (``gate``) to make the "read in flight" moments the tests need."""

    def __init__(self) -> None:
        self.count = 0
        self.gate: asyncio.Event | None = None
        self.fail_next: Exception | None = None

    async def __call__(self, read: Callable[..., T], *args: object) -> T:
        self.count += 1
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        answer = await asyncio.to_thread(read, *args)
        if self.gate is not None:
            await self.gate.wait()
        return answer


async def _in_flight(signings: Signings, count: int) -> None:
    """Until ``count`` signings have started (they start on the event loop, so yielding suffices)."""
    for _ in range(100):
        if signings.count >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"expected {count} signings, saw {signings.count}")


async def test_concurrent_misses_share_one_signing(ledger: Ledger) -> None:
    ledger.append([settlement(hour=h) for h in range(3)])
    signings = Signings()
    cache = SharedHead(ledger, MAX_AGE_MS, signings)
    heads = await asyncio.gather(*(cache.get() for _ in range(50)))
    assert signings.count == 1
    assert all(h is heads[0] for h in heads)
    assert heads[0].head.tree_size == 3
    assert await cache.get() is heads[0]  # young: served without signing
    assert signings.count == 1


async def test_an_ageing_head_is_resigned_in_the_background_while_callers_keep_it(
    ledger: Ledger, clock: Clock
) -> None:
    signings = Signings()
    cache = SharedHead(ledger, MAX_AGE_MS, signings)
    first = await cache.get()
    clock.advance(MAX_AGE_MS // 2 - 1)
    assert await cache.get() is first and signings.count == 1  # not yet half its age: no refresh
    clock.advance(2)
    signings.gate = asyncio.Event()  # hold the refresh: callers must not wait for it
    assert await cache.get() is first
    await _in_flight(signings, 2)
    assert await cache.get() is first and signings.count == 2  # one refresh, however many callers
    signings.gate.set()
    for _ in range(100):
        if ledger.recent_head(MAX_AGE_MS) is not first:
            break
        await asyncio.sleep(0.01)
    fresh = await cache.get()
    assert fresh is not first and fresh.head.timestamp_ms == clock.now
    assert signings.count == 2


async def test_an_expired_head_is_never_served(ledger: Ledger, clock: Clock) -> None:
    signings = Signings()
    cache = SharedHead(ledger, MAX_AGE_MS, signings)
    first = await cache.get()
    clock.advance(MAX_AGE_MS + 1)  # idle past the max age: no refresh ran, so callers wait for one
    fresh = await cache.get()
    assert fresh is not first and fresh.head.timestamp_ms == clock.now and signings.count == 2


async def test_a_head_covers_this_replicas_append_even_if_signing_began_before_it(ledger: Ledger) -> None:
    ledger.append([settlement(hour=h) for h in range(3)])
    signings = Signings()
    cache = SharedHead(ledger, MAX_AGE_MS, signings)
    signings.gate = asyncio.Event()
    early = asyncio.create_task(cache.get())  # its signing reads a tree of 3, then is held
    await _in_flight(signings, 1)
    for _ in range(200):  # until that signing has read the tree (it runs on a thread)
        if ledger.recent_head(MAX_AGE_MS) is not None:
            break
        await asyncio.sleep(0.005)
    await asyncio.to_thread(ledger.append, [settlement("hh-2", hour=0)])
    late = asyncio.create_task(cache.get())  # appended, then asked: must see 4
    await asyncio.sleep(0.01)
    signings.gate.set()
    assert (await early).head.tree_size == 3
    assert (await late).head.tree_size == 4
    assert signings.count == 2


async def test_a_failed_signing_reaches_its_callers_and_the_next_call_signs_again(ledger: Ledger) -> None:
    signings = Signings()
    cache = SharedHead(ledger, MAX_AGE_MS, signings)
    signings.fail_next = ConnectionError("database down")
    results = await asyncio.gather(cache.get(), cache.get(), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    assert signings.count == 1
    head = await cache.get()
    assert head.head.tree_size == 0 and signings.count == 2


async def test_a_caller_giving_up_does_not_cancel_the_others_signing(ledger: Ledger) -> None:
    signings = Signings()
    signings.gate = asyncio.Event()
    cache = SharedHead(ledger, MAX_AGE_MS, signings)
    impatient = asyncio.create_task(cache.get())
    patient = asyncio.create_task(cache.get())
    await _in_flight(signings, 1)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    signings.gate.set()
    assert (await patient).head.tree_size == 0
    assert signings.count == 1


async def test_max_age_zero_signs_on_every_call(ledger: Ledger) -> None:
    signings = Signings()
    cache = SharedHead(ledger, 0, signings)
    await asyncio.gather(*(cache.get() for _ in range(3)))
    assert signings.count == 3


def _heights(blocks: list[Block]) -> list[int]:
    return [b.height for b in blocks]


async def test_newest_blocks_misses_share_one_read_and_are_reread_ahead_of_expiry(
    make_ledger: Callable[..., Ledger], clock: Clock
) -> None:
    ledger = make_ledger(block_max_txs=2)
    ledger.append([settlement(hour=h) for h in range(6)])  # blocks 0, 1, 2
    reads = Signings()
    newest = NewestBlocks(ledger, MAX_AGE_MS, reads)
    pages = await asyncio.gather(*(newest.get(2) for _ in range(30)))
    assert reads.count == 1 and all(_heights(p) == [2, 1] for p in pages)
    assert _heights(await newest.get(2)) == [2, 1] and reads.count == 1  # young: from memory
    clock.advance(MAX_AGE_MS // 2 + 1)
    reads.gate = asyncio.Event()
    assert _heights(await newest.get(2)) == [2, 1]  # ageing: served while a refresh runs
    await _in_flight(reads, 2)
    await newest.get(2)
    assert reads.count == 2
    reads.gate.set()
    clock.advance(MAX_AGE_MS)  # had the refresh not landed, this would be too old to serve
    for _ in range(100):
        if ledger.recent_blocks_page(None, 2, MAX_AGE_MS) is not None:
            break
        await asyncio.sleep(0.01)
    assert _heights(await newest.get(2)) == [2, 1] and reads.count == 2


async def test_newest_blocks_show_a_block_this_replica_sealed_while_a_read_was_in_flight(
    make_ledger: Callable[..., Ledger],
) -> None:
    ledger = make_ledger(block_max_txs=2)
    ledger.append([settlement(hour=h) for h in range(2)])  # block 0
    reads = Signings()
    reads.gate = asyncio.Event()
    newest = NewestBlocks(ledger, MAX_AGE_MS, reads)
    early = asyncio.create_task(newest.get(5))
    await _in_flight(reads, 1)
    for _ in range(200):  # until that read has counted the blocks (it runs on a thread)
        if ledger.newest_blocks_age_ms() is not None:
            break
        await asyncio.sleep(0.005)
    await asyncio.to_thread(ledger.append, [settlement("hh-2", hour=h) for h in range(2)])  # block 1
    late = asyncio.create_task(newest.get(5))
    await asyncio.sleep(0.01)
    reads.gate.set()
    assert _heights(await early) == [0]
    assert _heights(await late) == [1, 0]
    assert reads.count == 2


async def test_newest_blocks_max_age_zero_reads_on_every_call(ledger: Ledger) -> None:
    reads = Signings()
    newest = NewestBlocks(ledger, 0, reads)
    await asyncio.gather(*(newest.get(3) for _ in range(3)))
    assert reads.count == 3
