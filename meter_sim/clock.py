"""Simulated clock: wall time, optionally started in the past and/or sped up."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["SimClock", "parse_start"]


def parse_start(text: str) -> float | None:
    """ISO 8601 -> UNIX seconds (naive means UTC); empty -> None (start now)."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class SimClock:
    """``now() = start + elapsed_wall * speedup``.

    A meter cannot measure the future, so unless ``allow_future`` the clock never runs ahead of the
    wall clock: started in the past with a speed-up it backfills history quickly, then carries on
    in real time.
    """

    def __init__(
        self,
        start: float | None = None,
        speedup: float = 1.0,
        allow_future: bool = False,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._t0 = monotonic()
        self.start = wall() if start is None else start
        self.speedup = speedup
        self.allow_future = allow_future

    def now(self) -> float:
        simulated = self.start + (self._monotonic() - self._t0) * self.speedup
        return simulated if self.allow_future else min(simulated, self._wall())

    def wall_seconds_until(self, sim_ts: float) -> float:
        """Wall-clock seconds until the simulated clock reaches ``sim_ts`` (0 if already past)."""
        ahead = sim_ts - self.now()
        if ahead <= 0:
            return 0.0
        speed = self.speedup if self.allow_future or self.now() < self._wall() - 1e-3 else 1.0
        return ahead / speed
