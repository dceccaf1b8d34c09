"""PredictionService through real stubs against an in-process server on port 0 (with auth)."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import numpy as np
import pandas as pd
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from auth_svc.testing import TokenFactory
from common.errors import error_info
from energy.bill import Contract
from energy.bill.forecast import hour_costs
from energy.billrules import BillRules, default_bill_rules
from energypulse.prediction.v1 import forecast_pb2
from energypulse.prediction.v1 import prediction_service_pb2 as pb
from energypulse.prediction.v1 import prediction_service_pb2_grpc as pb_grpc
from predict_svc.model import PriceModel, save_model
from predict_svc.server import PredictApp, watch_models
from tests.predict_svc.conftest import NOW
from tests.predict_svc.serving import HOUSEHOLD, bearer, seeded_app, serving


@dataclass
class Harness:
    app: PredictApp
    stub: pb_grpc.PredictionServiceStub
    model_dir: Path
    factory: TokenFactory

    def auth(
        self, role: str = "user", households: tuple[str, ...] = (HOUSEHOLD,)
    ) -> tuple[tuple[str, str], ...]:
        return bearer(self.factory, role, households)


@pytest.fixture
async def harness(model_dir: Path, tmp_path: Path) -> AsyncIterator[Harness]:
    app = seeded_app(
        tmp_path,
        lambda: NOW,
        models_from=model_dir,
        zones=("NO1", "NO2"),
        max_batch=2000,
        accuracy_window_hours=72,
    )
    async with serving(app) as (stub, factory):
        yield Harness(app, stub, tmp_path / "models", factory)


async def _error(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    info = error_info(caught.value)
    return caught.value.code(), info.reason if info else ""


def _dt(value: Timestamp) -> pd.Timestamp:
    return pd.Timestamp(value.seconds, unit="s", tz="UTC")


async def test_price_forecast_24_hours_with_intervals(harness: Harness) -> None:
    response = await harness.stub.GetPriceForecast(
        pb.GetPriceForecastRequest(zone="no1"), metadata=harness.auth()
    )
    assert response.zone == "NO1" and len(response.points) == 24
    issue = _dt(response.issue_time)
    assert issue == NOW.floor("h")
    for h, point in enumerate(response.points, start=1):
        assert point.horizon_hours == h
        assert _dt(point.hour_start) == issue + pd.Timedelta(hours=h)
        assert point.p10_eur_mwh <= point.p50_eur_mwh <= point.p90_eur_mwh
    short = await harness.stub.GetPriceForecast(
        pb.GetPriceForecastRequest(zone="NO1", horizon_hours=6), metadata=harness.auth()
    )
    assert [p.p50_eur_mwh for p in short.points] == [p.p50_eur_mwh for p in response.points[:6]]
    assert short.model_version == response.model_version


async def test_bad_inputs_map_to_statuses_with_reasons(harness: Harness) -> None:
    stub, auth = harness.stub, harness.auth()
    cases = [
        (
            stub.GetPriceForecast(pb.GetPriceForecastRequest(zone="SE3"), metadata=auth),
            grpc.StatusCode.NOT_FOUND,
            "ZONE_NOT_FOUND",
        ),
        (
            stub.GetPriceForecast(pb.GetPriceForecastRequest(zone=""), metadata=auth),
            grpc.StatusCode.INVALID_ARGUMENT,
            "ZONE_REQUIRED",
        ),
        (
            stub.GetPriceForecast(pb.GetPriceForecastRequest(zone="NO1", horizon_hours=193), metadata=auth),
            grpc.StatusCode.INVALID_ARGUMENT,
            "HORIZON_OUT_OF_RANGE",
        ),
        (
            stub.GetPriceForecast(pb.GetPriceForecastRequest(zone="NO1", horizon_days=8), metadata=auth),
            grpc.StatusCode.INVALID_ARGUMENT,
            "HORIZON_OUT_OF_RANGE",
        ),
        (
            stub.GetPriceForecast(pb.GetPriceForecastRequest(zone="N0 1;"), metadata=auth),
            grpc.StatusCode.INVALID_ARGUMENT,
            "ZONE_INVALID",
        ),
        (
            stub.GetPriceForecast(pb.GetPriceForecastRequest(zone="NO1", resolution=7), metadata=auth),  # type: ignore[arg-type]
            grpc.StatusCode.INVALID_ARGUMENT,
            "RESOLUTION_INVALID",
        ),
        (
            stub.GetMarketPrices(pb.GetMarketPricesRequest(zone="NO1", resolution=9), metadata=auth),  # type: ignore[arg-type]
            grpc.StatusCode.INVALID_ARGUMENT,
            "RESOLUTION_INVALID",
        ),
        (
            stub.GetPriceForecast(pb.GetPriceForecastRequest(zone="NO1", horizon_hours=-1), metadata=auth),
            grpc.StatusCode.INVALID_ARGUMENT,
            "HORIZON_OUT_OF_RANGE",
        ),
        # NO2 is served but has no artifact (the test copies only NO1's) and start-up training is not run.
        (
            stub.GetPriceForecast(pb.GetPriceForecastRequest(zone="NO2"), metadata=auth),
            grpc.StatusCode.UNAVAILABLE,
            "MODEL_NOT_READY",
        ),
        (
            stub.PredictHousehold(pb.PredictHouseholdRequest(household_id=HOUSEHOLD), metadata=auth),
            grpc.StatusCode.NOT_FOUND,
            "HOUSEHOLD_NOT_FOUND",
        ),
        (
            stub.GetAccuracy(pb.GetAccuracyRequest(zone="NO1", window_hours=10_000), metadata=auth),
            grpc.StatusCode.INVALID_ARGUMENT,
            "WINDOW_OUT_OF_RANGE",
        ),
        (
            stub.GetMarketPrices(
                pb.GetMarketPricesRequest(
                    zone="NO1",
                    start_time=Timestamp(seconds=2_000_000_000),
                    end_time=Timestamp(seconds=1_000_000_000),
                ),
                metadata=auth,
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_TIME_RANGE",
        ),
        (
            stub.PredictBatch(
                pb.PredictBatchRequest(
                    households=[
                        forecast_pb2.HouseholdInput(household_id=f"h{i}", zone="NO1") for i in range(2001)
                    ]
                ),
                metadata=harness.auth("service"),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "BATCH_TOO_LARGE",
        ),
        (
            stub.PredictBatch(
                pb.PredictBatchRequest(
                    households=[forecast_pb2.HouseholdInput(household_id="h1", zone="XX1")]
                ),
                metadata=harness.auth("service"),
            ),
            grpc.StatusCode.NOT_FOUND,
            "ZONE_NOT_FOUND",
        ),
    ]
    for call, code, reason in cases:
        assert await _error(call) == (code, reason)
    # Access rules from the contract: batch is for services, reload for admins, households are private.
    code, _ = await _error(stub.PredictBatch(pb.PredictBatchRequest(), metadata=auth))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, _ = await _error(stub.ReloadModel(pb.ReloadModelRequest(), metadata=auth))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, _ = await _error(
        stub.PredictHousehold(pb.PredictHouseholdRequest(household_id="household-other"), metadata=auth)
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, _ = await _error(stub.GetPriceForecast(pb.GetPriceForecastRequest(zone="NO1")))
    assert code == grpc.StatusCode.UNAUTHENTICATED


# Contracts of the batch (as ingest sends them) and what they mean on the bill.
CONTRACTS = [
    (forecast_pb2.BillContract(), Contract("glitre")),  # none registered: the zone's grid company
    (forecast_pb2.BillContract(price_scheme="norgespris"), Contract("glitre", scheme="norgespris")),
    (
        forecast_pb2.BillContract(grid_company="bkk", municipality="1806", dwelling="cabin"),
        Contract("bkk", "1806", dwelling="cabin"),  # Narvik, Nordland: no VAT
    ),
    (
        forecast_pb2.BillContract(supplier_markup_micro_per_kwh=50_000, supplier_fee_nano_per_month=0),
        Contract("glitre", markup_micro_per_kwh=50_000, monthly_fee_nano=0),
    ),
]


async def test_batch_then_household_forecast(harness: Harness) -> None:
    rng = np.random.default_rng(1)
    inputs = [
        forecast_pb2.HouseholdInput(
            household_id=HOUSEHOLD if i == 0 else f"household-{i:04d}",
            zone="NO1",
            recent_hourly_kw=list(rng.uniform(0.3, 3.0, 24)),
            residents=int(rng.integers(1, 5)),
            heating="heat_pump" if i % 2 else "district",
            has_ev=i % 3 == 0,
            daily_peaks_kw=[4.0, 7.0, 6.5, 5.5],
            contract=CONTRACTS[i % len(CONTRACTS)][0],
        )
        for i in range(500)
    ]
    batch = await harness.stub.PredictBatch(
        pb.PredictBatchRequest(households=inputs), metadata=harness.auth("service")
    )
    forecast = await harness.stub.GetPriceForecast(
        pb.GetPriceForecastRequest(zone="NO1"), metadata=harness.auth()
    )
    assert [p.household_id for p in batch.predictions] == [h.household_id for h in inputs]
    first = forecast.points[0]
    rules = default_bill_rules()  # the rule set the harness's predict_svc bills by (EP_BILL_* defaults)
    hour_ms = first.hour_start.seconds * 1000
    for i, prediction in enumerate(batch.predictions):
        assert prediction.price.p50_eur_mwh == first.p50_eur_mwh and prediction.hour_start == first.hour_start
        assert prediction.consumption_kwh >= 0
        # the household's bill, in its currency: every per-kWh line with VAT, by its contract
        assert prediction.currency == "NOK"
        assert prediction.cost_p10_micro <= prediction.cost_p50_micro <= prediction.cost_p90_micro
        wh = round(prediction.consumption_kwh * 1000)
        contract = CONTRACTS[i % len(CONTRACTS)][1]
        [expected] = hour_costs(rules, [contract], hour_ms, first.p50_eur_mwh, [wh])
        assert prediction.cost_p50_micro == expected
        # the EUR fields (a ledger PREDICTION's µEUR cost) are the same at the day's rate, 11.50
        assert prediction.cost_p50_eur == pytest.approx(prediction.cost_p50_micro / 11.5e6)
        assert prediction.model_version == forecast.model_version
    # by hand, the default contract (Glitre, spot, home; the rule set's default supplier) at the
    # published next hour: (spot x 11.50 + markup + grid day/night + elavgift + Enova - support) x 1.25
    book = rules.book
    local = _dt(first.hour_start).astimezone(ZoneInfo("Europe/Oslo"))
    grid = book.grid("glitre").at(local.date())
    spot = round(first.p50_eur_mwh * 11.5 * 1000)
    support = book.support.at(local.date())
    per_kwh = (
        spot
        + book.supplier.at(local.date()).markup_micro_per_kwh
        + (grid.day_micro_per_kwh if grid.is_day(local.hour, local.weekday()) else grid.night_micro_per_kwh)
        + book.elavgift.at(local.date())
        + book.enova.at(local.date())
        - max(spot - support.threshold_micro_per_kwh, 0) * support.percent_bp // 10_000
    ) * (10_000 + book.vat_bp.at(local.date()))
    own = batch.predictions[0]  # household 0: the default contract
    assert abs(own.cost_p50_micro - round(own.consumption_kwh * 1000) * per_kwh / 10_000 / 1000) <= 5

    response = await harness.stub.PredictHousehold(
        pb.PredictHouseholdRequest(
            household_id=HOUSEHOLD, price_threshold_eur_mwh=first.p50_eur_mwh, cheapest_hours_count=4
        ),
        metadata=harness.auth(),
    )
    result = response.forecast
    assert result.household_id == HOUSEHOLD and result.zone == "NO1" and len(result.hours) == 24
    assert result.next_hour.consumption_kwh == pytest.approx(batch.predictions[0].consumption_kwh)
    billed = result.next_hour.billed_price
    assert billed.currency == result.currency == result.next_hour.currency == "NOK"
    assert abs(billed.total_micro_per_kwh - per_kwh / 10_000) <= 2  # all-in, VAT included
    assert billed.total_micro_per_kwh == (
        billed.energy_micro_per_kwh
        + billed.grid_micro_per_kwh
        + billed.taxes_micro_per_kwh
        + billed.support_micro_per_kwh
        + billed.vat_micro_per_kwh
    )
    assert billed.spot_micro_per_kwh == spot
    assert result.next_hour.price.total_eur_kwh == pytest.approx(billed.total_micro_per_kwh / 11.5e6)
    assert result.next_hour.cost_p50_micro == own.cost_p50_micro
    p50 = np.array([p.p50_eur_mwh for p in forecast.points])
    cheapest = [_dt(t) for t in result.cheapest_hours]
    assert len(cheapest) == 4
    assert cheapest == [_dt(forecast.points[i].hour_start) for i in np.argsort(p50, kind="stable")[:4]]
    # The next hour is published: its price is not above itself (exactly 0, not a guess).
    assert len(result.exceed_probability) == 24 and result.exceed_probability[0] == 0.0
    assert all(0 <= p <= 1 for p in result.exceed_probability)
    # Top three daily peaks 7.0, 6.5, 5.5 -> 6.33 kW -> Glitre's 5-10 kW step, incl. VAT; the
    # supplier's monthly fee apart (fixed charges are never in the per-kWh price).
    vat = 10_000 + book.vat_bp.at(local.date())
    step = next(x for x in grid.steps if x.up_to_wh is None or 19_000 < x.up_to_wh * 3)
    assert result.capacity_charge_micro_per_month == round(step.nano_per_month * vat / 10_000 / 1000)
    fee = book.supplier.at(local.date()).monthly_fee_nano
    assert result.supplier_fee_micro_per_month == round(fee * vat / 10_000 / 1000)
    assert result.capacity_charge_eur_month == pytest.approx(result.capacity_charge_micro_per_month / 11.5e6)
    quick = await harness.stub.PredictHousehold(
        pb.PredictHouseholdRequest(household_id=HOUSEHOLD, horizon_hours=3), metadata=harness.auth()
    )
    assert len(quick.forecast.hours) == 3 and len(quick.forecast.cheapest_hours) == 3
    assert list(quick.forecast.exceed_probability) == []  # no threshold given


async def test_batch_answers_in_request_order_as_if_each_household_came_alone(harness: Harness) -> None:
    """Zone spellings that normalise alike are grouped, ragged histories (none, short, a full day,
    more than a day) take the general path: each answer equals that household's batch of one."""
    rng = np.random.default_rng(2)
    inputs = [
        forecast_pb2.HouseholdInput(
            household_id=f"household-{i}",
            zone=("NO1", " no1 ", "No1")[i % 3],
            recent_hourly_kw=list(rng.uniform(0.1, 4.0, (0, 5, 24, 30)[i % 4])),
            residents=1 + i % 4,
            heating=("heat_pump", "electric", "district")[i % 3],
            has_ev=i % 2 == 0,
            has_solar=i % 5 == 0,
        )
        for i in range(24)
    ]
    service = harness.auth("service")
    batch = await harness.stub.PredictBatch(pb.PredictBatchRequest(households=inputs), metadata=service)
    assert [p.household_id for p in batch.predictions] == [h.household_id for h in inputs]
    for household, prediction in zip(inputs, batch.predictions, strict=True):
        alone = await harness.stub.PredictBatch(
            pb.PredictBatchRequest(households=[household]), metadata=service
        )
        assert prediction == alone.predictions[0]
    code, reason = await _error(
        harness.stub.PredictBatch(
            pb.PredictBatchRequest(
                households=[*inputs[:3], forecast_pb2.HouseholdInput(household_id="x", zone="XX1")]
            ),
            metadata=service,
        )
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "ZONE_NOT_FOUND")
    code, reason = await _error(
        harness.stub.PredictBatch(
            pb.PredictBatchRequest(households=[*inputs[:3], forecast_pb2.HouseholdInput(zone="NO1")]),
            metadata=service,
        )
    )
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "HOUSEHOLD_ID_REQUIRED")


async def test_model_info_accuracy_and_market_prices(harness: Harness, small_model: PriceModel) -> None:
    info = (
        await harness.stub.GetModelInfo(pb.GetModelInfoRequest(zone="NO1"), metadata=harness.auth())
    ).model
    assert info.version == small_model.version and info.data_source == "synthetic"
    assert list(info.features) == list(small_model.features) and "h1_val_mae" in info.metrics
    assert _dt(info.train_end) <= NOW
    accuracy = await harness.stub.GetAccuracy(
        pb.GetAccuracyRequest(zone="NO1", window_hours=48), metadata=harness.auth()
    )
    assert 40 <= accuracy.hours <= 48 and len(accuracy.points) == accuracy.hours
    assert (
        accuracy.mae_eur_mwh > 0 and 0 <= accuracy.interval_coverage <= 1 and accuracy.naive_mae_eur_mwh > 0
    )
    assert all(_dt(p.hour_start) <= NOW for p in accuracy.points)
    # In the bill's currency too: each hour at its day's rate, the errors at today's (11.50 here).
    assert accuracy.currency == "NOK" and accuracy.eur_rate == "11.50"
    assert accuracy.mae_micro_per_kwh == _nok_micro(accuracy.mae_eur_mwh) > 0
    assert accuracy.naive_mae_micro_per_kwh == _nok_micro(accuracy.naive_mae_eur_mwh)
    for point in accuracy.points:
        assert (point.forecast_p10_micro_per_kwh, point.forecast_p50_micro_per_kwh) == (
            _nok_micro(point.forecast_p10_eur_mwh),
            _nok_micro(point.forecast_p50_eur_mwh),
        )
        assert point.forecast_p90_micro_per_kwh == _nok_micro(point.forecast_p90_eur_mwh)
        assert point.actual_micro_per_kwh == _nok_micro(point.actual_eur_mwh)
    for day in accuracy.by_horizon_day:
        assert day.mae_micro_per_kwh == _nok_micro(day.mae_eur_mwh)
        assert day.naive_mae_micro_per_kwh == (
            _nok_micro(day.naive_mae_eur_mwh) if np.isfinite(day.naive_mae_eur_mwh) else 0
        )
    prices = await harness.stub.GetMarketPrices(
        pb.GetMarketPricesRequest(zone="NO1"), metadata=harness.auth()
    )
    frame = harness.app.markets["NO1"].frame
    assert 23 <= len(prices.prices) <= 24
    for item in prices.prices:
        assert _dt(item.hour_start) <= NOW
        assert item.price_eur_mwh == pytest.approx(frame.value("price", _dt(item.hour_start)))
    # The accuracy points agree with the cleared prices of the same hours.
    by_hour = {_dt(p.hour_start): p.price_eur_mwh for p in prices.prices}
    for point in accuracy.points:
        if _dt(point.hour_start) in by_hour:
            assert point.actual_eur_mwh == pytest.approx(by_hour[_dt(point.hour_start)])


async def test_hot_reload_under_concurrent_load(harness: Harness, small_model: PriceModel) -> None:
    stub = harness.stub
    auth = harness.auth()
    old = small_model.version
    seen: list[str] = []
    errors: list[BaseException] = []
    stop = asyncio.Event()

    async def hammer() -> None:
        while not stop.is_set():
            try:
                response = await stub.GetPriceForecast(pb.GetPriceForecastRequest(zone="NO1"), metadata=auth)
                seen.append(response.model_version)
                assert len(response.points) == 24
            except BaseException as exc:  # noqa: BLE001 - every failure is collected and asserted
                errors.append(exc)

    workers = [asyncio.create_task(hammer()) for _ in range(4)]
    await asyncio.sleep(0.2)
    # 1) File watch: a new artifact appears atomically in the model directory.
    watcher = asyncio.create_task(watch_models(harness.app, 0.05))
    save_model(dataclasses.replace(small_model, version="watched-v2"), harness.model_dir / "NO1.json")
    for _ in range(200):
        if seen and seen[-1] == "watched-v2":
            break
        await asyncio.sleep(0.05)
    watcher.cancel()
    # 2) Admin ReloadModel with another new artifact.
    save_model(dataclasses.replace(small_model, version="reloaded-v3"), harness.model_dir / "NO1.json")
    reloaded = await stub.ReloadModel(pb.ReloadModelRequest(zone="NO1"), metadata=harness.auth("admin"))
    assert [m.version for m in reloaded.models] == ["reloaded-v3"]
    await asyncio.sleep(0.2)
    # 3) A broken artifact is refused and the running model keeps serving.
    (harness.model_dir / "NO1.json").write_text("{broken")
    code, reason = await _error(
        stub.ReloadModel(pb.ReloadModelRequest(zone="NO1"), metadata=harness.auth("admin"))
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "MODEL_ARTIFACT_INVALID")
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*workers)
    assert errors == []
    assert seen[0] == old and seen[-1] == "reloaded-v3"
    assert "watched-v2" in seen
    # Versions move forward: after the last swap only calls already in flight (one per worker)
    # may still answer with an older model.
    first_v3 = seen.index("reloaded-v3")
    assert sum(v != "reloaded-v3" for v in seen[first_v3:]) <= len(workers)
    assert len(seen) > 20
    info = await stub.GetModelInfo(pb.GetModelInfoRequest(zone="NO1"), metadata=auth)
    assert info.model.version == "reloaded-v3"


async def test_price_forecast_marks_published_and_forecast_periods(harness: Harness) -> None:
    """One answer: today's published quarters, then forecast quarters from the first unpublished
    period over 7 delivery days; never a forecast for a published period."""
    market = harness.app.markets["NO1"]
    response = await harness.stub.GetPriceForecast(
        pb.GetPriceForecastRequest(zone="NO1", price_threshold_eur_mwh=1e6), metadata=harness.auth()
    )
    assert response.resolution == forecast_pb2.PRICE_RESOLUTION_QUARTER_HOUR
    periods = list(response.periods)
    kinds = [p.kind for p in periods]
    n_pub = kinds.count(forecast_pb2.PRICE_KIND_PUBLISHED)
    assert n_pub > 0 and kinds == [forecast_pb2.PRICE_KIND_PUBLISHED] * n_pub + [
        forecast_pb2.PRICE_KIND_FORECAST
    ] * (len(kinds) - n_pub)
    published_end = market.clock.to_real(market.published_end())
    assert _dt(response.forecast_start_time) == published_end
    for p in periods:
        start = _dt(p.start_time)
        assert p.duration_minutes == 15
        if p.kind == forecast_pb2.PRICE_KIND_FORECAST:
            assert start >= published_end  # no forecast for a published period
            # P10/P50/P90 and the week-ahead model's spike tail P95..P99.9, as quantile_levels says.
            levels = [0.1, 0.5, 0.9, 0.95, 0.99, 0.995, 0.999]
            assert [q.level for q in p.quantiles] == levels and p.derived
            assert list(response.quantile_levels) == levels
            assert [q.price_eur_mwh for q in p.quantiles] == sorted(q.price_eur_mwh for q in p.quantiles)
            assert p.exceed_status == forecast_pb2.EXCEED_STATUS_ABOVE_TOP_QUANTILE
            assert p.exceed_probability == pytest.approx(0.001)  # at most 1 - the top level
        else:
            assert start < published_end and not p.quantiles
            assert p.price_eur_mwh == market.price_at(market.clock.to_data(start))
            assert p.exceed_status == forecast_pb2.EXCEED_STATUS_EXACT and p.exceed_probability == 0.0
    forecast_days = {p.delivery_day for p in periods if p.kind == forecast_pb2.PRICE_KIND_FORECAST}
    assert len(forecast_days) == 7
    days = {d.delivery_day: d for d in response.delivery_days}
    assert [d.published for d in response.delivery_days][: len(days) - 7] == [True] * (len(days) - 7)
    assert all(days[d].published is False for d in forecast_days)
    # Cheapest periods: certain on published days, likely on forecast days.
    certainty = {c.delivery_day: c.certainty for c in response.cheapest_periods}
    for day, value in certainty.items():
        expected = (
            forecast_pb2.CHEAPEST_CERTAINTY_LIKELY
            if day in forecast_days
            else forecast_pb2.CHEAPEST_CERTAINTY_CERTAIN
        )
        assert value == expected
    # Hourly view: each hour the mean of its four quarters.
    hourly = await harness.stub.GetPriceForecast(
        pb.GetPriceForecastRequest(zone="NO1", resolution=forecast_pb2.PRICE_RESOLUTION_HOUR),
        metadata=harness.auth(),
    )
    assert len(hourly.periods) * 4 == len(periods)
    for i, h in enumerate(hourly.periods):
        quarters = periods[4 * i : 4 * i + 4]
        assert h.kind == quarters[0].kind and h.duration_minutes == 60
        assert h.price_eur_mwh == pytest.approx(np.mean([q.price_eur_mwh for q in quarters]))
    # GetMarketPrices over the week ahead: the same periods, the same marks.
    prices = await harness.stub.GetMarketPrices(
        pb.GetMarketPricesRequest(
            zone="NO1", start_time=response.periods[0].start_time, end_time=response.periods[-1].start_time
        ),
        metadata=harness.auth(),
    )
    assert [(p.kind, p.price_eur_mwh) for p in prices.periods] == [
        (p.kind, p.price_eur_mwh) for p in periods[:-1]
    ]
    assert all(_dt(p.hour_start) < published_end for p in prices.prices)


async def test_cheapest_windows_published_first_then_forecast(harness: Harness) -> None:
    market = harness.app.markets["NO1"]
    response = await harness.stub.FindCheapestWindows(
        pb.FindCheapestWindowsRequest(zone="no1", duration_minutes=240, window_count=4),
        metadata=harness.auth(),
    )
    assert response.zone == "NO1" and response.duration_minutes == 240 and len(response.windows) == 4
    published_end = market.clock.to_real(market.published_end())
    assert _dt(response.forecast_start_time) == published_end
    certainties = [w.certainty for w in response.windows]
    assert certainties == sorted(certainties)  # certain ones first
    spans = []
    for w in response.windows:
        start, end = _dt(w.start_time), _dt(w.end_time)
        assert end - start == pd.Timedelta(hours=4) and start >= NOW.floor("15min")
        assert w.low_price_eur_mwh <= w.mean_price_eur_mwh <= w.high_price_eur_mwh
        if w.certainty == forecast_pb2.CHEAPEST_CERTAINTY_CERTAIN:
            assert end <= published_end and w.published_share == 1.0
            # An exact window's mean is the mean of its published quarter prices.
            quarters = [
                market.price_at(market.clock.to_data(start + pd.Timedelta(minutes=15 * k))) for k in range(16)
            ]
            assert w.mean_price_eur_mwh == pytest.approx(np.mean(quarters))
        else:
            assert end > published_end and w.published_share < 1.0
        spans.append((start, end))
    spans.sort()
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # never overlapping


async def test_cheapest_windows_refuse_bad_durations_and_counts(harness: Harness) -> None:
    stub, auth = harness.stub, harness.auth()
    for duration in (0, 10, -15, 1445, 100):
        code, reason = await _error(
            stub.FindCheapestWindows(
                pb.FindCheapestWindowsRequest(zone="NO1", duration_minutes=duration), metadata=auth
            )
        )
        assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "CHEAPEST_WINDOW_DURATION_INVALID"), (
            duration
        )
    for request in (
        pb.FindCheapestWindowsRequest(zone="NO1", duration_minutes=60, window_count=11),
        pb.FindCheapestWindowsRequest(zone="NO1", duration_minutes=60, window_count=-1),
        pb.FindCheapestWindowsRequest(zone="NO1", duration_minutes=60, horizon_hours=193),
    ):
        code, reason = await _error(stub.FindCheapestWindows(request, metadata=auth))
        assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "CHEAPEST_WINDOW_RANGE_INVALID"), request
    code, _ = await _error(
        stub.FindCheapestWindows(pb.FindCheapestWindowsRequest(zone="NO1", duration_minutes=60))
    )
    assert code == grpc.StatusCode.UNAUTHENTICATED


def _nok_micro(eur_mwh: float, rate: str = "11.50") -> int:
    """EUR/MWh as µNOK/kWh by hand: x rate x 1000, rounded half away from zero."""
    value = Decimal(repr(eur_mwh)) * Decimal(rate) * 1000
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def test_price_forecast_spot_in_the_bill_currency(harness: Harness) -> None:
    """Every served spot price also in the bill's currency (NOK at the day's rate, the EP_BILL_*
    default fallback 11.50 here), converted and rounded as the bill converts its spot line."""
    response = await harness.stub.GetPriceForecast(
        pb.GetPriceForecastRequest(zone="NO1"), metadata=harness.auth()
    )
    assert response.currency == "NOK"
    assert {d.eur_rate for d in response.delivery_days} == {"11.50"}
    for p in response.periods:
        assert p.spot_micro_per_kwh == _nok_micro(p.price_eur_mwh)
        assert [q.spot_micro_per_kwh for q in p.quantiles] == [
            _nok_micro(q.price_eur_mwh) for q in p.quantiles
        ]
    assert any(p.kind == forecast_pb2.PRICE_KIND_FORECAST and p.day_offset == 7 for p in response.periods)
    for c in response.cheapest_periods:
        assert c.spot_micro_per_kwh == _nok_micro(c.price_eur_mwh)
    windows = await harness.stub.FindCheapestWindows(
        pb.FindCheapestWindowsRequest(zone="NO1", duration_minutes=60), metadata=harness.auth()
    )
    assert windows.currency == "NOK" and windows.windows
    for w in windows.windows:
        assert (w.mean_spot_micro_per_kwh, w.low_spot_micro_per_kwh, w.high_spot_micro_per_kwh) == (
            _nok_micro(w.mean_price_eur_mwh),
            _nok_micro(w.low_price_eur_mwh),
            _nok_micro(w.high_price_eur_mwh),
        )
    prices = await harness.stub.GetMarketPrices(
        pb.GetMarketPricesRequest(
            zone="NO1", start_time=response.periods[0].start_time, end_time=response.periods[8].start_time
        ),
        metadata=harness.auth(),
    )
    assert prices.currency == "NOK" and prices.prices and prices.periods
    assert all(a.spot_micro_per_kwh == _nok_micro(a.price_eur_mwh) for a in prices.prices)
    assert all(p.spot_micro_per_kwh == _nok_micro(p.price_eur_mwh) for p in prices.periods)


async def test_price_threshold_in_the_bill_currency(harness: Harness) -> None:
    """A threshold in µNOK/kWh gives the probabilities of the same threshold in EUR/MWh at the
    day's rate; published periods compare exactly in NOK; both thresholds at once is refused."""
    plain = await harness.stub.GetPriceForecast(
        pb.GetPriceForecastRequest(zone="NO1"), metadata=harness.auth()
    )
    published = [p for p in plain.periods if p.kind == forecast_pb2.PRICE_KIND_PUBLISHED]
    threshold = sorted(p.spot_micro_per_kwh for p in published)[len(published) // 2]  # a published median
    in_nok = await harness.stub.GetPriceForecast(
        pb.GetPriceForecastRequest(zone="NO1", price_threshold_micro_per_kwh=threshold),
        metadata=harness.auth(),
    )
    in_eur = await harness.stub.GetPriceForecast(
        pb.GetPriceForecastRequest(zone="NO1", price_threshold_eur_mwh=threshold / 11.5 / 1000),
        metadata=harness.auth(),
    )
    assert in_nok.price_threshold_micro_per_kwh == threshold and in_nok.currency == "NOK"
    for a, b in zip(in_nok.periods, in_eur.periods, strict=True):
        assert a.exceed_status == b.exceed_status != forecast_pb2.EXCEED_STATUS_UNSPECIFIED
        if a.kind == forecast_pb2.PRICE_KIND_PUBLISHED:
            assert a.exceed_probability == (1.0 if a.spot_micro_per_kwh > threshold else 0.0)
        else:
            assert a.exceed_probability == pytest.approx(b.exceed_probability, abs=1e-9)
    flags = [p.exceed_probability for p in in_nok.periods if p.kind == forecast_pb2.PRICE_KIND_PUBLISHED]
    assert 0.0 in flags and 1.0 in flags
    code, reason = await _error(
        harness.stub.GetPriceForecast(
            pb.GetPriceForecastRequest(
                zone="NO1", price_threshold_eur_mwh=50.0, price_threshold_micro_per_kwh=500_000
            ),
            metadata=harness.auth(),
        )
    )
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "PRICE_THRESHOLD_CONFLICT")


# A mix the batch path must group: grid areas, VAT- and elavgift-exempt municipalities, both
# schemes, cabins, supplier overrides (0 included: an override, not "unset").
_MIXED_CONTRACTS = [
    *(c for c, _ in CONTRACTS),
    forecast_pb2.BillContract(municipality="0301", price_scheme="spot"),
    forecast_pb2.BillContract(grid_company="tensio", municipality="5001", price_scheme="norgespris"),
    forecast_pb2.BillContract(municipality="5601", dwelling="cabin", supplier_markup_micro_per_kwh=0),
    forecast_pb2.BillContract(grid_company="glitre", municipality="5528", supplier_fee_nano_per_month=1),
    forecast_pb2.BillContract(municipality="1804", price_scheme="norgespris", dwelling="home"),
]


def _reference_contract(rules: BillRules, h: forecast_pb2.HouseholdInput) -> Contract:
    """A household's contract read field by field, as the per-row code did before batching."""
    c = h.contract
    zone = h.zone.strip().upper()
    return Contract(
        grid_company=c.grid_company or rules.book.grid_for_zone(zone) or rules.default_grid_company,
        municipality=c.municipality,
        scheme=c.price_scheme or "spot",
        dwelling=c.dwelling or "home",
        markup_micro_per_kwh=c.supplier_markup_micro_per_kwh
        if c.HasField("supplier_markup_micro_per_kwh")
        else None,
        monthly_fee_nano=c.supplier_fee_nano_per_month if c.HasField("supplier_fee_nano_per_month") else None,
    )


@pytest.mark.parametrize(
    "now",
    [
        pd.Timestamp("2026-03-10 09:30", tz="UTC"),  # an ordinary winter hour
        pd.Timestamp("2026-03-29 00:20", tz="UTC"),  # next hour 03:00 CEST: the 23-hour day
        pd.Timestamp("2025-10-26 00:40", tz="UTC"),  # next hour the second 02:00: the 25-hour day
    ],
)
async def test_batch_fast_path_equals_each_household_billed_alone(
    now: pd.Timestamp, small_model: PriceModel, tmp_path: Path
) -> None:
    """The batch's grouped costs (distinct contracts found once, grouped by grid area) are exactly
    those of each household billed alone by its own contract, read field by field; the rest of each
    prediction equals that household's batch of one. Two zones, spellings, ragged histories."""
    models = tmp_path / "models"
    models.mkdir()
    save_model(small_model, models / "NO1.json")
    save_model(dataclasses.replace(small_model, zone="NO4"), models / "NO4.json")
    app = seeded_app(
        tmp_path,
        lambda: now.to_pydatetime(),
        zones=("NO1", "NO4"),
        model_dir=str(models),
        accuracy_window_hours=24,
    )
    rng = np.random.default_rng(7)
    inputs = [
        forecast_pb2.HouseholdInput(
            household_id=f"household-{i}",
            zone=("NO1", " no4 ", "NO4", "no1")[i % 4],
            # solar households (every 7th) export: negative net readings
            recent_hourly_kw=list(
                rng.uniform(-3.0, -0.5, (24, 0, 5, 24, 30)[i % 5])
                if i % 7 == 0
                else rng.uniform(0.1, 4.0, (24, 0, 5, 24, 30)[i % 5])
            ),
            residents=i % 5,
            heating=("heat_pump", "electric", "district", "")[i % 4],
            has_ev=i % 3 == 0,
            has_solar=i % 7 == 0,  # exporters: a lower price can cost more
            contract=_MIXED_CONTRACTS[i % len(_MIXED_CONTRACTS)],
        )
        for i in range(90)
    ]
    servicer = app.servicer
    batch = await servicer.PredictBatch(pb.PredictBatchRequest(households=inputs), None)
    rules = servicer.costs.rules
    contracts = [_reference_contract(rules, h) for h in inputs]
    assert len({(c.grid_company, c.municipality) for c in contracts}) >= 6  # several groups
    assert any(p.cost_p50_micro < 0 for p in batch.predictions)  # an exporter is in the mix
    local = ZoneInfo("Europe/Oslo")
    for h, contract, prediction in zip(inputs, contracts, batch.predictions, strict=True):
        alone = await servicer.PredictBatch(pb.PredictBatchRequest(households=[h]), None)
        assert prediction == alone.predictions[0]
        hour_ms = prediction.hour_start.seconds * 1000
        price = prediction.price
        wh = int(np.rint(prediction.consumption_kwh * 1000))
        expected = sorted(
            int(hour_costs(rules, [contract], hour_ms, p, [wh])[0])
            for p in (price.p10_eur_mwh, price.p50_eur_mwh, price.p90_eur_mwh)
        )
        assert [prediction.cost_p10_micro, prediction.cost_p50_micro, prediction.cost_p90_micro] == expected
        day = _dt(prediction.hour_start).astimezone(local).date()
        rate = float(rules.fx.rate_on(day)) * 1e6
        assert [prediction.cost_p10_eur, prediction.cost_p50_eur, prediction.cost_p90_eur] == [
            c / rate for c in expected
        ]
        assert prediction.currency == rules.book.currency
