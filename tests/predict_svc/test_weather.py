"""Weather providers: Open-Meteo parsing through an injected transport (recorded JSON), synthetic."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from energy.weather import WEATHER_COLUMNS
from predict_svc.weather import OpenMeteoClient, SyntheticWeather, WeatherError

FIXTURES = Path(__file__).parent / "fixtures"


class RecordedTransport:
    """Replays one recorded response and remembers what was asked."""

    def __init__(self, name: str) -> None:
        self.doc = json.loads((FIXTURES / name).read_text())
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, url: str, params: Mapping[str, str]) -> Any:
        self.calls.append((url, dict(params)))
        return self.doc


def test_open_meteo_request_and_parse() -> None:
    transport = RecordedTransport("open_meteo_no1.json")
    client = OpenMeteoClient(transport=transport)
    start = pd.Timestamp("2026-03-10 06:00", tz="UTC")
    frame = client.hourly("NO1", start, start + pd.Timedelta(hours=30)).to_frame()
    url, params = transport.calls[0]
    assert url == "https://api.open-meteo.com/v1/forecast"
    assert (
        params["latitude"] == "59.9100" and params["timezone"] == "UTC" and params["wind_speed_unit"] == "ms"
    )
    assert set(params["hourly"].split(",")) == {
        "temperature_2m",
        "wind_speed_10m",
        "cloud_cover",
        "shortwave_radiation",
    }
    assert list(frame.columns) == list(WEATHER_COLUMNS)
    assert frame.index[0] == start and len(frame) == 31 and str(frame.index.tz) == "UTC"
    assert (
        frame.loc[pd.Timestamp("2026-03-10 06:00", tz="UTC"), "temperature_c"]
        == transport.doc["hourly"]["temperature_2m"][6]
    )
    # A null in the response is missing, not zero.
    assert np.isnan(frame.loc[pd.Timestamp("2026-03-11 06:00", tz="UTC"), "temperature_c"])


def test_open_meteo_local_offset_is_converted_to_utc() -> None:
    doc = json.loads((FIXTURES / "open_meteo_no1.json").read_text())
    doc["utc_offset_seconds"] = 3600  # response in CET: local 01:00 is 00:00 UTC
    frame = OpenMeteoClient.parse(doc).to_frame()
    assert frame.index[1] == pd.Timestamp("2026-03-10 00:00", tz="UTC")


def test_open_meteo_errors() -> None:
    client = OpenMeteoClient(transport=RecordedTransport("open_meteo_error.json"))
    now = pd.Timestamp("2026-03-10", tz="UTC")
    with pytest.raises(WeatherError, match="invalid String"):
        client.hourly("NO1", now, now)

    def failing(url: str, params: Mapping[str, str]) -> Any:
        raise OSError("connection refused")

    with pytest.raises(WeatherError, match="connection refused"):
        OpenMeteoClient(transport=failing).hourly("NO1", now, now)
    with pytest.raises(WeatherError, match="zone"):
        OpenMeteoClient(transport=failing).hourly("XX9", now, now)


def test_synthetic_weather_is_seasonal_and_reproducible() -> None:
    provider = SyntheticWeather(seed=1)
    year = provider.hourly(
        "NO1", pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-12-31 23:00", tz="UTC")
    ).to_frame()
    monthly = year["temperature_c"].groupby(year.index.month).mean()
    assert monthly[1] < 0 < monthly[7] - 10
    assert (year["cloud_cover_pct"].between(0, 100)).all() and (year["radiation_wm2"] >= 0).all()
    assert (
        year["radiation_wm2"].groupby(year.index.month).mean()[6]
        > year["radiation_wm2"].groupby(year.index.month).mean()[12]
    )
    # Same hours from a different window give the same values (stateless noise).
    window = provider.hourly(
        "NO1", pd.Timestamp("2025-06-01", tz="UTC"), pd.Timestamp("2025-06-02", tz="UTC")
    ).to_frame()
    pd.testing.assert_frame_equal(window, year.loc[window.index], check_freq=False)
    north = (
        SyntheticWeather(seed=1)
        .hourly("NO4", pd.Timestamp("2025-01-15", tz="UTC"), pd.Timestamp("2025-01-20", tz="UTC"))
        .to_frame()
    )
    assert north["temperature_c"].mean() < year.loc["2025-01-15":"2025-01-20", "temperature_c"].mean()
