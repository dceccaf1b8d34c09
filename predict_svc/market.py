"""Loader for market data in the ENTSO-E CSV layout.

One CSV per series and bidding zone (``day_ahead_prices_NO_1.csv`` ...), a ``datetime`` column
carrying the local UTC offset, then value columns. :func:`load_market` turns a directory into one
hourly frame indexed in UTC with canonical column names:

========================  =========================================================
``price``                 day-ahead price, EUR/MWh (may be negative)
``load_forecast``         day-ahead total load forecast, MW
``actual_load``           realised load, MW (known only after the hour)
``solar``                 day-ahead solar generation forecast, MW
``wind_onshore``          day-ahead onshore wind forecast, MW
``wind_offshore``         day-ahead offshore wind forecast, MW
========================  =========================================================

What the loader copes with (all occur in the real exports):

* mixed ``+01:00`` / ``+02:00`` offsets; DST days of 23 and 25 local hours (UTC has neither);
* duplicated timestamps: the last row wins (a later row in an export is a revision);
* rows at 15-minute resolution (markets clear in quarter hours since 2025-10-01), alone or mixed
  with hourly rows: aggregated to the hourly mean of the quarters present;
* empty cells and empty columns are missing (NaN), never zero;
* hours absent from a file (e.g. around a DST switch) become NaN rows of the regular UTC grid,
  so ``frame.index`` is always gap-free hourly UTC and downstream code may shift by rows.

The parser uses the standard library and numpy only (:func:`load_market_hourly`, what the
service loads): pandas is not imported by the serving process (resident memory). Training and
the backtest get the same values as a pandas frame from :func:`load_market`. The hourly means
add the quarters with Kahan compensation in row order, as pandas' groupby mean does, so the
values equal the former pandas parser's bit for bit (tests/predict_svc/test_market.py).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from predict_svc.hourly import HourlyFrame, utc

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COLUMNS",
    "SERIES",
    "MarketDataError",
    "SeriesSpec",
    "available_zones",
    "file_suffix",
    "load_market",
    "load_market_hourly",
    "read_series_csv",
    "read_series_hourly",
]


class MarketDataError(ValueError):
    """Market data cannot be found or read."""


@dataclass(frozen=True)
class SeriesSpec:
    """One ENTSO-E series: its file name prefix and how its columns map to canonical names."""

    prefix: str
    columns: dict[str, str]
    required: bool = False


SERIES: tuple[SeriesSpec, ...] = (
    SeriesSpec("day_ahead_prices", {"price_eur_mwh": "price"}, required=True),
    SeriesSpec("load_forecast", {"load_forecast_mw": "load_forecast"}),
    SeriesSpec("actual_load", {"load_mw": "actual_load"}),
    SeriesSpec(
        "wind_solar_forecast",
        {"Solar": "solar", "Wind Onshore": "wind_onshore", "Wind Offshore": "wind_offshore"},
    ),
)
COLUMNS: tuple[str, ...] = tuple(c for spec in SERIES for c in spec.columns.values())

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_HOUR_US = 3_600_000_000
_ZONE_RE = re.compile(r"^([A-Z]{2})_?(\d+)$")


def file_suffix(zone: str) -> str:
    """The file-name suffix of a zone: ``NO1`` -> ``NO_1``; other codes (``DE_LU``) unchanged."""
    match = _ZONE_RE.match(zone.strip().upper())
    if match:
        return f"{match.group(1)}_{match.group(2)}"
    return zone.strip().upper()


def available_zones(data_dir: Path) -> list[str]:
    """Zones with a price file in ``data_dir`` (``NO_1`` files are reported as ``NO1``)."""
    zones = []
    for path in sorted(Path(data_dir).glob("day_ahead_prices_*.csv")):
        suffix = path.stem.removeprefix("day_ahead_prices_")
        match = _ZONE_RE.match(suffix)
        zones.append(f"{match.group(1)}{match.group(2)}" if match else suffix)
    return zones


def _stamp_us(text: str) -> int | None:
    """Microseconds since the epoch (UTC; naive stamps are UTC), None when unreadable."""
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return (stamp - _EPOCH) // _US


def _number(text: str) -> float:
    """A cell as a float; blank or unreadable cells are missing (NaN), never zero."""
    cell = text.strip()
    if not cell or "_" in cell:
        return math.nan
    try:
        return float(cell)
    except ValueError:
        return math.nan


def _column(rows: list[list[str]], at: int) -> np.ndarray:
    """Column ``at`` of ``rows`` as floats (NaN where blank, unreadable or absent)."""
    if at < 0:
        return np.full(len(rows), math.nan)
    cells = [row[at] if at < len(row) else "" for row in rows]
    try:  # fast path: every cell a plain number or blank
        return np.array([c if c.strip() else "nan" for c in cells]).astype(np.float64)
    except ValueError:
        return np.array([_number(c) for c in cells], dtype=np.float64)


def _kahan_mean(values: np.ndarray) -> float:
    """Mean of the non-NaN ``values`` summed in order with Kahan compensation (pandas' groupby
    mean), NaN when there are none."""
    total = compensation = 0.0
    count = 0
    for value in values.tolist():
        if value != value:
            continue
        y = value - compensation
        t = total + y
        compensation = t - total - y
        if compensation != compensation:
            compensation = 0.0
        total = t
        count += 1
    return total / count if count else math.nan


def read_series_hourly(path: Path, columns: dict[str, str] | None = None) -> HourlyFrame:
    """One series file as hourly UTC columns (see module docstring for the rules).

    ``columns`` maps file columns to output names; missing file columns become NaN columns.
    The grid runs from the first to the last hour present.
    """
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MarketDataError(f"cannot read {path}: {exc}") from exc
    if not rows:
        raise MarketDataError(f"cannot read {path}: no columns to parse from file")
    header = rows[0]
    if "datetime" not in header:
        raise MarketDataError(f"{path} has no 'datetime' column")
    mapping = columns or {c: c for c in header if c != "datetime"}
    names = list(mapping.values())
    at = header.index("datetime")
    sources = [header.index(s) if s in header else -1 for s in mapping]
    # Last row of each timestamp wins, placed where that last row is (pandas' keep="last").
    latest: dict[int, list[str]] = {}
    for row in rows[1:]:
        key = _stamp_us(row[at]) if len(row) > at else None
        if key is None:
            continue
        latest.pop(key, None)
        latest[key] = row
    if not latest:
        return HourlyFrame(np.datetime64(0, "h"), {n: np.zeros(0) for n in names})
    stamps = np.fromiter(latest, dtype=np.int64, count=len(latest))
    kept = list(latest.values())
    values = np.column_stack([_column(kept, c) for c in sources]) if names else np.zeros((len(kept), 0))
    hours = stamps // _HOUR_US
    first = int(hours.min())
    out = np.full((int(hours.max()) - first + 1, len(names)), np.nan)
    unique, inverse, counts = np.unique(hours, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    single = counts[inverse] == 1
    out[hours[single] - first] = values[single]  # one row per hour: the mean is the value
    for hour in unique[counts > 1].tolist():  # quarter-hour rows: hourly mean, in row order
        group = values[hours == hour]
        out[hour - first] = [_kahan_mean(group[:, j]) for j in range(len(names))]
    return HourlyFrame(np.datetime64(first, "h"), {n: out[:, j].copy() for j, n in enumerate(names)})


def read_series_csv(path: Path, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """:func:`read_series_hourly` as a pandas frame indexed by UTC hour (name ``time``)."""
    return read_series_hourly(path, columns).to_frame()


def load_market_hourly(
    data_dir: Path | str,
    zone: str,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    through_forecasts: bool = False,
) -> HourlyFrame:
    """All series of ``zone`` in ``data_dir`` joined on one hourly UTC grid (columns ``COLUMNS``).

    The grid spans the price series (clipped to ``[start, end]`` when given, both inclusive;
    naive bounds are read as UTC); with ``through_forecasts`` it runs on to the end of the
    longest series (a live market: load and wind/solar forecasts are out before the prices of
    their day, which are then NaN). Series that are absent give all-NaN columns; a missing
    price file is an error because nothing can be forecast without it.
    """
    directory = Path(data_dir)
    if not directory.is_dir():
        raise MarketDataError(f"market data directory {directory} does not exist")
    suffix = file_suffix(zone)
    parts = []
    for spec in SERIES:
        path = directory / f"{spec.prefix}_{suffix}.csv"
        if not path.exists():
            if spec.required:
                raise MarketDataError(f"no price file {path.name} for zone {zone} in {directory}")
            continue
        parts.append(read_series_hourly(path, spec.columns))
    prices = parts[0]
    if np.isnan(prices["price"]).all():
        raise MarketDataError(f"price file for zone {zone} in {directory} holds no prices")
    n = len(prices)
    if through_forecasts:
        n = max([n, *(int((p.start - prices.start).astype(np.int64)) + len(p) for p in parts)])
    columns = {c: np.full(n, np.nan) for c in COLUMNS}
    for part in parts:  # left join onto the price grid
        offset = int((part.start - prices.start).astype(np.int64))
        lo, hi = max(0, offset), min(n, offset + len(part))
        for name, values in part.columns.items():
            if hi > lo:
                columns[name][lo:hi] = values[lo - offset : hi - offset]
    frame = HourlyFrame(prices.start, columns)
    lo_bound = utc(start) if start is not None else None
    hi_bound = utc(end) if end is not None else None
    return frame.between(lo_bound, hi_bound)


def load_market(
    data_dir: Path | str,
    zone: str,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> pd.DataFrame:
    """:func:`load_market_hourly` as a pandas frame (training, backtest, calibration)."""
    return load_market_hourly(data_dir, zone, start, end).to_frame()
