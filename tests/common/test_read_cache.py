"""ReadCache: reuse for max_age after the read started, one read in flight per key, reads again
ahead of expiry, never hands out an answer older than the caller's own writes, and a failed or
abandoned read strands nobody.

Every "read in flight" moment is made by a gate the test opens by hand, and every "the read has
landed" moment by awaiting the read's own task: no test waits on wall-clock time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from common.read_cache import ReadCache


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Source:
    """A read the test releases by hand (``gate``), counting how often it ran; ``reads`` holds each
    read's task so a test can await the moment it lands."""

    def __init__(self) -> None:
        self.value = "v0"
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None
        self.reads: list[asyncio.Task[object]] = []
        self._started = asyncio.Condition()

    @property
    def calls(self) -> int:
        return len(self.reads)

    async def read(self) -> str:
        task = asyncio.current_task()
        assert task is not None
        self.reads.append(task)
        async with self._started:
            self._started.notify_all()
        value = self.value  # what the store held when the read started
        await self.gate.wait()
        if self.fail is not None:
            error, self.fail = self.fail, None
            raise error
        return value

    async def started(self, count: int) -> None:
        """Until ``count`` reads have started."""
        async with self._started:
            await self._started.wait_for(lambda: self.calls >= count)

    async def landed(self) -> None:
        """Until the newest read has finished and the cache has taken its answer (the cache's
        done-callback was added before this await's, so it has run when this returns)."""
        await asyncio.gather(self.reads[-1], return_exceptions=True)


class Writes:
    """A process's own write count, for ``epoch``."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> int:
        return self.count


async def test_concurrent_callers_share_one_read_and_reuse_it_for_max_age() -> None:
    ticks, source = Ticks(), Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=ticks)
    source.gate.clear()
    waiting = [asyncio.ensure_future(cache.get("h1", source.read)) for _ in range(10)]
    await source.started(1)
    source.gate.set()
    assert await asyncio.gather(*waiting) == ["v0"] * 10
    assert source.calls == 1
    source.value = "v1"
    ticks.now = 2.0  # exactly max_age after the read started: still reused
    assert await cache.get("h1", source.read) == "v0"
    ticks.now = 2.01
    assert await cache.get("h1", source.read) == "v1"
    assert await cache.get("h2", source.read) == "v1"  # keys are independent
    assert source.calls == 3


async def test_age_counts_from_the_start_of_the_read() -> None:
    ticks, source = Ticks(), Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=ticks)
    source.gate.clear()
    first = asyncio.ensure_future(cache.get("k", source.read))
    await source.started(1)
    ticks.now = 1.5  # a slow read: it finishes 1.5 s after it started
    source.gate.set()
    assert await first == "v0"
    source.value = "v1"
    ticks.now = 2.1  # 0.6 s after it finished, but 2.1 s after its snapshot
    assert await cache.get("k", source.read) == "v1"


async def test_errors_reach_every_waiting_caller_and_are_not_kept() -> None:
    source = Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=Ticks())
    source.fail = LookupError("database down")
    source.gate.clear()
    waiting = [asyncio.ensure_future(cache.get("k", source.read)) for _ in range(3)]
    await source.started(1)
    source.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results) and source.calls == 1
    assert await cache.get("k", source.read) == "v0"  # retried by the next call
    assert source.calls == 2


async def test_a_caller_giving_up_does_not_cancel_the_shared_read() -> None:
    source = Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=Ticks())
    source.gate.clear()
    quitter = asyncio.ensure_future(cache.get("k", source.read))
    stayer = asyncio.ensure_future(cache.get("k", source.read))
    await source.started(1)
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    source.gate.set()
    assert await stayer == "v0" and source.calls == 1


async def test_forget_reads_afresh_and_drops_the_read_in_flight() -> None:
    source = Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=Ticks())
    assert await cache.get("k", source.read) == "v0"
    source.value = "v1"
    cache.forget("k")
    assert await cache.get("k", source.read) == "v1"
    # A read in flight when its key is forgotten may predate the change: not kept.
    source.gate.clear()
    stale = asyncio.ensure_future(cache.get("k2", source.read))
    await source.started(3)  # the read has started (and taken its snapshot)
    cache.forget("k2")
    source.value = "v2"
    source.gate.set()
    assert await stale == "v1"
    assert await cache.get("k2", source.read) == "v2"


async def test_max_age_zero_reads_on_every_call() -> None:
    source = Source()
    off: ReadCache[str, str] = ReadCache(0, clock=Ticks(), refresh_ahead=True)
    assert await asyncio.gather(*(off.get("k", source.read) for _ in range(3))) == ["v0"] * 3
    assert source.calls == 3


async def test_keeps_at_most_max_entries() -> None:
    cache: ReadCache[int, int] = ReadCache(10.0, max_entries=3, clock=Ticks())
    reads: list[int] = []

    def reader(k: int) -> Callable[[], Awaitable[int]]:
        async def read() -> int:
            reads.append(k)
            return k * 10

        return read

    for k in range(5):
        assert await cache.get(k, reader(k)) == k * 10
    for k in range(5):
        await cache.get(k, reader(k))
    assert reads[5:7] == [0, 1]  # the two oldest were dropped; 2, 3, 4 were still held


async def test_an_ageing_answer_is_read_again_in_the_background_while_callers_keep_it() -> None:
    ticks, source = Ticks(), Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=ticks, refresh_ahead=True)
    assert await cache.get("k", source.read) == "v0"
    source.value = "v1"
    ticks.now = 1.0  # exactly half its age: no refresh yet
    assert await cache.get("k", source.read) == "v0" and source.calls == 1
    ticks.now = 1.01
    source.gate.clear()  # hold the refresh: callers must not wait for it
    assert await cache.get("k", source.read) == "v0"
    await source.started(2)
    # The refresh has read "v1" but not landed: callers still get the answer the cache holds.
    assert [await cache.get("k", source.read) for _ in range(5)] == ["v0"] * 5
    assert source.calls == 2  # one refresh, however many callers
    source.gate.set()
    await source.landed()
    ticks.now = 2.5  # past the first answer's age, within the refresh's
    assert await cache.get("k", source.read) == "v1" and source.calls == 2


async def test_an_expired_answer_is_never_served_even_with_refresh_ahead() -> None:
    ticks, source = Ticks(), Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=ticks, refresh_ahead=True)
    assert await cache.get("k", source.read) == "v0"
    source.value = "v1"
    ticks.now = 2.01  # idle past the max age: no refresh ran, so the caller waits for one
    assert await cache.get("k", source.read) == "v1" and source.calls == 2


async def test_a_failed_refresh_is_logged_and_the_next_caller_reads_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks, source = Ticks(), Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=ticks, refresh_ahead=True, name="head")
    assert await cache.get("k", source.read) == "v0"
    ticks.now = 1.5
    source.fail = ConnectionError("database down")
    with caplog.at_level(logging.WARNING, logger="common.read_cache"):
        assert await cache.get("k", source.read) == "v0"  # still valid; the refresh fails behind it
        await source.landed()
    assert [r.getMessage() for r in caplog.records] == ["shared_read_failed"]
    source.value = "v1"
    assert await cache.get("k", source.read) == "v0"  # still within its age: kept, refresh retried
    await source.landed()
    assert source.calls == 3
    ticks.now = 2.01
    assert await cache.get("k", source.read) == "v1"  # the retried refresh's answer


async def test_an_answer_is_not_served_past_the_callers_own_write() -> None:
    writes, source = Writes(), Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=Ticks(), epoch=writes)
    assert await cache.get("k", source.read) == "v0"
    assert await cache.get("k", source.read) == "v0" and source.calls == 1
    source.value = "v1"
    writes.count += 1  # this process wrote: the answer read before it must not be reused
    assert await cache.get("k", source.read) == "v1" and source.calls == 2
    assert await cache.get("k", source.read) == "v1" and source.calls == 2


async def test_a_caller_never_joins_a_read_that_began_before_its_write() -> None:
    writes, source = Writes(), Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=Ticks(), epoch=writes)
    source.gate.clear()
    early = asyncio.ensure_future(cache.get("k", source.read))
    await source.started(1)  # it read "v0"
    source.value = "v1"
    writes.count += 1
    late = asyncio.ensure_future(cache.get("k", source.read))  # wrote, then asked: must see v1
    also_late = asyncio.ensure_future(cache.get("k", source.read))
    await source.started(2)
    source.gate.set()
    assert await early == "v0"
    assert await late == "v1" and await also_late == "v1"
    assert source.calls == 2
    assert await cache.get("k", source.read) == "v1" and source.calls == 2  # the newer one is kept


async def test_a_read_overtaken_by_a_newer_one_is_not_kept() -> None:
    writes, source = Writes(), Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=Ticks(), epoch=writes)
    source.gate.clear()
    early = asyncio.ensure_future(cache.get("k", source.read))
    await source.started(1)
    writes.count += 1
    source.value = "v1"
    late = asyncio.ensure_future(cache.get("k", source.read))
    await source.started(2)
    source.gate.set()
    assert await late == "v1" and await early == "v0"
    await asyncio.gather(*source.reads)
    assert await cache.get("k", source.read) == "v1" and source.calls == 2
