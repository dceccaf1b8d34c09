"""Quarter-hour price series: the market side's resolution.

Since delivery day 2025-10-01 the day-ahead market clears in 15-minute periods. A
:class:`QuarterSeries` is a regular 15-minute UTC grid of prices plus, per quarter, whether its
value came from an hourly value (``hourly``):

* data before 2025-10-01 (and every hourly row of an export) is hourly: each hour becomes four
  equal quarters flagged ``hourly`` (the hourly market time unit priced every quarter the same);
* quarter-hour rows keep their own values (a quarter absent from an export is NaN);
* hourly views are aggregates of quarters (:meth:`QuarterSeries.hourly_mean`: the mean of an
  hour's four quarters), never the other way round.

The shared ENTSO-E files end in 2024, so quarter-hour days are exercised by tests on days built
for the purpose (real hours expanded, and hand-made days with distinct quarter prices).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from predict_svc.hourly import HourlyFrame, utc

__all__ = ["QUARTER64", "QuarterSeries", "floor_quarter", "quarter64", "read_price_quarters"]

QUARTER64 = np.timedelta64(15, "m")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def quarter64(value: datetime | np.datetime64) -> np.datetime64:
    """The quarter hour holding ``value`` as ``datetime64[m]`` (floored, UTC)."""
    if isinstance(value, np.datetime64):
        minutes = int(value.astype("datetime64[m]").astype(np.int64))
    else:
        minutes = int((utc(value) - _EPOCH) // timedelta(minutes=1))
    return np.datetime64(minutes - minutes % 15, "m")


def floor_quarter(value: datetime) -> datetime:
    stamp = utc(value)
    return stamp.replace(minute=stamp.minute - stamp.minute % 15, second=0, microsecond=0)


@dataclass(frozen=True)
class QuarterSeries:
    """Prices on the regular 15-minute UTC grid ``start, start + 15 min, ...``."""

    start: np.datetime64  # datetime64[m], a multiple of 15 minutes
    values: np.ndarray  # float64, EUR/MWh, NaN = not present
    hourly: np.ndarray  # bool: the quarter's value is its hour's (hourly market time unit)

    def __post_init__(self) -> None:
        start = np.asarray(self.start).astype("datetime64[m]")[()]
        if int(start.astype(np.int64)) % 15:
            raise ValueError("a quarter series starts on a quarter hour")
        object.__setattr__(self, "start", start)
        if len(self.values) != len(self.hourly):
            raise ValueError("values and hourly flags differ in length")

    def __len__(self) -> int:
        return len(self.values)

    @property
    def end(self) -> np.datetime64:
        """The end of the last quarter (exclusive)."""
        end: np.datetime64 = self.start + len(self) * QUARTER64
        return end

    def pos(self, when: datetime | np.datetime64) -> int:
        return int((quarter64(when) - self.start) // QUARTER64)

    def window(self, lo: datetime, hi: datetime) -> tuple[np.ndarray, np.ndarray]:
        """(values, hourly flags) of the quarters in ``[lo, hi)``, NaN / False outside the grid."""
        a, b = self.pos(lo), self.pos(hi)
        n = max(b - a, 0)
        values = np.full(n, np.nan)
        flags = np.zeros(n, dtype=bool)
        s, e = max(a, 0), min(b, len(self))
        if e > s:
            values[s - a : e - a] = self.values[s:e]
            flags[s - a : e - a] = self.hourly[s:e]
        return values, flags

    def complete(self, lo: datetime, hi: datetime) -> bool:
        """True when every quarter of ``[lo, hi)`` has a price."""
        values, _ = self.window(lo, hi)
        return bool(len(values)) and bool(np.isfinite(values).all())

    @classmethod
    def from_hourly(cls, frame: HourlyFrame, column: str = "price") -> QuarterSeries:
        """Each hour of ``frame`` as four equal quarters (flagged ``hourly``)."""
        values = np.repeat(np.asarray(frame[column], dtype=float), 4)
        return cls(frame.start.astype("datetime64[m]"), values, np.ones(len(values), dtype=bool))

    def hourly_mean(self) -> HourlyFrame:
        """The hourly view: the mean of each hour's quarters (NaN when one is missing)."""
        offset = int(self.start.astype(np.int64)) % 60 // 15
        pad_front = offset
        values = np.concatenate([np.full(pad_front, np.nan), self.values])
        pad_back = (-len(values)) % 4
        values = np.concatenate([values, np.full(pad_back, np.nan)])
        hours = values.reshape(-1, 4).mean(axis=1)
        start = (self.start - pad_front * QUARTER64).astype("datetime64[h]")
        return HourlyFrame(start, {"price": hours})


def read_price_quarters(path: Path) -> QuarterSeries:
    """A price file (ENTSO-E layout: ``datetime`` with offset, ``price_eur_mwh``) as quarters.

    A timestamp on the hour with no other row in that hour is an hourly price (four equal
    quarters); rows at :15 / :30 / :45, or several rows in one hour, are quarter prices. The
    last row of a duplicated timestamp wins (a later row is a revision).
    """
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    at, col = header.index("datetime"), header.index("price_eur_mwh")
    latest: dict[int, float] = {}
    for row in rows[1:]:
        if len(row) <= max(at, col):
            continue
        try:
            stamp = datetime.fromisoformat(row[at].strip())
        except ValueError:
            continue
        stamp = utc(stamp)
        minutes = int((stamp - _EPOCH) // timedelta(minutes=1))
        cell = row[col].strip()
        try:
            value = float(cell) if cell else float("nan")
        except ValueError:
            value = float("nan")
        latest.pop(minutes, None)
        latest[minutes] = value
    if not latest:
        return QuarterSeries(np.datetime64(0, "m"), np.zeros(0), np.zeros(0, dtype=bool))
    keys = np.array(sorted(latest), dtype=np.int64)
    first = int(keys.min()) // 60 * 60
    last = int(keys.max()) // 60 * 60 + 60
    n = (last - first) // 15
    values = np.full(n, np.nan)
    hourly = np.zeros(n, dtype=bool)
    per_hour: dict[int, list[int]] = {}
    for key in keys.tolist():
        per_hour.setdefault(key // 60, []).append(key)
    for hour, keys_in in per_hour.items():
        base = (hour * 60 - first) // 15
        if len(keys_in) == 1 and keys_in[0] % 60 == 0:
            values[base : base + 4] = latest[keys_in[0]]
            hourly[base : base + 4] = True
            continue
        for key in keys_in:
            values[base + (key % 60) // 15] = latest[key]
    return QuarterSeries(np.datetime64(first, "m"), values, hourly)
