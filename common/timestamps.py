"""Conversions between ``google.protobuf.Timestamp`` and the service's own time values.

Services keep time as UNIX milliseconds (ingest, ledger), UNIX seconds as a float (auth_svc) or
timezone-aware datetimes (predict_svc); these are the only conversions to and from the wire.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from common.errors import InvalidArgument
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["from_datetime", "from_ms", "from_seconds", "to_datetime", "to_exact_ms", "to_ms"]


def from_ms(ms: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromMilliseconds(ms)
    return stamp


def to_ms(stamp: Timestamp) -> int:
    """Whole milliseconds, rounding towards the past (finer parts are dropped)."""
    return stamp.seconds * 1000 + stamp.nanos // 1_000_000


def to_exact_ms(stamp: Timestamp, field: str) -> int:
    """Milliseconds, refusing a finer value (so a ms-based encoding stays one-to-one with the wire)."""
    if stamp.nanos % 1_000_000:
        raise InvalidArgument(reasons.TIMESTAMP_PRECISION, f"{field} must be a whole number of milliseconds")
    return to_ms(stamp)


def from_seconds(seconds: float) -> Timestamp:
    """UNIX seconds, to the microsecond (a float of today's epoch seconds holds no finer digit)."""
    stamp = Timestamp()
    stamp.FromMicroseconds(round(seconds * 1_000_000))
    return stamp


def from_datetime(moment: datetime) -> Timestamp:
    """An aware datetime; a naive one is refused (its zone would be a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: give it a time zone")
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def to_datetime(stamp: Timestamp) -> datetime:
    """The instant as an aware UTC datetime (microsecond precision)."""
    return stamp.ToDatetime(tzinfo=UTC)
