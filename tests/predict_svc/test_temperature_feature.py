"""The price model's temperature feature is really fed: in training, in the backtest and at
runtime, where a live market reads it from the Open-Meteo daily forecast (served here by a local
HTTP server with a response in the API's documented shape). A configured feature entirely
missing (all NaN) is an error in each of the three, never a silent NaN column."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.config import from_env
from common.errors import FailedPrecondition
from energy.market_calendar import MarketCalendar
from predict_svc.backtest import run_backtest
from predict_svc.config import PredictConfig
from predict_svc.hourly import HourlyFrame
from predict_svc.model import ModelError, PriceModel, TrainParams, train_model
from predict_svc.providers import ProviderError
from predict_svc.runtime import ZoneMarket, build_path
from predict_svc.server import build_markets
from predict_svc.synthetic import generate_market, load_params
from predict_svc.weather import ForecastTemperature, OpenMeteoDaily
from tests.local_http import answering
from tests.predict_svc.test_live_service import _write_files

FIXTURE = Path(__file__).parent / "fixtures" / "open_meteo_daily_no1.json"
DOC = json.loads(FIXTURE.read_text(encoding="utf-8"))
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # the fixture's issue day (past_days=1: from 03-09)
CAL = MarketCalendar.default()
PARAMS = TrainParams(
    rounds=40, num_leaves=15, multi_horizon=False, validation_hours=24 * 20, week_ahead_days=0
)


def _source() -> HourlyFrame:
    return generate_market(
        load_params("NO1"), datetime(2025, 9, 1, tzinfo=UTC), datetime(2026, 3, 25, tzinfo=UTC), seed=11
    )


def _temperature(frame: HourlyFrame) -> np.ndarray:
    """A temperature the price depends on (colder day before, dearer): the trees use it."""
    days = frame.times.astype("datetime64[D]")
    price = pd.Series(frame["price"]).groupby(days).transform("mean").to_numpy()
    return np.asarray(12.0 - (price - np.nanmean(price)) / 4.0)


@pytest.fixture(scope="module")
def temp_model() -> PriceModel:
    frame = _source()
    model = train_model(
        frame, "NO1", train_end=NOW - timedelta(days=20), params=PARAMS, temperature=_temperature(frame)
    )
    assert "temperature" in model.features
    return model


@pytest.fixture
def open_meteo() -> Iterator[tuple[str, list[bytes], list[dict[str, str]]]]:
    """A local Open-Meteo: answers with the queued bodies (the last one repeatedly)."""
    bodies: list[bytes] = [FIXTURE.read_bytes()]
    seen: list[dict[str, str]] = []

    def answer(query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        seen.append(query)
        body = bodies.pop(0) if len(bodies) > 1 else bodies[0]
        return 200, {"Content-Type": "application/json; charset=utf-8"}, body

    with answering(answer) as base:
        yield f"{base}/v1/forecast", bodies, seen


def test_fixture_has_the_documented_response_shape() -> None:
    """The recorded response carries exactly the fields Open-Meteo's forecast API documents for
    a daily request with timezone=UTC (utc_offset_seconds 0, the grid point's coordinates,
    daily_units beside daily, one value per day, null for a missing one)."""
    assert set(DOC) == {
        "latitude",
        "longitude",
        "generationtime_ms",
        "utc_offset_seconds",
        "timezone",
        "timezone_abbreviation",
        "elevation",
        "daily_units",
        "daily",
    }
    assert DOC["utc_offset_seconds"] == 0 and DOC["timezone"] == "UTC" == DOC["timezone_abbreviation"]
    assert DOC["daily_units"] == {"time": "iso8601", "temperature_2m_mean": "\u00b0C"}
    assert set(DOC["daily"]) == {"time", "temperature_2m_mean"}
    assert len(DOC["daily"]["time"]) == len(DOC["daily"]["temperature_2m_mean"]) == 1 + 8


@pytest.mark.parametrize(
    "change",
    [
        {"utc_offset_seconds": 3600, "timezone": "Europe/Oslo", "timezone_abbreviation": "CET"},
        {"daily_units": {"time": "iso8601", "temperature_2m_mean": "\u00b0F"}},
    ],
)
def test_a_response_not_in_utc_days_or_celsius_is_refused(change: dict[str, object]) -> None:
    body = json.dumps({**DOC, **change}).encode()
    with pytest.raises(ProviderError, match="malformed"):
        OpenMeteoDaily.parse(body, NOW)


def _live_market(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> ZoneMarket:
    data = tmp_path / "data"
    _write_files(data, _source(), CAL.day_end(NOW.date()))
    monkeypatch.setenv("EP_OPEN_METEO_URL", url)
    config = from_env(PredictConfig, {}, zones=("NO1",), data_dir=str(data), live_market=True)
    return build_markets(config, now=lambda: NOW)["NO1"]


def test_live_runtime_feeds_the_open_meteo_forecast(
    temp_model: PriceModel,
    open_meteo: tuple[str, list[bytes], list[dict[str, str]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A live service's market takes the temperature feature from Open-Meteo (no weather files
    here: the forecast is the only source): the forecast path asks Open-Meteo, and a warmer
    forecast changes the price forecast (the feature reaches the model)."""
    url, bodies, seen = open_meteo
    market = _live_market(tmp_path, url, monkeypatch)
    assert isinstance(market.temperature, ForecastTemperature) and market.fundamentals is None
    base = build_path(market.snapshot(), temp_model, NOW).forecast
    assert seen and seen[0]["daily"] == "temperature_2m_mean" and seen[0]["timezone"] == "UTC"
    assert np.isfinite(base.p50).all()
    warm = dict(DOC, daily={**DOC["daily"], "temperature_2m_mean": [v + 15 if v is not None else None for v in DOC["daily"]["temperature_2m_mean"]]})  # fmt: skip
    bodies[:] = [json.dumps(warm).encode()]
    fresh = dataclasses.replace(market, temperature=ForecastTemperature(OpenMeteoDaily(base_url=url)))
    warmer = build_path(fresh.snapshot(), temp_model, NOW).forecast
    assert len(seen) == 2
    assert not np.allclose(base.p50, warmer.p50)


def test_temperature_entirely_missing_at_runtime_is_an_error(
    temp_model: PriceModel,
    open_meteo: tuple[str, list[bytes], list[dict[str, str]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, bodies, _ = open_meteo
    blank = dict(DOC, daily={**DOC["daily"], "temperature_2m_mean": [None] * len(DOC["daily"]["time"])})
    bodies[:] = [json.dumps(blank).encode()]
    market = _live_market(tmp_path, url, monkeypatch)
    with pytest.raises(FailedPrecondition) as err:
        build_path(market.snapshot(), temp_model, NOW)
    assert err.value.reason == "MODEL_FEATURE_MISSING" and "temperature" in err.value.message


def test_temperature_entirely_missing_in_training_is_an_error() -> None:
    frame = _source()
    with pytest.raises(ModelError, match="entirely missing in the training data: temperature"):
        train_model(frame, "NO1", params=PARAMS, temperature=np.full(len(frame), np.nan))


def test_temperature_entirely_missing_in_the_backtest_is_an_error(
    temp_model: PriceModel, tmp_path: Path
) -> None:
    """A model configured with the temperature scored on a directory without weather files:
    refused, not scored on a NaN column."""
    data = tmp_path / "data"
    frame = _source()
    _write_files(data, frame, frame.last + timedelta(hours=1))
    with pytest.raises(ModelError, match="entirely missing in the backtest rows: temperature"):
        run_backtest(data, "NO1", "2026-02-10", "2026-02-20", "2026-03-01", model=temp_model)
