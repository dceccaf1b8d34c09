"""The price-forecast adapter: GetPriceForecast's periods (7 days, quarter-hours) -> bands."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from energypulse.prediction.v1 import forecast_pb2, prediction_service_pb2
from ingest_svc.billing.clients import FORECAST_DAYS, _band


def test_published_periods_are_exact_and_forecast_ones_carry_their_quantiles() -> None:
    published = forecast_pb2.PricePeriod(
        start_time=Timestamp(seconds=1_767_225_600),
        duration_minutes=15,
        kind=forecast_pb2.PRICE_KIND_PUBLISHED,
        price_eur_mwh=81.5,
    )
    forecast = forecast_pb2.PricePeriod(
        duration_minutes=15,
        kind=forecast_pb2.PRICE_KIND_FORECAST,
        price_eur_mwh=90.0,
        quantiles=[
            forecast_pb2.Quantile(level=0.9, price_eur_mwh=140.0),
            forecast_pb2.Quantile(level=0.1, price_eur_mwh=60.0),
            forecast_pb2.Quantile(level=0.5, price_eur_mwh=90.0),
        ],
    )
    assert _band(published) == (81.5, 81.5, 81.5)
    assert _band(forecast) == (60.0, 90.0, 140.0)
    # the whole 7-day forecast, no cut in hours (tests/ingest_svc/test_price_forecast_client.py
    # reads it from the real predict_svc)
    request = prediction_service_pb2.GetPriceForecastRequest(horizon_days=FORECAST_DAYS)
    assert request.horizon_hours == 0 and request.horizon_days == 7
