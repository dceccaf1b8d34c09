"""Electrical demand of a fleet of households, vectorised over meters with numpy.

Net power (positive = import from the grid, negative = export) is the sum of:
always-on base load, occupant activity (hour of day, weekday/weekend, household size),
space heating (outdoor temperature; heat pumps divide by a temperature-dependent COP),
electric hot water, EV charging sessions, minus rooftop solar (daylight, season, clouds),
with multiplicative noise and occasional appliance spikes (kettle, oven).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from meter_sim.profiles import Heating, Household
from meter_sim.weather import WeatherProvider

__all__ = ["NOMINAL_VOLTAGE_V", "FleetModel", "Sample", "interval_energy_kwh"]

NOMINAL_VOLTAGE_V = 230.0
# Occupant activity as a fraction of its evening peak, per local hour (interpolated).
_WEEKDAY = np.array(
    [
        0.25,
        0.2,
        0.18,
        0.18,
        0.2,
        0.3,
        0.6,
        0.9,
        0.7,
        0.45,
        0.4,
        0.45,
        0.5,
        0.45,
        0.4,
        0.45,
        0.6,
        0.9,
        1.0,
        1.0,
        0.9,
        0.75,
        0.55,
        0.35,
    ]
)
_WEEKEND = np.array(
    [
        0.3,
        0.25,
        0.2,
        0.18,
        0.18,
        0.2,
        0.3,
        0.5,
        0.75,
        0.85,
        0.8,
        0.8,
        0.85,
        0.75,
        0.65,
        0.6,
        0.7,
        0.9,
        1.0,
        1.0,
        0.9,
        0.8,
        0.6,
        0.4,
    ]
)
_HEATING_THRESHOLD_C = 16.0
# Service-cable + feeder impedance seen by one household: voltage sags when importing.
_SUPPLY_RESISTANCE_OHM = 0.25


@dataclass(frozen=True)
class Sample:
    """Instantaneous electrical quantities for a set of meters (one array entry per meter)."""

    power_w: np.ndarray
    voltage_v: np.ndarray
    current_a: np.ndarray
    power_factor: np.ndarray


def _hash01(a: np.ndarray, b: np.ndarray, salt: int) -> np.ndarray:
    """Deterministic uniform [0,1) per (a, b): the same household and day always agree."""
    with np.errstate(over="ignore"):
        x = (
            a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            + b.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9)
            + np.uint64(salt)
        )
        x ^= x >> np.uint64(31)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(29)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


class FleetModel:
    def __init__(
        self, households: Sequence[Household], weather: WeatherProvider, seed: int, utc_offset_h: float = 1.0
    ) -> None:
        self.weather = weather
        self.utc_offset_h = utc_offset_h
        self._rng = np.random.default_rng(seed + 1)
        self.index = np.arange(len(households), dtype=np.int64)
        self.residents = np.array([h.residents for h in households], dtype=float)
        self.resistive = np.array([h.heating is Heating.ELECTRIC_RESISTIVE for h in households])
        self.heat_pump = np.array([h.heating is Heating.HEAT_PUMP for h in households])
        self.boiler = np.array([h.heating is Heating.NON_ELECTRIC for h in households])
        self.heat_loss = np.array([h.heat_loss_w_per_k for h in households], dtype=float)
        self.kwp = np.array([h.solar_kwp for h in households], dtype=float)
        self.charger_w = np.array([h.ev_charger_kw * 1000 for h in households], dtype=float)
        self.plug_hour = np.array([h.ev_plug_hour for h in households], dtype=float)
        self.scale = np.array([h.appliance_scale for h in households], dtype=float)
        self.feeder = np.array([h.feeder_offset_v for h in households], dtype=float)

    def sample(self, idx: np.ndarray, ts: float) -> Sample:
        """Readings for meters ``idx`` at UNIX time ``ts`` (seconds)."""
        n = len(idx)
        local = ts / 3600.0 + self.utc_offset_h
        hour = local % 24.0
        day = math.floor(local / 24.0)
        weekend = (day + 3) % 7 >= 5  # 1970-01-01 was a Thursday
        doy = (local / 24.0) % 365.25
        temp = self.weather.temperature_c(ts)
        cloud = self.weather.cloud_cover(ts)

        curve = _WEEKEND if weekend else _WEEKDAY
        h0 = int(hour) % 24
        frac = hour - int(hour)
        activity = curve[h0] * (1 - frac) + curve[(h0 + 1) % 24] * frac

        residents = self.residents[idx]
        base = 60.0 + 25.0 * residents
        appliances = 350.0 * activity * residents**0.7 * self.scale[idx]
        appliances *= self._rng.lognormal(0.0, 0.15, n)
        spikes = (self._rng.random(n) < 0.02 * activity) * self._rng.uniform(1200, 2500, n)

        # Space heating: demand grows below the threshold; thermostats set back at night.
        setback = 0.8 if (hour < 5 or hour >= 23) else 1.0
        demand = self.heat_loss[idx] * max(0.0, _HEATING_THRESHOLD_C - temp) * setback
        cop = min(5.0, max(2.0, 3.0 + 0.1 * temp))
        resistive = self.resistive[idx]
        heat_pump = self.heat_pump[idx]
        heating = np.where(resistive, demand, 0.0) + np.where(heat_pump, demand / cop, 0.0)
        heating += np.where(self.boiler[idx], 25.0, 0.0)  # circulation pump of a gas/oil boiler
        heating *= self._rng.lognormal(0.0, 0.08, n)
        hot_water = np.where(resistive, 60.0, np.where(heat_pump, 20.0, 0.0)) * residents * activity

        ev = self._ev_power(idx, hour, day)
        solar = self._solar_power(idx, hour, doy, cloud)

        load = base + appliances + spikes + heating + hot_water + ev
        net = load - solar

        # Power factor: resistive loads ~1, motors/electronics lower; inverters export at ~0.99.
        reactive_share = (appliances + spikes) * 0.12 + heating * np.where(heat_pump, 0.07, 0.0)
        pf = np.where(net < 0, 0.99, 1.0 - reactive_share / np.maximum(load, 1.0))
        pf = np.clip(pf + self._rng.normal(0, 0.005, n), 0.75, 1.0)

        grid_swing = -1.8 * math.cos(2 * math.pi * (hour - 4) / 24.0)  # low in the evening peak
        voltage = NOMINAL_VOLTAGE_V + self.feeder[idx] + grid_swing + self._rng.normal(0, 0.4, n)
        voltage -= _SUPPLY_RESISTANCE_OHM * net / NOMINAL_VOLTAGE_V
        voltage = np.clip(voltage, 207.0, 253.0)  # EN 50160: +-10 % of nominal
        current = np.abs(net) / (voltage * pf)
        return Sample(power_w=net, voltage_v=voltage, current_a=current, power_factor=pf)

    def _ev_power(self, idx: np.ndarray, hour: float, day: int) -> np.ndarray:
        charger = self.charger_w[idx]
        plug = self.plug_hour[idx]
        # The session started today if we are past the plug-in hour, else yesterday.
        session_day = np.where(hour >= plug, day, day - 1)
        since = (hour - plug) % 24.0
        u = _hash01(idx, session_day, 1)
        weekend = ((session_day + 3) % 7) >= 5
        charges = u < np.where(weekend, 0.35, 0.55)
        energy_wh = 6000 + 14000 * _hash01(idx, session_day, 2)
        duration_h = energy_wh / np.maximum(charger, 1.0)
        return np.where((charger > 0) & charges & (since < duration_h), charger, 0.0)

    def _solar_power(self, idx: np.ndarray, hour: float, doy: float, cloud: float) -> np.ndarray:
        season = math.sin(2 * math.pi * (doy - 80) / 365.25)
        daylength = 12.0 + 4.0 * season
        sunrise = 12.5 - daylength / 2
        if not sunrise < hour < sunrise + daylength:
            return np.zeros(len(idx))
        elevation = math.sin(math.pi * (hour - sunrise) / daylength)
        peak = 0.6 + 0.35 * season
        clear = elevation * peak * (1.0 - 0.75 * cloud)
        power: np.ndarray = self.kwp[idx] * 1000.0 * 0.8 * clear * self._rng.uniform(0.95, 1.0, len(idx))
        return power


def interval_energy_kwh(power_w: np.ndarray, interval_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(import, export) energy over one interval, treating the sample as the interval mean."""
    hours = interval_s / 3600.0
    return np.maximum(power_w, 0.0) * hours / 1000.0, np.maximum(-power_w, 0.0) * hours / 1000.0
