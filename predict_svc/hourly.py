"""Hourly UTC series as plain numpy arrays: what the serving process uses instead of pandas.

Why: importing pandas (with pyarrow) costs a process ~35-75 MB of resident memory, and the
service only ever needs a regular hourly grid of a few float columns. :class:`HourlyFrame` is
that grid: a first hour (``numpy.datetime64[h]``, UTC) and equally long float64 columns, row
``i`` being hour ``start + i``. Training and the backtest may still hold pandas frames;
:meth:`HourlyFrame.from_frame` and :meth:`HourlyFrame.to_frame` convert without copying the
meaning (pandas is imported inside ``to_frame`` only).

Time values: scalars are timezone-aware :class:`datetime.datetime` in UTC (a ``pandas.Timestamp``
is accepted wherever a datetime is, being a subclass); arrays are ``datetime64[h]`` (naive UTC).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, TypeAlias, cast

import numpy as np

from energy import localtime

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HOUR",
    "FrameLike",
    "HourlyFrame",
    "TimesLike",
    "floor_hour",
    "hour64",
    "hours_array",
    "local_wall",
    "to_datetime",
    "utc",
]

HOUR = np.timedelta64(1, "h")
TimeLike: TypeAlias = "datetime | np.datetime64 | str"
TimesLike: TypeAlias = "pd.DatetimeIndex | np.ndarray | TimeLike | Iterable[TimeLike]"
"""Hours as :func:`hours_array` reads them."""
FrameLike: TypeAlias = "HourlyFrame | pd.DataFrame"
"""An hourly frame, or a pandas frame on a regular hourly UTC index (training, backtests)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc(value: datetime | str) -> datetime:
    """``value`` as an aware UTC datetime (naive values and strings are read as UTC)."""
    stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


def floor_hour(value: datetime) -> datetime:
    """The start of the UTC hour holding ``value`` (aware UTC)."""
    return utc(value).replace(minute=0, second=0, microsecond=0)


def hour64(value: datetime | np.datetime64 | str) -> np.datetime64:
    """The UTC hour holding ``value`` as ``datetime64[h]`` (floored)."""
    if isinstance(value, np.datetime64):
        hour: np.datetime64 = value.astype("datetime64[h]")
        return hour
    stamp = utc(value)
    hours = (stamp - _EPOCH) // timedelta(hours=1)
    return np.datetime64(int(hours), "h")


def to_datetime(value: np.datetime64) -> datetime:
    """A ``datetime64`` (naive UTC) as an aware UTC datetime."""
    micros = int(np.asarray(value).astype("datetime64[us]").astype(np.int64))
    return _EPOCH + timedelta(microseconds=micros)


def hours_array(values: TimesLike) -> np.ndarray:
    """Times (datetimes, datetime64 values, a pandas DatetimeIndex) as a ``datetime64[h]`` array."""
    if hasattr(values, "tz_convert") and hasattr(values, "asi8"):
        # A pandas DatetimeIndex, told apart without importing pandas (resident memory).
        index = cast("pd.DatetimeIndex", values)
        index = index.tz_convert("UTC") if index.tz is not None else index
        return np.asarray(index.tz_localize(None), dtype="datetime64[ns]").astype("datetime64[h]")
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[h]")
    items: Iterable[TimeLike] = [values] if isinstance(values, datetime | np.datetime64 | str) else values
    return np.array([hour64(v) for v in items], dtype="datetime64[h]")


@dataclass(frozen=True)
class HourlyFrame:
    """Float columns on the regular hourly UTC grid ``start, start + 1h, ...``."""

    start: np.datetime64  # datetime64[h], UTC
    columns: Mapping[str, np.ndarray]  # float64, all of len(self)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", np.asarray(self.start).astype("datetime64[h]")[()])
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")

    def __len__(self) -> int:
        for values in self.columns.values():
            return len(values)
        return 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    @property
    def times(self) -> np.ndarray:
        """``datetime64[h]`` of every row."""
        return self.start + np.arange(len(self)).astype("timedelta64[h]")

    @property
    def first(self) -> datetime:
        return to_datetime(self.start)

    @property
    def last(self) -> datetime:
        return to_datetime(self.start + (len(self) - 1) * HOUR)

    def pos(self, when: datetime | np.datetime64) -> int:
        """Row of the hour holding ``when`` (may be outside ``0..len - 1``)."""
        return int((hour64(when) - self.start) // HOUR)

    def value(self, name: str, when: datetime | np.datetime64) -> float:
        """The value of column ``name`` at the hour ``when``; NaN outside the grid."""
        i = self.pos(when)
        return float(self.columns[name][i]) if 0 <= i < len(self) else float("nan")

    def rows(self, lo: int, hi: int) -> HourlyFrame:
        """Rows ``lo`` to ``hi`` - 1, clipped to the grid (views, no copy)."""
        lo, hi = max(lo, 0), min(hi, len(self))
        hi = max(hi, lo)
        return HourlyFrame(self.start + lo * HOUR, {k: v[lo:hi] for k, v in self.columns.items()})

    def between(
        self, lo: datetime | np.datetime64 | None = None, hi: datetime | np.datetime64 | None = None
    ) -> HourlyFrame:
        """Hours in ``[lo, hi]`` (both inclusive, like ``DataFrame.loc``), clipped to the grid."""
        first = 0 if lo is None else self.pos(lo) + (0 if _on_hour(lo) else 1)
        last = len(self) - 1 if hi is None else self.pos(hi)
        return self.rows(first, last + 1)

    def copy(self) -> HourlyFrame:
        return HourlyFrame(self.start, {k: v.copy() for k, v in self.columns.items()})

    def to_frame(self) -> pd.DataFrame:
        """A pandas frame with a tz-aware UTC index named ``time`` (training, tests)."""
        import pandas as pd

        index = pd.DatetimeIndex(self.times.astype("datetime64[ns]"), name="time").tz_localize("UTC")
        return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in self.columns.items()}, index=index)

    @classmethod
    def from_frame(cls, frame: FrameLike) -> HourlyFrame:
        """From a pandas frame on a regular hourly UTC index (as :func:`predict_svc.market.load_market`
        returns), or an :class:`HourlyFrame` (returned as is)."""
        if isinstance(frame, HourlyFrame):
            return frame
        times = hours_array(frame.index)
        if len(times) and not (np.diff(times) == HOUR).all():
            raise ValueError("the frame's index is not a regular hourly grid")
        columns = {str(c): frame[c].to_numpy(dtype=float) for c in frame.columns}
        start = times[0] if len(times) else np.datetime64(0, "h")
        return cls(start, columns)


def _on_hour(value: datetime | np.datetime64) -> bool:
    if isinstance(value, np.datetime64):
        return bool(value == value.astype("datetime64[h]"))
    return utc(value) == floor_hour(value)


def _offset_minutes(hour: np.datetime64, zone: tzinfo) -> int:
    offset = to_datetime(hour).astimezone(zone).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def local_wall(times: np.ndarray, tz: str) -> np.ndarray:
    """Local wall-clock time (``datetime64[m]``, naive) of UTC hours ``times`` in zone ``tz``.

    Vectorised: the UTC offset is looked up (zoneinfo) at the first and last hour of each UTC
    day, and per hour only on the few days where the two differ (DST switches)."""
    hours = np.asarray(times, dtype="datetime64[h]")
    if hours.size == 0:
        return hours.astype("datetime64[m]")
    zone = localtime.zone(tz)
    days, inverse = np.unique(hours.astype("datetime64[D]"), return_inverse=True)
    first = days.astype("datetime64[h]")
    at_start = np.array([_offset_minutes(h, zone) for h in first])
    at_end = np.array([_offset_minutes(h + 23 * HOUR, zone) for h in first])
    offsets = at_start[inverse.reshape(-1)]
    for i in np.flatnonzero((at_start != at_end)[inverse.reshape(-1)]):
        offsets[i] = _offset_minutes(hours[i], zone)
    wall: np.ndarray = hours.astype("datetime64[m]") + offsets.astype("timedelta64[m]")
    return wall
