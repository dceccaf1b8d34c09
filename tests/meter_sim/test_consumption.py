from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from meter_sim.consumption import FleetModel
from meter_sim.profiles import Heating, Household, ProfileMix, draw_households
from meter_sim.weather import ZoneWeather


class FixedWeather:
    """Injected weather (the WeatherProvider protocol) to isolate temperature effects."""

    def __init__(self, temp: float, cloud: float = 0.0) -> None:
        self.temp, self.cloud = temp, cloud

    def temperature_c(self, ts: float) -> float:
        return self.temp

    def cloud_cover(self, ts: float) -> float:
        return self.cloud


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def _mean_power(households: list[Household], weather: object, when: str) -> float:
    model = FleetModel(households, weather, seed=1, utc_offset_h=0)  # type: ignore[arg-type]
    return float(np.mean([model.sample(model.index, _ts(when)).power_w.mean() for _ in range(20)]))


def test_cold_weather_raises_electric_heating_load() -> None:
    heated = draw_households(
        300, ProfileMix(heating={Heating.ELECTRIC_RESISTIVE: 1.0}, ev_share=0, solar_share=0), 1
    )
    warm = _mean_power(heated, FixedWeather(18.0), "2025-01-15T12:00")
    cold = _mean_power(heated, FixedWeather(-10.0), "2025-01-15T12:00")
    assert cold > warm + 2000
    district = draw_households(
        300, ProfileMix(heating={Heating.DISTRICT_HEATING: 1.0}, ev_share=0, solar_share=0), 1
    )
    assert (
        abs(
            _mean_power(district, FixedWeather(-10.0), "2025-01-15T12:00")
            - _mean_power(district, FixedWeather(18.0), "2025-01-15T12:00")
        )
        < 100
    )


def test_evening_peak_and_solar_export_at_noon() -> None:
    fleet = draw_households(400, ProfileMix(ev_share=0, solar_share=0), 2)
    assert _mean_power(fleet, FixedWeather(15), "2025-06-11T19:00") > _mean_power(
        fleet, FixedWeather(15), "2025-06-11T03:00"
    )
    solar = draw_households(
        200, ProfileMix(ev_share=0, solar_share=1.0, heating={Heating.DISTRICT_HEATING: 1}), 3
    )
    model = FleetModel(solar, FixedWeather(20, cloud=0.0), seed=1, utc_offset_h=0)
    noon = model.sample(model.index, _ts("2025-06-11T12:30"))
    assert (noon.power_w < 0).mean() > 0.8  # most export at a clear summer noon
    night = model.sample(model.index, _ts("2025-06-11T01:00"))
    assert (night.power_w > 0).all()


def test_electrical_quantities_are_consistent_and_plausible() -> None:
    fleet = draw_households(2000, ProfileMix(), 4)
    model = FleetModel(fleet, ZoneWeather(4), seed=4)
    s = model.sample(model.index, _ts("2025-01-20T18:00"))
    assert ((s.voltage_v >= 207) & (s.voltage_v <= 253)).all()
    assert ((s.power_factor >= 0.75) & (s.power_factor <= 1)).all()
    assert np.allclose(np.abs(s.power_w), s.voltage_v * s.current_a * s.power_factor)
    assert 300 < s.power_w.mean() < 5000 and s.power_w.max() < 50_000
