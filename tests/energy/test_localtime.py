"""Local days, months and DST switches (Europe/Oslo unless a zone is given)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from energy.localtime import (
    LOCAL_TZ,
    day_hours,
    local_day,
    local_hour_shares,
    local_midnight_ms,
    localize,
    resolve_zone,
    shift_local,
)


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_local_hour_shares_follow_oslo_dst() -> None:
    assert local_hour_shares(pd.Timestamp("2024-03-31 05:00", tz="UTC")) == (23, 31)
    assert local_hour_shares(pd.Timestamp("2024-10-27 05:00", tz="UTC")) == (25, 31)
    assert local_hour_shares(pd.Timestamp("2024-02-10 05:00", tz="UTC")) == (24, 29)
    # 23:30 UTC on 31 Jan is already 1 February in Oslo.
    assert local_hour_shares(pd.Timestamp("2024-01-31 23:00", tz="UTC")) == (24, 29)
    with pytest.raises(ValueError):
        local_hour_shares(datetime(2024, 1, 1))  # naive: ambiguous, refused


def test_day_hours_per_zone() -> None:
    assert [day_hours(date(2024, 3, d)) for d in (30, 31)] == [24, 23]
    assert day_hours(date(2024, 3, 31), "UTC") == 24
    assert day_hours(date(2024, 3, 10), "America/New_York") == 23


def test_local_day_and_midnight() -> None:
    # 23:30 UTC on 31 December 2024 is 00:30 on 1 January in Oslo, still 31 December in UTC.
    late = _ms("2024-12-31T23:30:00+00:00")
    assert local_day(late) == "2025-01-01"
    assert local_day(late, "UTC") == "2024-12-31"
    assert local_midnight_ms(late) == _ms("2025-01-01T00:00:00+01:00")
    assert local_midnight_ms(late, "UTC") == _ms("2024-12-31T00:00:00+00:00")
    # The 25-hour day: midnight is CEST (+02:00), the day ends at CET midnight.
    assert local_midnight_ms(_ms("2024-10-27T22:30:00+00:00")) == _ms("2024-10-27T00:00:00+02:00")


def test_resolve_zone_defaults_and_falls_back_to_utc() -> None:
    assert str(resolve_zone("")) == LOCAL_TZ
    assert str(resolve_zone(None, default="UTC")) == "UTC"
    assert str(resolve_zone("Not/AZone")) == "UTC"
    assert str(resolve_zone("../etc")) == "UTC"
    assert local_day(_ms("2024-12-31T23:30:00+00:00"), "Not/AZone") == "2024-12-31"


def test_localize_gap_and_repeat() -> None:
    # Spring gap: 02:30 on 31 March 2024 does not exist in Oslo; it moves to the jump (01:00 UTC).
    assert localize(datetime(2024, 3, 31, 2, 30)) == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)
    # Autumn repeat: 02:30 on 27 October 2024 happens twice; the first is CEST (00:30 UTC).
    assert localize(datetime(2024, 10, 27, 2, 30)) == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    assert localize(datetime(2024, 6, 1, 12, 0)) == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


def test_shift_local_keeps_the_wall_clock_hour() -> None:
    # 08:00 CET on 30 March 2024 plus one day is 08:00 CEST: 23 hours later in UTC.
    start = datetime(2024, 3, 30, 7, 0, tzinfo=UTC)
    moved = shift_local(start, timedelta(days=1))
    assert moved - start == timedelta(hours=23)
    assert moved.astimezone(resolve_zone(LOCAL_TZ)).hour == 8
