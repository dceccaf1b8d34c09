"""The shared synthetic climate: deterministic, Norwegian, smooth between hours."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from energy.weather import WEATHER_COLUMNS, ZoneClimate
from energy.zones import UnknownZone


def _s(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_same_seed_same_weather_other_seed_other_weather() -> None:
    times = np.arange(0, 48) * 3600.0 + _s("2025-01-01T00:00")
    a, b = ZoneClimate(3).at("NO1", times), ZoneClimate(3).at("no1", times)
    assert list(a) == list(WEATHER_COLUMNS)
    for column in WEATHER_COLUMNS:
        assert np.array_equal(a[column], b[column])
    assert not np.array_equal(a["temperature_c"], ZoneClimate(4).at("NO1", times)["temperature_c"])


def test_norwegian_seasons_and_colder_north() -> None:
    winter = np.arange(0, 24 * 28) * 3600.0 + _s("2025-01-10T00:00")
    summer = np.arange(0, 24 * 28) * 3600.0 + _s("2025-07-10T00:00")
    climate = ZoneClimate(0)
    oslo_winter = climate.at("NO1", winter)["temperature_c"].mean()
    oslo_summer = climate.at("NO1", summer)["temperature_c"].mean()
    tromso_winter = climate.at("NO4", winter)["temperature_c"].mean()
    assert -10 < oslo_winter < 2 and 10 < oslo_summer < 22
    assert tromso_winter < oslo_winter - 3


def test_between_hours_the_weather_varies_smoothly() -> None:
    hour = _s("2025-03-01T12:00")
    values = ZoneClimate(1).at("NO2", [hour, hour + 1800, hour + 3600])["temperature_c"]
    assert min(values[0], values[2]) - 0.5 <= values[1] <= max(values[0], values[2]) + 0.5


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(UnknownZone):
        ZoneClimate(0).at("SE3", [0.0])
