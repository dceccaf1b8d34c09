"""Weather providers: hourly temperature, wind, cloud cover and solar radiation for a zone.

:class:`WeatherProvider` is the interface. :class:`OpenMeteoClient` reads live forecasts from the
Open-Meteo API (no key needed); its HTTP transport is injected (a callable from URL and query
parameters to parsed JSON), so tests replay recorded responses and never touch the network.
:class:`SyntheticWeather` is the offline default: a deterministic seasonal and diurnal climate for
the zone's reference city plus seeded AR(1) weather noise.

Every provider returns an :class:`~predict_svc.hourly.HourlyFrame` (hourly UTC grid, numpy
columns; no pandas in the serving process) with the columns of :data:`WEATHER_COLUMNS`
(deg C, m/s, %, W/m2).
"""

from __future__ import annotations

import json
import math
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from predict_svc.hourly import HOUR, HourlyFrame, floor_hour, hour64, utc

__all__ = [
    "WEATHER_COLUMNS",
    "ZONE_LOCATIONS",
    "OpenMeteoClient",
    "SyntheticWeather",
    "WeatherError",
    "WeatherProvider",
    "urllib_transport",
]

WEATHER_COLUMNS = ("temperature_c", "wind_speed_ms", "cloud_cover_pct", "radiation_wm2")
# Reference city per Norwegian bidding zone (lat, lon): Oslo, Kristiansand, Trondheim, Tromso, Bergen.
ZONE_LOCATIONS: dict[str, tuple[float, float]] = {
    "NO1": (59.91, 10.75),
    "NO2": (58.15, 8.00),
    "NO3": (63.43, 10.40),
    "NO4": (69.65, 18.96),
    "NO5": (60.39, 5.32),
}
_OPEN_METEO_VARS = {
    "temperature_2m": "temperature_c",
    "wind_speed_10m": "wind_speed_ms",
    "cloud_cover": "cloud_cover_pct",
    "shortwave_radiation": "radiation_wm2",
}

Transport = Callable[[str, Mapping[str, str]], Any]


class WeatherError(RuntimeError):
    """A weather provider could not deliver a forecast."""


class WeatherProvider(Protocol):
    def hourly(self, zone: str, start: datetime, end: datetime) -> HourlyFrame:
        """Hourly weather for ``zone`` from ``start`` to ``end`` (UTC, inclusive)."""
        ...


def _location(zone: str) -> tuple[float, float]:
    try:
        return ZONE_LOCATIONS[zone.upper()]
    except KeyError:
        raise WeatherError(f"no reference location for zone {zone}") from None


def urllib_transport(timeout: float = 10.0) -> Transport:
    """The real transport: HTTPS GET with the standard library, JSON decoded."""

    def get(url: str, params: Mapping[str, str]) -> Any:
        full = f"{url}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(full, timeout=timeout) as response:
            return json.loads(response.read().decode())

    return get


@dataclass(frozen=True)
class OpenMeteoClient:
    """Live forecasts from https://api.open-meteo.com/v1/forecast (times requested in UTC)."""

    transport: Transport = field(default_factory=urllib_transport)
    base_url: str = "https://api.open-meteo.com/v1/forecast"

    def hourly(self, zone: str, start: datetime, end: datetime) -> HourlyFrame:
        lat, lon = _location(zone)
        start_utc = utc(start)
        end_utc = utc(end)
        params = {
            "latitude": f"{lat:.4f}",
            "longitude": f"{lon:.4f}",
            "hourly": ",".join(_OPEN_METEO_VARS),
            "wind_speed_unit": "ms",
            "timezone": "UTC",
            "start_date": start_utc.strftime("%Y-%m-%d"),
            "end_date": end_utc.strftime("%Y-%m-%d"),
        }
        try:
            doc = self.transport(self.base_url, params)
        except (OSError, ValueError) as exc:
            raise WeatherError(f"open-meteo request failed: {exc}") from exc
        return self.parse(doc).between(floor_hour(start_utc), end_utc)

    @staticmethod
    def parse(doc: Mapping[str, Any]) -> HourlyFrame:
        """An Open-Meteo JSON response as hourly weather (missing values and hours stay NaN)."""
        if doc.get("error"):
            raise WeatherError(f"open-meteo error: {doc.get('reason', 'unknown')}")
        try:
            hourly = doc["hourly"]
            local = np.array(hourly["time"], dtype="datetime64[s]")
        except (KeyError, TypeError, ValueError) as exc:
            raise WeatherError(f"unexpected open-meteo response: {exc}") from exc
        offset = int(doc.get("utc_offset_seconds", 0))
        hours = (local - np.timedelta64(offset, "s")).astype("datetime64[h]")
        if not len(hours):
            return HourlyFrame(np.datetime64(0, "h"), {c: np.zeros(0) for c in WEATHER_COLUMNS})
        first = hours.min()
        rows = ((hours - first) // HOUR).astype(np.int64)
        size = int(rows.max()) + 1
        columns = {}
        for source, target in _OPEN_METEO_VARS.items():
            values = hourly.get(source)
            column = np.full(size, np.nan)
            if values is not None:
                # Later entries of a repeated hour overwrite earlier ones (the last one wins).
                column[rows] = np.array([np.nan if v is None else float(v) for v in values])
            columns[target] = column
        return HourlyFrame(first, columns)


@dataclass(frozen=True)
class SyntheticWeather:
    """Offline default: climatology of the zone's city plus reproducible weather noise."""

    seed: int = 0

    def hourly(self, zone: str, start: datetime, end: datetime) -> HourlyFrame:
        lat, _lon = _location(zone)
        first, last = hour64(start), hour64(end)
        count = max(int((last - first) // HOUR) + 1, 0)
        times = first + np.arange(count).astype("timedelta64[h]")
        hours = times.astype(np.int64).astype(float)
        day = times.astype("datetime64[D]")
        doy = (day - day.astype("datetime64[Y]")).astype(np.int64) + 1  # UTC day of year
        local_hour = ((times - day.astype("datetime64[h]")) // HOUR + 1) % 24
        # Norway: ~ -4 C in late January to ~16 C in late July (colder further north).
        season = -np.cos(2 * math.pi * (doy - 23) / 365.25)
        base = 6.0 - (lat - 60.0) * 0.6 + 10.0 * season
        diurnal = 3.0 * np.cos(2 * math.pi * (local_hour - 15) / 24)
        noise = self._noise(zone, hours)
        temperature = base + diurnal + noise[:, 0] * 3.0
        wind = np.maximum(0.0, 4.5 - 1.5 * season + noise[:, 1] * 2.5)
        cloud = np.clip(65 + noise[:, 2] * 30, 0, 100)
        # Sun above the horizon longer in summer: a cosine day cut at a season-dependent level.
        elevation = np.maximum(0.0, np.cos(2 * math.pi * (local_hour - 13) / 24) - 0.45 * (1 - season) + 0.2)
        radiation = 700 * elevation * (1 - 0.75 * cloud / 100)
        return HourlyFrame(
            first,
            {
                "temperature_c": temperature,
                "wind_speed_ms": wind,
                "cloud_cover_pct": cloud,
                "radiation_wm2": radiation,
            },
        )

    def _noise(self, zone: str, hours: np.ndarray) -> np.ndarray:
        """Smooth pseudo-random weather of each absolute hour: sums of sines with phases seeded
        by zone and seed, so any window over the same hours returns the same values."""
        rng = np.random.default_rng(zlib.crc32(f"{zone}:{self.seed}".encode()))
        periods = np.array([31.0, 77.0, 143.0, 311.0])
        phases = rng.uniform(0, 2 * math.pi, (3, 4))
        return np.sin(2 * math.pi * hours[:, None, None] / periods + phases).sum(axis=2) / 2.0
