"""SharedHead and NewestBlocks over a real ledger: answers are reused while young, read again
ahead of expiry, never miss this replica's own appends and seals, show other replicas' within the
max age, and a failed or abandoned read strands nobody.

The "read in flight" moments are made deterministically: ``Runs`` holds each read's answer at a
gate after its worker thread has returned, and tests wait on its condition or the read's task,
never on wall-clock time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import pytest

from ledger_svc.freshness import NewestBlocks, SharedHead
from ledger_svc.ledger import Ledger
from ledger_svc.reads import Block
from tests.ledger_svc.ledger_records import Clock, settlement

MAX_AGE_MS = 250
T = TypeVar("T")


class Runs:
    """Runs ledger reads on a worker thread like the servicer does, counting them. ``count``: reads
    started; ``ran``: reads whose thread returned. With a ``gate``, each answer is then held back
    until the test opens it."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[object]] = []
        self.ran = 0
        self.gate: asyncio.Event | None = None
        self.fail_next: Exception | None = None
        self._changed = asyncio.Condition()

    @property
    def count(self) -> int:
        return len(self.tasks)

    async def __call__(self, read: Callable[[], T]) -> T:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.append(task)
        await self._notify()
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        answer = await asyncio.to_thread(read)
        self.ran += 1
        await self._notify()
        if self.gate is not None:
            await self.gate.wait()
        return answer

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def until(self, done: Callable[[], bool]) -> None:
        async with self._changed:
            await self._changed.wait_for(done)

    async def landed(self) -> None:
        """Until the newest read is done and the cache has taken its answer."""
        await asyncio.gather(self.tasks[-1], return_exceptions=True)


async def test_concurrent_misses_share_one_signing(ledger: Ledger) -> None:
    ledger.append([settlement(hour=h) for h in range(3)])
    runs = Runs()
    cache = SharedHead(ledger, MAX_AGE_MS, runs)
    heads = await asyncio.gather(*(cache.get() for _ in range(50)))
    assert runs.count == 1
    assert all(h is heads[0] for h in heads)
    assert heads[0].head.tree_size == 3
    assert await cache.get() is heads[0]  # young: served without signing
    assert runs.count == 1


async def test_an_ageing_head_is_resigned_in_the_background_while_callers_keep_it(
    ledger: Ledger, clock: Clock
) -> None:
    runs = Runs()
    cache = SharedHead(ledger, MAX_AGE_MS, runs)
    first = await cache.get()
    clock.advance(MAX_AGE_MS // 2 - 1)
    assert await cache.get() is first and runs.count == 1  # not yet half its age: no refresh
    clock.advance(2)
    runs.gate = asyncio.Event()  # hold the refresh: callers must not wait for it
    assert await cache.get() is first
    # The refresh has signed a new head on its thread but not landed. (This is the moment the
    # old design raced on: the ledger published the new head from the thread, so whether a
    # caller got it depended on how far the thread had got.)
    await runs.until(lambda: runs.ran == 2)
    assert [await cache.get() for _ in range(5)] == [first] * 5
    assert runs.count == 2  # one refresh, however many callers
    runs.gate.set()
    await runs.landed()
    fresh = await cache.get()
    assert fresh is not first and fresh.head.timestamp_ms == clock.now
    assert runs.count == 2


async def test_an_expired_head_is_never_served(ledger: Ledger, clock: Clock) -> None:
    runs = Runs()
    cache = SharedHead(ledger, MAX_AGE_MS, runs)
    first = await cache.get()
    clock.advance(MAX_AGE_MS + 1)  # idle past the max age: no refresh ran, so callers wait for one
    fresh = await cache.get()
    assert fresh is not first and fresh.head.timestamp_ms == clock.now and runs.count == 2


async def test_a_head_shows_this_replicas_writes_at_once_and_others_within_the_max_age(
    make_ledger: Callable[..., Ledger], clock: Clock
) -> None:
    ledger, sibling = make_ledger(), make_ledger()
    runs = Runs()
    cache = SharedHead(ledger, MAX_AGE_MS, runs)
    ledger.append([settlement(hour=h) for h in range(3)])
    head = await cache.get()
    assert await cache.get() is head and head.head.tree_size == 3
    ledger.append([settlement("hh-2", hour=0)])
    assert (await cache.get()).head.tree_size == 4  # our tree grew: the head must show it
    sibling.append([settlement("hh-3", hour=0)])
    assert (await cache.get()).head.tree_size == 4 and runs.count == 2
    clock.advance(MAX_AGE_MS + 1)
    assert (await cache.get()).head.tree_size == 5


async def test_a_head_covers_this_replicas_append_even_if_signing_began_before_it(ledger: Ledger) -> None:
    ledger.append([settlement(hour=h) for h in range(3)])
    runs = Runs()
    cache = SharedHead(ledger, MAX_AGE_MS, runs)
    runs.gate = asyncio.Event()
    early = asyncio.create_task(cache.get())
    await runs.until(lambda: runs.ran == 1)  # its signing has read a tree of 3, and is held
    await asyncio.to_thread(ledger.append, [settlement("hh-2", hour=0)])
    late = asyncio.create_task(cache.get())  # appended, then asked: must see 4
    await runs.until(lambda: runs.count == 2)
    runs.gate.set()
    assert (await early).head.tree_size == 3
    assert (await late).head.tree_size == 4
    assert runs.count == 2


async def test_a_failed_signing_reaches_its_callers_and_the_next_call_signs_again(ledger: Ledger) -> None:
    runs = Runs()
    cache = SharedHead(ledger, MAX_AGE_MS, runs)
    runs.fail_next = ConnectionError("database down")
    results = await asyncio.gather(cache.get(), cache.get(), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    assert runs.count == 1
    head = await cache.get()
    assert head.head.tree_size == 0 and runs.count == 2


async def test_a_caller_giving_up_does_not_cancel_the_others_signing(ledger: Ledger) -> None:
    runs = Runs()
    runs.gate = asyncio.Event()
    cache = SharedHead(ledger, MAX_AGE_MS, runs)
    impatient = asyncio.create_task(cache.get())
    patient = asyncio.create_task(cache.get())
    await runs.until(lambda: runs.count == 1)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    runs.gate.set()
    assert (await patient).head.tree_size == 0
    assert runs.count == 1


async def test_max_age_zero_signs_on_every_call(ledger: Ledger) -> None:
    runs = Runs()
    cache = SharedHead(ledger, 0, runs)
    await asyncio.gather(*(cache.get() for _ in range(3)))
    assert runs.count == 3


def _heights(blocks: list[Block]) -> list[int]:
    return [b.height for b in blocks]


async def test_newest_blocks_misses_share_one_read_and_are_reread_ahead_of_expiry(
    make_ledger: Callable[..., Ledger], clock: Clock
) -> None:
    ledger = make_ledger(block_max_txs=2)
    ledger.append([settlement(hour=h) for h in range(6)])  # blocks 0, 1, 2
    runs = Runs()
    newest = NewestBlocks(ledger, MAX_AGE_MS, runs)
    pages = await asyncio.gather(*(newest.get(2) for _ in range(30)))
    assert runs.count == 1 and all(_heights(p) == [2, 1] for p in pages)
    assert _heights(await newest.get(2)) == [2, 1] and runs.count == 1  # young: from memory
    clock.advance(MAX_AGE_MS // 2 + 1)
    runs.gate = asyncio.Event()
    assert _heights(await newest.get(2)) == [2, 1]  # ageing: served while a refresh runs
    await runs.until(lambda: runs.ran == 2)
    assert _heights(await newest.get(2)) == [2, 1] and runs.count == 2
    runs.gate.set()
    await runs.landed()
    clock.advance(MAX_AGE_MS // 2 + 1)  # past the first read's age; the refresh's is young
    assert _heights(await newest.get(2)) == [2, 1] and runs.count == 2


async def test_newest_blocks_show_this_replicas_seals_at_once_and_others_within_the_max_age(
    make_ledger: Callable[..., Ledger], clock: Clock
) -> None:
    ledger, sibling = make_ledger(), make_ledger()  # block size 4
    runs = Runs()
    newest = NewestBlocks(ledger, MAX_AGE_MS, runs)
    assert await newest.get(5) == []
    assert await newest.get(5) == [] and runs.count == 1  # an empty ledger, remembered
    ledger.append([settlement(hour=h) for h in range(12)])  # blocks 0..2
    assert _heights(await newest.get(2)) == [2, 1]  # we sealed: listed at once
    sibling.append([settlement("hh-2", hour=h) for h in range(4)])  # block 3
    assert _heights(await newest.get(2)) == [2, 1] and runs.count == 2
    clock.advance(MAX_AGE_MS + 1)
    assert _heights(await newest.get(2)) == [3, 2]


async def test_newest_blocks_show_a_block_this_replica_sealed_while_a_read_was_in_flight(
    make_ledger: Callable[..., Ledger],
) -> None:
    ledger = make_ledger(block_max_txs=2)
    ledger.append([settlement(hour=h) for h in range(2)])  # block 0
    runs = Runs()
    runs.gate = asyncio.Event()
    newest = NewestBlocks(ledger, MAX_AGE_MS, runs)
    early = asyncio.create_task(newest.get(5))
    await runs.until(lambda: runs.ran == 1)  # that read has listed the blocks, and is held
    await asyncio.to_thread(ledger.append, [settlement("hh-2", hour=h) for h in range(2)])  # block 1
    late = asyncio.create_task(newest.get(5))
    await runs.until(lambda: runs.count == 2)
    runs.gate.set()
    assert _heights(await early) == [0]
    assert _heights(await late) == [1, 0]
    assert runs.count == 2


async def test_newest_blocks_max_age_zero_reads_on_every_call(ledger: Ledger) -> None:
    runs = Runs()
    newest = NewestBlocks(ledger, 0, runs)
    await asyncio.gather(*(newest.get(3) for _ in range(3)))
    assert runs.count == 3
