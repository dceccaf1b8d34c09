"""ReadCache: reuse for ttl after the read started, one read in flight per key, errors never kept."""

from __future__ import annotations

import asyncio

import pytest

from ingest_svc.telemetry.read_cache import ReadCache


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Source:
    """A read the test releases by hand, counting how often it ran."""

    def __init__(self) -> None:
        self.calls = 0
        self.value = "v0"
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None

    async def read(self) -> str:
        self.calls += 1
        value = self.value  # what the store held when the read started
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return value


async def test_concurrent_callers_share_one_read_and_reuse_it_for_ttl() -> None:
    ticks, source = Ticks(), Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=ticks)
    source.gate.clear()
    waiting = [asyncio.ensure_future(cache.get("h1", source.read)) for _ in range(10)]
    await asyncio.sleep(0)
    source.gate.set()
    assert await asyncio.gather(*waiting) == ["v0"] * 10
    assert source.calls == 1
    source.value = "v1"
    ticks.now = 2.0  # exactly ttl after the read started: still reused
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
    await asyncio.sleep(0)
    ticks.now = 1.5  # a slow read: it finishes 1.5 s after it started
    source.gate.set()
    assert await first == "v0"
    source.value = "v1"
    ticks.now = 2.1  # 0.6 s after it finished, but 2.1 s after its snapshot
    assert await cache.get("k", source.read) == "v1"


async def test_errors_are_shared_but_not_kept() -> None:
    ticks, source = Ticks(), Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=ticks)
    source.fail = LookupError("not yet")
    source.gate.clear()
    waiting = [asyncio.ensure_future(cache.get("k", source.read)) for _ in range(3)]
    await asyncio.sleep(0)
    source.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results) and source.calls == 1
    source.fail = None
    assert await cache.get("k", source.read) == "v0"
    assert source.calls == 2


async def test_a_cancelled_caller_does_not_cancel_the_shared_read() -> None:
    source = Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=Ticks())
    source.gate.clear()
    quitter = asyncio.ensure_future(cache.get("k", source.read))
    stayer = asyncio.ensure_future(cache.get("k", source.read))
    await asyncio.sleep(0)
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    source.gate.set()
    assert await stayer == "v0" and source.calls == 1


async def test_forget_and_ttl_zero_read_afresh() -> None:
    source = Source()
    cache: ReadCache[str, str] = ReadCache(2.0, clock=Ticks())
    assert await cache.get("k", source.read) == "v0"
    source.value = "v1"
    cache.forget("k")
    assert await cache.get("k", source.read) == "v1"
    # A read in flight when its key is forgotten may predate the change: not kept.
    source.gate.clear()
    stale = asyncio.ensure_future(cache.get("k2", source.read))
    while source.calls < 3:  # the read has started (and taken its snapshot)
        await asyncio.sleep(0)
    cache.forget("k2")
    source.value = "v2"
    source.gate.set()
    assert await stale == "v1"
    assert await cache.get("k2", source.read) == "v2"
    off: ReadCache[str, str] = ReadCache(0, clock=Ticks())
    calls = source.calls
    assert [await off.get("k", source.read) for _ in range(3)] == ["v2"] * 3
    assert source.calls == calls + 3


async def test_keeps_at_most_max_entries() -> None:
    ticks = Ticks()
    cache: ReadCache[int, int] = ReadCache(10.0, max_entries=3, clock=ticks)

    async def value_of(k: int) -> int:
        return k * 10

    for k in range(5):
        assert await cache.get(k, lambda k=k: value_of(k)) == k * 10  # type: ignore[misc]
    reads: list[int] = []

    async def counted(k: int) -> int:
        reads.append(k)
        return k * 10

    for k in range(5):
        await cache.get(k, lambda k=k: counted(k))  # type: ignore[misc]
    assert reads[:2] == [0, 1]  # the two oldest were dropped; 2, 3, 4 were still held
