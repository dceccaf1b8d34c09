"""The synthetic climate of each bidding zone: one weather source for households and forecaster.

A deterministic seasonal and diurnal climate at the zone's reference city
(:data:`energy.zones.ZONES`) plus smooth seeded "weather systems": Norway, about -4 C in late
January to 16 C in late July, colder further north. meter_sim's households consume under it and
predict_svc forecasts with it (offline default, and fallback of the live Open-Meteo forecast),
so the two agree on the weather.

Time is seconds since the UNIX epoch (float arrays). The day of the year is the UTC day's and the
daily cycle runs on UTC+1 (standard time): a climate, not a clock, so DST does not shift it. On
whole hours the values are exactly the hourly values the forecaster was calibrated with; between
hours they vary smoothly (a meter reads every few seconds).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from energy.zones import lookup, normalize

__all__ = ["WEATHER_COLUMNS", "ZoneClimate"]

FloatArray = npt.NDArray[np.float64]

WEATHER_COLUMNS = ("temperature_c", "wind_speed_ms", "cloud_cover_pct", "radiation_wm2")
"""Columns of every weather series: deg C, m/s, % of the sky, W/m2."""

_HOUR_S = 3600.0
_DAY_S = 86_400


@dataclass(frozen=True)
class ZoneClimate:
    """The synthetic weather of every zone for one ``seed`` (same seed, same weather)."""

    seed: int = 0

    def at(self, zone: str, times_s: npt.ArrayLike) -> dict[str, FloatArray]:
        """Weather of ``zone`` at ``times_s`` (seconds since the epoch): :data:`WEATHER_COLUMNS`.

        Raises :class:`energy.zones.UnknownZone` for a zone without a reference city.
        """
        lat = lookup(zone).lat
        seconds = np.asarray(times_s, dtype=float).reshape(-1)
        hours = seconds / _HOUR_S
        day = np.floor(seconds / _DAY_S).astype(np.int64).astype("datetime64[D]")
        doy = (day - day.astype("datetime64[Y]")).astype(np.int64) + 1  # UTC day of year
        local_hour = ((seconds - day.astype(np.int64) * _DAY_S) / _HOUR_S + 1) % 24
        season = -np.cos(2 * math.pi * (doy - 23) / 365.25)
        base = 6.0 - (lat - 60.0) * 0.6 + 10.0 * season
        diurnal = 3.0 * np.cos(2 * math.pi * (local_hour - 15) / 24)
        noise = self._noise(normalize(zone), hours)
        temperature = base + diurnal + noise[:, 0] * 3.0
        wind = np.maximum(0.0, 4.5 - 1.5 * season + noise[:, 1] * 2.5)
        cloud = np.clip(65 + noise[:, 2] * 30, 0, 100)
        # Sun above the horizon longer in summer: a cosine day cut at a season-dependent level.
        elevation = np.maximum(0.0, np.cos(2 * math.pi * (local_hour - 13) / 24) - 0.45 * (1 - season) + 0.2)
        radiation = 700 * elevation * (1 - 0.75 * cloud / 100)
        return {
            "temperature_c": temperature,
            "wind_speed_ms": wind,
            "cloud_cover_pct": cloud,
            "radiation_wm2": radiation,
        }

    def _noise(self, zone: str, hours: FloatArray) -> FloatArray:
        """Smooth pseudo-random weather of each absolute hour: sums of sines with phases seeded
        by zone and seed, so any window over the same hours returns the same values."""
        rng = np.random.default_rng(zlib.crc32(f"{zone}:{self.seed}".encode()))
        periods = np.array([31.0, 77.0, 143.0, 311.0])
        phases = rng.uniform(0, 2 * math.pi, (3, 4))
        noise: FloatArray = np.sin(2 * math.pi * hours[:, None, None] / periods + phases).sum(axis=2) / 2.0
        return noise
