"""Live market clock: real time, or a replay of historical data aligned by hour of the week.

The system runs in real time. Without historical data the market *is* now (synthetic market).
With historical data configured, :class:`ReplayClock` maps "now" onto the data: it subtracts a
whole number of 364-day "years" (52 weeks, so the weekday is preserved) and reads the result in
local wall-clock time (Europe/Oslo), so Monday 08:00 local now maps to a Monday 08:00 local in
the data, also when the DST switch dates differ between the two years.

Data spanning less than a year is replayed in whole weeks instead (same alignment argument).
The offset is the smallest number of 364-day years that puts ``now`` at least ``lead`` before
the end of the data (the next 24 h of day-ahead forecasts must exist). Each hour's price becomes
"known" when the data clock passes it, so live forecasts can be scored against actual prices.

Edge cases of the local-time mapping: a local hour that does not exist in the data year (spring
forward) maps to the next valid hour; an ambiguous one (fall back) maps to its first occurrence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

__all__ = ["YEAR_SHIFT", "Clock", "RealClock", "ReplayClock", "system_now"]

LOCAL_TZ = "Europe/Oslo"
YEAR_SHIFT = pd.Timedelta(days=364)


def system_now() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(UTC))


class Clock:
    """Maps real time to market-data time."""

    def now(self) -> pd.Timestamp:  # pragma: no cover - interface
        raise NotImplementedError

    def to_data(self, real: pd.Timestamp) -> pd.Timestamp:  # pragma: no cover - interface
        raise NotImplementedError

    def to_real(self, data: pd.Timestamp) -> pd.Timestamp:  # pragma: no cover - interface
        raise NotImplementedError

    def data_now(self) -> pd.Timestamp:
        """The current hour in data time (UTC, floored)."""
        return self.to_data(self.now()).floor("h")


@dataclass(frozen=True)
class RealClock(Clock):
    """No replay: data time is real time (synthetic market)."""

    now_fn: Callable[[], pd.Timestamp] = field(default=system_now)

    def now(self) -> pd.Timestamp:
        return pd.Timestamp(self.now_fn()).tz_convert("UTC")

    def to_data(self, real: pd.Timestamp) -> pd.Timestamp:
        return pd.Timestamp(real).tz_convert("UTC")

    def to_real(self, data: pd.Timestamp) -> pd.Timestamp:
        return pd.Timestamp(data).tz_convert("UTC")


def _shift_local(stamp: pd.Timestamp, years: int, step: pd.Timedelta = YEAR_SHIFT) -> pd.Timestamp:
    """``stamp`` moved by ``years`` * ``step`` in local wall-clock time, returned in UTC."""
    local = pd.Timestamp(stamp).tz_convert(LOCAL_TZ)
    wall = local.tz_localize(None) + years * step
    shifted = wall.tz_localize(LOCAL_TZ, nonexistent="shift_forward", ambiguous=True)
    return shifted.tz_convert("UTC")


@dataclass(frozen=True)
class ReplayClock(Clock):
    """Replays ``[data_start, data_end]`` at real speed, aligned by local hour of the week."""

    data_start: pd.Timestamp
    data_end: pd.Timestamp
    now_fn: Callable[[], pd.Timestamp] = field(default=system_now)
    lead: pd.Timedelta = field(default=pd.Timedelta(hours=48))

    def years_back(self, real: pd.Timestamp) -> int:
        """How many 364-day years ``real`` is moved back (negative: forward, data in the future)."""
        real = pd.Timestamp(real).tz_convert("UTC")
        latest = pd.Timestamp(self.data_end).tz_convert("UTC") - self.lead
        earliest = pd.Timestamp(self.data_start).tz_convert("UTC") + pd.Timedelta(hours=24 * 8)
        if latest <= earliest:
            raise ValueError("replay data must span more than nine days")
        years = 0
        while _shift_local(real, -years, self.step) > latest:
            years += 1
        while _shift_local(real, -years, self.step) < earliest:
            years -= 1
        return years

    @property
    def step(self) -> pd.Timedelta:
        """364 days when the data spans over a year, else whole weeks (still weekday-aligned)."""
        span = pd.Timestamp(self.data_end) - pd.Timestamp(self.data_start)
        return YEAR_SHIFT if span > YEAR_SHIFT + pd.Timedelta(days=10) + self.lead else pd.Timedelta(days=7)

    def now(self) -> pd.Timestamp:
        return pd.Timestamp(self.now_fn()).tz_convert("UTC")

    def to_data(self, real: pd.Timestamp) -> pd.Timestamp:
        # The offset is fixed by the current real time so that consecutive hours stay consecutive.
        return _shift_local(real, -self.years_back(self.now()), self.step)

    def to_real(self, data: pd.Timestamp) -> pd.Timestamp:
        return _shift_local(data, self.years_back(self.now()), self.step)
