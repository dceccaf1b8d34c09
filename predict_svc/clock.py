"""Live market clock: real time, or a replay of historical data aligned by hour of the week.

The system runs in real time. Without historical data the market *is* now (synthetic market).
With historical data configured, :class:`ReplayClock` maps "now" onto the data: it subtracts a
whole number of 364-day "years" (52 weeks, so the weekday is preserved) and reads the result in
local wall-clock time (:data:`energy.localtime.LOCAL_TZ`), so Monday 08:00 local now maps to a Monday 08:00 local in
the data, also when the DST switch dates differ between the two years.

Data spanning less than a year is replayed in whole weeks instead (same alignment argument).
The offset is the smallest number of 364-day years that puts ``now`` at least ``lead`` before
the end of the data (the forecasts' exogenous inputs must exist: the server passes the reach of
its week-ahead path). Each hour's price becomes
"known" when the data clock passes it, so live forecasts can be scored against actual prices.

Edge cases of the local-time mapping: a local hour that does not exist in the data year (spring
forward) maps to the next valid hour; an ambiguous one (fall back) maps to its first occurrence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from energy.localtime import shift_local
from predict_svc.hourly import floor_hour, utc

__all__ = ["YEAR_SHIFT", "Clock", "RealClock", "ReplayClock", "system_now"]

YEAR_SHIFT = timedelta(days=364)


def system_now() -> datetime:
    return datetime.now(UTC)


class Clock:
    """Maps real time to market-data time (aware UTC datetimes)."""

    def now(self) -> datetime:  # pragma: no cover - interface
        raise NotImplementedError

    def to_data(self, real: datetime) -> datetime:  # pragma: no cover - interface
        raise NotImplementedError

    def to_real(self, data: datetime) -> datetime:  # pragma: no cover - interface
        raise NotImplementedError

    def data_now(self) -> datetime:
        """The current hour in data time (UTC, floored)."""
        return floor_hour(self.to_data(self.now()))


@dataclass(frozen=True)
class RealClock(Clock):
    """No replay: data time is real time (synthetic market)."""

    now_fn: Callable[[], datetime] = field(default=system_now)

    def now(self) -> datetime:
        return utc(self.now_fn())

    def to_data(self, real: datetime) -> datetime:
        return utc(real)

    def to_real(self, data: datetime) -> datetime:
        return utc(data)


def _shift_local(stamp: datetime, years: int, step: timedelta = YEAR_SHIFT) -> datetime:
    """``stamp`` moved by ``years`` * ``step`` in local wall-clock time, returned in UTC."""
    return shift_local(utc(stamp), years * step)


@dataclass(frozen=True)
class ReplayClock(Clock):
    """Replays ``[data_start, data_end]`` at real speed, aligned by local hour of the week."""

    data_start: datetime
    data_end: datetime
    now_fn: Callable[[], datetime] = field(default=system_now)
    lead: timedelta = field(default=timedelta(hours=48))

    def years_back(self, real: datetime) -> int:
        """How many 364-day years ``real`` is moved back (negative: forward, data in the future)."""
        real = utc(real)
        latest = utc(self.data_end) - self.lead
        earliest = utc(self.data_start) + timedelta(hours=24 * 8)
        if latest <= earliest:
            raise ValueError("replay data must span more than nine days")
        years = 0
        while _shift_local(real, -years, self.step) > latest:
            years += 1
        while _shift_local(real, -years, self.step) < earliest:
            years -= 1
        return years

    @property
    def step(self) -> timedelta:
        """364 days when the data spans over a year, else whole weeks (still weekday-aligned)."""
        span = utc(self.data_end) - utc(self.data_start)
        return YEAR_SHIFT if span > YEAR_SHIFT + timedelta(days=10) + self.lead else timedelta(days=7)

    def now(self) -> datetime:
        return utc(self.now_fn())

    def to_data(self, real: datetime) -> datetime:
        # The offset is fixed by the current real time so that consecutive hours stay consecutive.
        return _shift_local(real, -self.years_back(self.now()), self.step)

    def to_real(self, data: datetime) -> datetime:
        return _shift_local(data, self.years_back(self.now()), self.step)
