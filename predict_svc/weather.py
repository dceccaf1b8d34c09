"""Weather providers: hourly temperature, wind, cloud cover and solar radiation for a zone.

:class:`WeatherProvider` is the interface. :class:`OpenMeteoClient` reads live forecasts from the
Open-Meteo API (no key needed); its HTTP transport is injected (a callable from URL and query
parameters to parsed JSON), so tests replay recorded responses and never touch the network.
:class:`SyntheticWeather` is the offline default: the shared synthetic climate of the zone
(:mod:`energy.weather`), which the simulated households live in too.

Every provider returns an :class:`~predict_svc.hourly.HourlyFrame` (hourly UTC grid, numpy
columns; no pandas in the serving process) with the columns of :data:`WEATHER_COLUMNS`
(deg C, m/s, %, W/m2).

The price model's temperature feature (the daily mean of the day before each hour) comes live
from the Open-Meteo ``/v1/forecast`` *daily* response (:class:`OpenMeteoDaily`), through
:class:`ForecastTemperature`, the live markets' source of it (the observation files are used
for history the forecast does not reach, as in training).
"""

from __future__ import annotations

import json
import os
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from common.log import get_logger
from energy.weather import WEATHER_COLUMNS, ZoneClimate
from energy.zones import UnknownZone, lookup
from predict_svc.fundamentals import FileFundamentals, temperature_series
from predict_svc.hourly import HOUR, HourlyFrame, floor_hour, hour64, utc
from predict_svc.providers import Get, ProviderError, check_status, http_get

__all__ = [
    "DailyTemperature",
    "ForecastTemperature",
    "OpenMeteoClient",
    "OpenMeteoDaily",
    "SyntheticWeather",
    "WeatherError",
    "WeatherProvider",
    "urllib_transport",
]

log = get_logger("predict_svc.weather")

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


@dataclass(frozen=True)
class DailyTemperature:
    """An Open-Meteo daily forecast as fetched: mean 2 m temperature per local day, and when it
    was fetched (the issue time: a forecast made later is never used for an earlier origin)."""

    issued_at: datetime
    days: np.ndarray  # datetime64[D]
    mean_c: np.ndarray

    def feature(self, hours: np.ndarray, origin: datetime) -> np.ndarray:
        """The model's temperature feature for ``hours`` (datetime64[h], UTC): the daily mean of
        the day before each hour. A forecast issued after ``origin`` is refused."""
        if self.issued_at > origin:
            raise ProviderError("future_issue", f"forecast issued {self.issued_at} after origin {origin}")
        wanted = np.asarray(hours, dtype="datetime64[h]").astype("datetime64[D]") - np.timedelta64(1, "D")
        out = np.full(len(wanted), np.nan)
        at = np.searchsorted(self.days, wanted)
        ok = (at < len(self.days)) & (self.days[np.minimum(at, len(self.days) - 1)] == wanted)
        out[ok] = self.mean_c[at[ok]]
        return out


@dataclass(frozen=True)
class OpenMeteoDaily:
    base_url: str = field(
        default_factory=lambda: os.environ.get("EP_OPEN_METEO_URL", "https://api.open-meteo.com/v1/forecast")
    )
    get: Get = http_get
    forecast_days: int = 8
    past_days: int = 1

    def fetch(self, zone: str, now: datetime) -> DailyTemperature:
        try:
            place = lookup(zone)
        except UnknownZone:
            raise ProviderError("refused", f"no reference location for zone {zone}") from None
        params = {
            "latitude": f"{place.lat:.4f}",
            "longitude": f"{place.lon:.4f}",
            "daily": "temperature_2m_mean",
            "timezone": "UTC",
            "past_days": str(self.past_days),
            "forecast_days": str(self.forecast_days),
        }
        answer = self.get(self.base_url, params)
        check_status(answer, "Open-Meteo")
        return self.parse(answer.body, now)

    @staticmethod
    def parse(body: bytes, issued_at: datetime) -> DailyTemperature:
        try:
            doc: Any = json.loads(body)
        except ValueError as exc:
            raise ProviderError("malformed", f"Open-Meteo: not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise ProviderError("malformed", "Open-Meteo: not a JSON object")
        if doc.get("error"):
            raise ProviderError("refused", f"Open-Meteo: {doc.get('reason', 'unknown')}")
        # Asked for timezone=UTC: the daily values must be UTC days (the feature's days).
        if doc.get("utc_offset_seconds") != 0 or doc.get("timezone") not in ("UTC", "GMT"):
            raise ProviderError("malformed", "Open-Meteo: daily values not in UTC days")
        units = doc.get("daily_units")
        if not isinstance(units, dict) or units.get("temperature_2m_mean") != "\u00b0C":
            raise ProviderError("malformed", "Open-Meteo: temperature_2m_mean not in degrees Celsius")
        try:
            daily = doc["daily"]
            days = np.array(daily["time"], dtype="datetime64[D]")
            values = [np.nan if v is None else float(v) for v in daily["temperature_2m_mean"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError("malformed", f"Open-Meteo: unexpected daily response: {exc}") from exc
        if len(values) != len(days):
            raise ProviderError("malformed", "Open-Meteo: time and temperature_2m_mean differ in length")
        order = np.argsort(days, kind="stable")
        return DailyTemperature(issued_at, days[order], np.array(values)[order])


class ForecastTemperature:
    """A live market's temperature feature: the latest Open-Meteo daily forecast per zone
    (fetched when older than ``max_age``; a failed fetch keeps the previous forecast and is
    logged), falling back for the hours it does not cover to the observation files when there
    are any. A forecast fetched after an origin is never used for it (no look-ahead): an origin
    in the past (accuracy seeding) gets the files alone."""

    def __init__(
        self,
        provider: OpenMeteoDaily,
        fallback: FileFundamentals | None = None,
        max_age: timedelta = timedelta(hours=3),
    ) -> None:
        self.provider = provider
        self.fallback = fallback
        self.max_age = max_age
        self._latest: dict[str, DailyTemperature] = {}
        self._lock = threading.Lock()  # one fetch at a time per process
        self.errors = 0

    def forecast(self, zone: str, now: datetime) -> DailyTemperature | None:
        latest = self._latest.get(zone)
        if latest is not None and now - latest.issued_at < self.max_age:
            return latest
        with self._lock:
            latest = self._latest.get(zone)
            if latest is not None and now - latest.issued_at < self.max_age:
                return latest
            try:
                fetched = self.provider.fetch(zone, now)
            except ProviderError as exc:
                self.errors += 1
                log.warning("temperature_forecast_failed", zone=zone, reason=exc.reason, error=str(exc))
                return latest
            self._latest = {**self._latest, zone: fetched}
            return fetched

    def series(self, zone: str, hours: np.ndarray, origin: datetime, now: datetime) -> np.ndarray:
        """The feature for ``hours`` (datetime64[h], UTC) as known at ``origin``."""
        times = np.asarray(hours, dtype="datetime64[h]")
        out = np.full(len(times), np.nan)
        if now <= origin + self.max_age:  # a live origin (the next publication), not a past one
            forecast = self.forecast(zone, now)
            if forecast is not None and forecast.issued_at <= origin:
                out = forecast.feature(times, origin)
        if self.fallback is not None:
            observed = temperature_series(self.fallback, zone, times)
            # Observations only of days before the origin's (the feature's day before each hour).
            known = times.astype("datetime64[D]") - np.timedelta64(1, "D") < np.datetime64(
                origin.replace(tzinfo=None), "D"
            )
            fill = np.isnan(out) & known
            out[fill] = observed[fill]
        return out
