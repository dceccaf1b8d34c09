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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "COLUMNS",
    "SERIES",
    "MarketDataError",
    "SeriesSpec",
    "available_zones",
    "file_suffix",
    "load_market",
    "read_series_csv",
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


def read_series_csv(path: Path, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """One series file as an hourly UTC frame (see module docstring for the rules).

    ``columns`` maps file columns to output names; missing file columns become NaN columns.
    The index is the hourly UTC grid from the first to the last hour present.
    """
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise MarketDataError(f"cannot read {path}: {exc}") from exc
    if "datetime" not in raw.columns:
        raise MarketDataError(f"{path} has no 'datetime' column")
    mapping = columns or {c: c for c in raw.columns if c != "datetime"}
    stamps = pd.to_datetime(raw["datetime"].str.strip(), utc=True, format="ISO8601", errors="coerce")
    data = pd.DataFrame(index=pd.DatetimeIndex(stamps, name="time"))
    for source, target in mapping.items():
        if source in raw.columns:
            # Empty strings -> NaN: a blank cell is a missing value, not zero.
            data[target] = pd.to_numeric(
                raw[source].str.strip().replace("", np.nan), errors="coerce"
            ).to_numpy()
        else:
            data[target] = np.nan
    data = data[data.index.notna()]
    data = data[~data.index.duplicated(keep="last")]
    if data.empty:
        return data.astype(float)
    # Quarter-hour rows (and any sub-hourly rows) -> hourly mean of the values present.
    hourly = data.groupby(data.index.floor("h")).mean()
    grid = pd.date_range(hourly.index.min(), hourly.index.max(), freq="h", tz="UTC", name="time")
    return hourly.reindex(grid).astype(float)


def load_market(
    data_dir: Path | str,
    zone: str,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """All series of ``zone`` in ``data_dir`` joined on one hourly UTC grid.

    The grid spans the price series (clipped to ``[start, end]`` when given, both inclusive;
    naive bounds are read as UTC). Series that are absent give all-NaN columns; a missing price
    file is an error because nothing can be forecast without it.
    """
    directory = Path(data_dir)
    if not directory.is_dir():
        raise MarketDataError(f"market data directory {directory} does not exist")
    suffix = file_suffix(zone)
    frames = []
    for spec in SERIES:
        path = directory / f"{spec.prefix}_{suffix}.csv"
        if not path.exists():
            if spec.required:
                raise MarketDataError(f"no price file {path.name} for zone {zone} in {directory}")
            continue
        frames.append(read_series_csv(path, spec.columns))
    prices = frames[0]
    if prices["price"].notna().sum() == 0:
        raise MarketDataError(f"price file for zone {zone} in {directory} holds no prices")
    frame = pd.DataFrame(index=prices.index)
    for part in frames:
        frame = frame.join(part, how="left")
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan
    frame = frame[list(COLUMNS)]
    lo = _utc(start) if start is not None else frame.index.min()
    hi = _utc(end) if end is not None else frame.index.max()
    return frame.loc[lo:hi]


def _utc(value: pd.Timestamp | str) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
