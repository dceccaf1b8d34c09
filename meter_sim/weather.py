"""Outdoor weather seen by the simulated households: the synthetic climate of their zone.

The consumption model only depends on the :class:`WeatherProvider` protocol (tests inject fixed
weather). :class:`ZoneWeather` is the default: the shared climate of :mod:`energy.weather`, the
one predict_svc forecasts with, so households consume under the weather the forecaster assumes.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from energy.weather import ZoneClimate
from energy.zones import DEFAULT_ZONE, lookup

__all__ = ["WeatherProvider", "ZoneWeather"]


@runtime_checkable
class WeatherProvider(Protocol):
    def temperature_c(self, ts: float) -> float:
        """Outdoor air temperature at UNIX time ``ts`` (seconds), degrees Celsius."""
        ...

    def cloud_cover(self, ts: float) -> float:
        """Cloud cover fraction at ``ts``: 0 clear sky, 1 overcast."""
        ...


class ZoneWeather:
    """The synthetic weather of one bidding zone (seeded: same seed and zone, same weather)."""

    def __init__(self, seed: int = 0, zone: str = DEFAULT_ZONE) -> None:
        self.zone = lookup(zone).code  # an unknown zone fails here, at start-up
        self._climate = ZoneClimate(seed)
        self._last: tuple[float, float, float] | None = None  # (ts, temperature, cloud fraction)

    def _at(self, ts: float) -> tuple[float, float, float]:
        # The fleet asks for temperature and cloud cover of the same instant: compute once.
        if self._last is None or self._last[0] != ts:
            weather = self._climate.at(self.zone, [ts])
            self._last = (
                ts,
                float(weather["temperature_c"][0]),
                float(weather["cloud_cover_pct"][0]) / 100.0,
            )
        return self._last

    def temperature_c(self, ts: float) -> float:
        return self._at(ts)[1]

    def cloud_cover(self, ts: float) -> float:
        return self._at(ts)[2]
