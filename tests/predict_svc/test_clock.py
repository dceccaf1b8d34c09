"""Replay clock: weekday and local hour alignment, DST, year offset selection."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from predict_svc.clock import RealClock, ReplayClock, _shift_local

OSLO = "Europe/Oslo"
DATA_START = pd.Timestamp("2019-01-01 00:00", tz=OSLO).tz_convert("UTC")
DATA_END = pd.Timestamp("2024-12-31 23:00", tz=OSLO).tz_convert("UTC")


def _clock(now: str) -> ReplayClock:
    stamp = pd.Timestamp(now, tz="UTC")
    return ReplayClock(DATA_START, DATA_END, now_fn=lambda: stamp)


@pytest.mark.parametrize(
    "now", ["2026-11-24 10:30", "2025-06-15 23:59", "2027-02-01 00:00", "2024-06-01 12:00"]
)
def test_same_local_hour_of_week_inside_data(now: str) -> None:
    clock = _clock(now)
    data = clock.data_now()
    real = pd.Timestamp(now, tz="UTC").floor("h")
    assert DATA_START < data <= DATA_END - pd.Timedelta(hours=48)
    local_real, local_data = real.tz_convert(OSLO), data.tz_convert(OSLO)
    assert local_data.day_of_week == local_real.day_of_week
    assert local_data.hour == local_real.hour
    assert clock.to_real(data) == real


def test_offset_is_whole_364_day_years_and_most_recent() -> None:
    clock = _clock("2026-11-24 10:30")
    assert clock.years_back(clock.now()) == 2
    assert clock.data_now() == pd.Timestamp("2024-11-26 11:00", tz=OSLO).tz_convert("UTC")


def test_dst_difference_between_years_keeps_local_time() -> None:
    # 2025-03-30 is the spring switch in 2025; 364 days back is 2024-03-31, the 2024 switch day,
    # but 2 * 364 days back is 2023-04-02 (switch was 2023-03-26). Monday 31 March 2025 08:00
    # CEST (06:00 UTC) maps to Monday 08:00 local in the data whatever the data's UTC offset.
    clock = _clock("2025-03-31 06:00")
    data = clock.data_now()
    assert data.tz_convert(OSLO).hour == 8 and data.tz_convert(OSLO).day_of_week == 0
    # The week before the 2026 switch, now is CET (UTC+1); the data week (2024-03-25 .. ) also CET
    # until 31 March. 08:00 local Monday -> 08:00 local Monday.
    clock = _clock("2026-03-23 07:00")
    data = clock.data_now()
    assert data.tz_convert(OSLO).hour == 8 and data.tz_convert(OSLO).day_of_week == 0
    # A local hour that does not exist in the data year (spring gap) moves forward, never fails:
    # Sunday 2024-03-24 02:30 is a normal hour, 364 days earlier is the 2023 switch night.
    shifted = _shift_local(pd.Timestamp("2024-03-24 02:30", tz=OSLO), -1)
    assert shifted == pd.Timestamp("2023-03-26 03:00", tz=OSLO)


def test_consecutive_hours_stay_consecutive_across_autumn_switch() -> None:
    clock = _clock("2026-10-25 00:00")
    hours = pd.date_range("2026-10-24 22:00", periods=6, freq="h", tz="UTC")
    mapped = [clock.to_data(h) for h in hours]
    steps = {b - a for a, b in itertools.pairwise(mapped)}
    assert steps <= {pd.Timedelta(hours=1), pd.Timedelta(hours=0), pd.Timedelta(hours=2)}
    assert mapped[-1] - mapped[0] >= pd.Timedelta(hours=4)


def test_short_data_replays_in_whole_weeks_and_real_clock_is_identity() -> None:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    clock = ReplayClock(
        start, start + pd.Timedelta(days=60), now_fn=lambda: pd.Timestamp("2026-11-24 10:00", tz="UTC")
    )
    data = clock.data_now()
    assert start < data < start + pd.Timedelta(days=60)
    assert (
        data.tz_convert(OSLO).day_of_week
        == pd.Timestamp("2026-11-24 10:00", tz="UTC").tz_convert(OSLO).day_of_week
    )
    fixed = pd.Timestamp("2026-11-24 10:17", tz="UTC")
    real = RealClock(now_fn=lambda: fixed)
    assert real.data_now() == fixed.floor("h") and real.to_real(fixed) == fixed
