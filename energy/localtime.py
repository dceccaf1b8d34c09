"""Local time of the market and of households: the zone, local days and months, DST switches.

The Nordic day-ahead market, Norwegian bills (daily standing charge, monthly capacity step) and
the forecaster's calendar features all count in local wall-clock days of :data:`LOCAL_TZ`. A
household may carry its own IANA zone; every helper takes the zone as a parameter and defaults
to :data:`LOCAL_TZ`. Local days are 23, 24 or 25 hours long (DST), so nothing here assumes 24.

Instants are either aware :class:`~datetime.datetime` values or integer milliseconds since the
UNIX epoch (how ingest_svc stores reading times).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "LOCAL_TZ",
    "day_hours",
    "from_ms",
    "local_date",
    "local_day",
    "local_hour_shares",
    "local_midnight_ms",
    "localize",
    "month_days",
    "resolve_zone",
    "shift_local",
    "zone",
]

LOCAL_TZ = "Europe/Oslo"
"""The market's time zone (Nord Pool / NO bidding zones) and the default of a household's."""


@lru_cache(maxsize=64)
def zone(name: str = LOCAL_TZ) -> ZoneInfo:
    """The :class:`ZoneInfo` of ``name`` (cached; raises for an unknown name)."""
    return ZoneInfo(name)


def resolve_zone(name: str | None, default: str = LOCAL_TZ) -> ZoneInfo:
    """A stored zone name as a zone: empty means ``default``; an unknown name falls back to UTC.

    Stored households may carry any string: a bad one must not break a bill or a summary.
    """
    try:
        return zone(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return zone("UTC")


def from_ms(ms: int) -> datetime:
    """Milliseconds since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def local_date(instant: datetime, tz: str | ZoneInfo = LOCAL_TZ) -> date:
    """The local calendar date holding the aware ``instant``."""
    if instant.tzinfo is None:
        raise ValueError("instant must be time-zone aware")
    return instant.astimezone(tz if isinstance(tz, ZoneInfo) else resolve_zone(tz)).date()


def local_day(ms: int, tz: str | None = LOCAL_TZ) -> str:
    """``YYYY-MM-DD`` of the local day holding ``ms`` (an empty zone name is :data:`LOCAL_TZ`)."""
    return local_date(from_ms(ms), resolve_zone(tz)).isoformat()


def local_midnight_ms(now_ms: int, tz: str | ZoneInfo | None = LOCAL_TZ) -> int:
    """The start (local midnight, in ms) of the local day holding ``now_ms``."""
    where = tz if isinstance(tz, ZoneInfo) else resolve_zone(tz)
    local = from_ms(now_ms).astimezone(where)
    return int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)


def day_hours(day: date, tz: str = LOCAL_TZ) -> int:
    """Hours in the local day ``day``: 24, or 23 / 25 on the DST switch days."""
    where = resolve_zone(tz)
    # Aware datetimes in one zone subtract as wall times: convert both midnights to UTC first.
    midnight = datetime(day.year, day.month, day.day, tzinfo=where).astimezone(UTC)
    after = day + timedelta(days=1)
    next_midnight = datetime(after.year, after.month, after.day, tzinfo=where).astimezone(UTC)
    return round((next_midnight - midnight).total_seconds() / 3600)


def month_days(day: date) -> int:
    """Days in the calendar month of ``day`` (28-31)."""
    first_next_month = datetime(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (first_next_month - datetime(day.year, day.month, 1)).days


def local_hour_shares(hour_start: datetime, tz: str = LOCAL_TZ) -> tuple[int, int]:
    """(hours in the local day holding ``hour_start``, days in its local month): 23/24/25 and 28-31.

    Standing charges are per local day and capacity charges per local month; an hour carries
    ``1/hours`` of its day's share.
    """
    day = local_date(hour_start, tz)
    return day_hours(day, tz), month_days(day)


def localize(wall: datetime, tz: str = LOCAL_TZ) -> datetime:
    """Naive local wall time -> aware UTC; an ambiguous time (autumn) is its first occurrence, a
    time in the spring gap moves forward to the end of the gap (the instant the clocks jump)."""
    where = zone(tz)
    first = wall.replace(tzinfo=where).astimezone(UTC)  # fold=0: the offset before a switch
    if first.astimezone(where).replace(tzinfo=None) == wall:
        return first
    # In the gap: fold=1 reads the wall time with the offset after the switch (an earlier
    # instant). The switch lies between the two readings; find it to the second.
    lo, hi = wall.replace(tzinfo=where, fold=1).astimezone(UTC), first
    after = hi.astimezone(where).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(where).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0) if hi.microsecond else hi


def shift_local(stamp: datetime, by: timedelta, tz: str = LOCAL_TZ) -> datetime:
    """The aware ``stamp`` moved by ``by`` in local wall-clock time (same local hour of the day
    across a DST switch), returned in UTC; see :func:`localize` for gaps and repeats."""
    aware = stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)
    wall = aware.astimezone(zone(tz)).replace(tzinfo=None)
    return localize(wall + by, tz)
