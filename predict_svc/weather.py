"""Weather providers: hourly temperature, wind, cloud cover and solar radiation for a zone.

:class:`WeatherProvider` is the interface. :class:`OpenMeteoClient` reads live forecasts from the
Open-Meteo API (no key needed); its HTTP transport is injected (a callable from URL and query
parameters to parsed JSON), so tests replay recorded responses and never touch the network.
:class:`SyntheticWeather` is the offline default: the shared synthetic climate of the zone
(:mod:`energy.weather`), which the simulated households live in too.

Every provider returns an :class:`~predict_svc.hourly.HourlyFrame` (hourly UTC grid, numpy
columns; no pandas in the serving process) with the columns of :data:`WEATHER_COLUMNS`
(deg C, m/s, %, W/m2).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from energy.weather import WEATHER_COLUMNS, ZoneClimate
from energy.zones import UnknownZone, lookup
from predict_svc.hourly import HOUR, HourlyFrame, floor_hour, hour64, utc

__all__ = [
    "OpenMeteoClient",
    "SyntheticWeather",
    "WeatherError",
    "WeatherProvider",
    "urllib_transport",
]

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
        found = lookup(zone)
    except UnknownZone:
        raise WeatherError(f"no reference location for zone {zone}") from None
    return found.lat, found.lon


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
    """Offline default: the zone's synthetic climate (:class:`energy.weather.ZoneClimate`), the
    same weather meter_sim's households live in."""

    seed: int = 0

    def hourly(self, zone: str, start: datetime, end: datetime) -> HourlyFrame:
        try:
            zone_info = lookup(zone)
        except UnknownZone:
            raise WeatherError(f"no reference location for zone {zone}") from None
        first, last = hour64(start), hour64(end)
        count = max(int((last - first) // HOUR) + 1, 0)
        times = first + np.arange(count).astype("timedelta64[h]")
        seconds = times.astype(np.int64).astype(float) * 3600.0
        return HourlyFrame(first, ZoneClimate(self.seed).at(zone_info.code, seconds))
