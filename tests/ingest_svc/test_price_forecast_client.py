"""The month projection's price forecast, read from the REAL predict_svc (loopback, auth_svc tokens):
all 7 forecast delivery days after the last published one, not cut at a horizon in hours.

predict_svc runs at a pinned evening time, when tomorrow is published: the 7th forecast day then
ends more than 192 h (GetPriceForecast's longest horizon_hours cut) from now, so a cut would lose
its last hours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from energy.localtime import LOCAL_TZ, zone
from energypulse.prediction.v1 import forecast_pb2, prediction_service_pb2
from ingest_svc.billing import PredictionClient, ServiceLogin
from tests.ingest_svc.services import SERVICE_SECRETS, Services

# Today, 21:00 local (the day-ahead results for tomorrow are published at about 13:00).
_TODAY = datetime.now(UTC).astimezone(zone(LOCAL_TZ)).date()
EVENING = datetime(_TODAY.year, _TODAY.month, _TODAY.day, 21, tzinfo=zone(LOCAL_TZ)).astimezone(UTC)


@pytest.fixture
async def services(tmp_path: Path, small_model_dir: Path) -> AsyncIterator[Services]:
    running = Services(tmp_path / "svc", small_model_dir, predict_now=lambda: EVENING)
    running.root.mkdir()
    await running.start("auth")
    await running.start("predict")
    yield running
    await running.stop_all()


async def test_projection_forecast_reaches_the_end_of_the_seventh_forecast_day(services: Services) -> None:
    login = ServiceLogin(services.target("auth"), "ingest", SERVICE_SECRETS["ingest"])
    client = PredictionClient(services.target("predict"), login, 30.0)
    try:
        bands = await client.price_forecast("NO1")
        # what predict_svc serves for 7 forecast days, uncut
        servicer = services.apps["predict"].servicer
        full = await servicer.GetPriceForecast(
            prediction_service_pb2.GetPriceForecastRequest(
                zone="NO1", horizon_days=7, resolution=forecast_pb2.PRICE_RESOLUTION_QUARTER_HOUR
            ),
            None,
        )
    finally:
        await client.close()
    days = [d for d in full.delivery_days]
    assert days[1].published, "tomorrow is published at 21:00"
    starts = sorted(bands)
    last_end = datetime.fromtimestamp(starts[-1] / 1000, tz=UTC) + timedelta(minutes=15)
    # every period served is in the projection's input, the last one included ...
    assert starts == [p.start_time.seconds * 1000 for p in full.periods]
    assert len(starts) == len(set(starts))
    # ... which reaches past the longest horizon_hours cut: the week after tomorrow
    assert last_end - EVENING > timedelta(hours=192)
    last_day = datetime.fromisoformat(full.periods[-1].delivery_day).date()
    assert last_day == _TODAY + timedelta(days=8)  # tomorrow (published) + 7 forecast days
    assert full.periods[-1].kind == forecast_pb2.PRICE_KIND_FORECAST
    # forecast periods carry their band, published ones are exact
    first_forecast = next(p for p in full.periods if p.kind == forecast_pb2.PRICE_KIND_FORECAST)
    low, mid, high = bands[first_forecast.start_time.seconds * 1000]
    assert low <= mid <= high and low < high
