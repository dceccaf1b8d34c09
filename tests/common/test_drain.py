"""common.drain: waits that end when the replica starts shutting down."""

from __future__ import annotations

import asyncio

import pytest

from common.drain import Drain


async def test_sleep_runs_out_unless_draining_starts() -> None:
    drain = Drain()
    assert await drain.sleep(0.01) is False
    sleeper = asyncio.ensure_future(drain.sleep(3600))
    await asyncio.sleep(0)
    await drain.close()
    assert await asyncio.wait_for(sleeper, 30) is True  # woken, not an hour later (a cap)
    assert drain.draining and await drain.sleep(3600) is True  # at once once draining


async def test_until_returns_what_came_first_and_cancels_the_other() -> None:
    drain = Drain()
    assert await drain.until(asyncio.sleep(0)) is False
    never = asyncio.Event()
    waiter = asyncio.ensure_future(never.wait())
    pending = asyncio.ensure_future(drain.until(waiter))
    await asyncio.sleep(0)
    await drain.close()
    assert await asyncio.wait_for(pending, 30) is True
    await asyncio.sleep(0)
    assert waiter.cancelled()


async def test_an_error_of_the_waiter_propagates() -> None:
    async def broken() -> None:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError, match="database gone"):
        await Drain().until(broken())
