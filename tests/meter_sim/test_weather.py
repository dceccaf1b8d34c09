"""Households live in the climate the forecaster assumes: the zone's shared synthetic weather."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from common.config import ConfigError
from meter_sim.config import MeterSimConfig
from meter_sim.weather import WeatherProvider, ZoneWeather
from predict_svc.weather import SyntheticWeather


def test_households_and_forecaster_see_the_same_weather_on_every_hour() -> None:
    start = datetime(2025, 1, 20, tzinfo=UTC)
    forecast = SyntheticWeather(seed=7).hourly("NO5", start, start + timedelta(hours=47))
    households = ZoneWeather(seed=7, zone="NO5")
    assert isinstance(households, WeatherProvider)
    for i in range(48):
        ts = (start + timedelta(hours=i)).timestamp()
        assert households.temperature_c(ts) == forecast["temperature_c"][i]
        assert households.cloud_cover(ts) == forecast["cloud_cover_pct"][i] / 100


def test_zone_is_part_of_the_simulator_config() -> None:
    assert MeterSimConfig().zone == "NO1"
    with pytest.raises(ConfigError):
        MeterSimConfig(zone="XX9")
    assert ZoneWeather(1, "no3").zone == "NO3"
