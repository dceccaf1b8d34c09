"""common.timestamps: the one set of wire time conversions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from common import timestamps
from common.errors import InvalidArgument

MS = st.integers(-(2**40), 2**40)


@given(MS)
def test_milliseconds_round_trip(ms: int) -> None:
    assert timestamps.to_ms(timestamps.from_ms(ms)) == ms
    assert timestamps.to_exact_ms(timestamps.from_ms(ms), "t") == ms


def test_to_ms_drops_finer_parts_towards_the_past_and_exact_refuses_them() -> None:
    stamp = Timestamp(seconds=-1, nanos=999_999_999)  # 1 ns before the epoch
    assert timestamps.to_ms(stamp) == -1
    with pytest.raises(InvalidArgument) as raised:
        timestamps.to_exact_ms(stamp, "hour_start")
    assert raised.value.reason == "TIMESTAMP_PRECISION" and "hour_start" in raised.value.message


def test_seconds_keep_their_fraction() -> None:
    stamp = timestamps.from_seconds(1_700_000_000.25)
    assert (stamp.seconds, stamp.nanos) == (1_700_000_000, 250_000_000)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_datetimes_round_trip_as_utc(moment: datetime) -> None:
    back = timestamps.to_datetime(timestamps.from_datetime(moment))
    assert back == moment and back.tzinfo is UTC


def test_a_zoned_datetime_is_the_same_instant_and_a_naive_one_is_refused() -> None:
    oslo = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert timestamps.from_datetime(oslo).seconds == int(datetime(2026, 7, 1, 10, tzinfo=UTC).timestamp())
    with pytest.raises(ValueError):
        timestamps.from_datetime(datetime(2026, 7, 1, 12, 0))
