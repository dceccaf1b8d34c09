"""Outdoor weather seen by the simulated households.

The consumption model only depends on the :class:`WeatherProvider` protocol, so the prediction
service's weather source can be plugged in with a small adapter; :class:`SyntheticWeather` is the
local, deterministic default (seasonal + daily cycle + slow seeded "weather systems").
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["SyntheticWeather", "WeatherProvider", "day_of_year", "local_hours"]

DAY_S = 86_400.0


@runtime_checkable
class WeatherProvider(Protocol):
    def temperature_c(self, ts: float) -> float:
        """Outdoor air temperature at UNIX time ``ts`` (seconds), degrees Celsius."""
        ...

    def cloud_cover(self, ts: float) -> float:
        """Cloud cover fraction at ``ts``: 0 clear sky, 1 overcast."""
        ...


def local_hours(ts: float, utc_offset_h: float) -> float:
    return ((ts / 3600.0) + utc_offset_h) % 24.0


def day_of_year(ts: float, utc_offset_h: float) -> float:
    # Good enough for seasons: ignores leap years, which shift the curve by at most a day.
    return (((ts / DAY_S) + utc_offset_h / 24.0) % 365.25) + 1.0


class SyntheticWeather:
    """A central-European climate: ~0 C in January, ~18 C in July, colder at dawn."""

    def __init__(
        self,
        seed: int = 0,
        mean_c: float = 9.5,
        seasonal_amplitude_c: float = 9.5,
        diurnal_amplitude_c: float = 4.0,
        utc_offset_h: float = 1.0,
    ) -> None:
        rng = np.random.default_rng(seed)
        self._mean = mean_c
        self._seasonal = seasonal_amplitude_c
        self._diurnal = diurnal_amplitude_c
        self._offset = utc_offset_h
        # Weather systems: a few incommensurate slow waves with seeded phases (periods 2-11 days).
        self._periods = np.array([2.3, 3.7, 6.1, 10.9]) * DAY_S
        self._phases = rng.uniform(0, 2 * math.pi, 4)
        self._cloud_phases = rng.uniform(0, 2 * math.pi, 4)

    def _systems(self, ts: float, phases: np.ndarray) -> float:
        return float(np.sum(np.sin(2 * math.pi * ts / self._periods + phases)) / 2.0)

    def temperature_c(self, ts: float) -> float:
        doy = day_of_year(ts, self._offset)
        hour = local_hours(ts, self._offset)
        seasonal = -self._seasonal * math.cos(2 * math.pi * (doy - 15) / 365.25)
        diurnal = -self._diurnal * math.cos(2 * math.pi * (hour - 3) / 24.0)
        return self._mean + seasonal + diurnal + 2.5 * self._systems(ts, self._phases)

    def cloud_cover(self, ts: float) -> float:
        return min(1.0, max(0.0, 0.55 + 0.35 * self._systems(ts, self._cloud_phases)))
