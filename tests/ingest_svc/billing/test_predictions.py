"""Forecasts with a fake predict source: one PREDICTION per household and target hour."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from energypulse.ledger.v1 import ledger_service_pb2
from ingest_svc.billing.bridge_store import OutboxRow
from ingest_svc.billing.predictions import Forecaster
from ingest_svc.intake.store import READING_TABLES
from tests.ingest_svc.billing.fakes import (
    H0,
    HOUR_MS,
    Clock,
    FakeForecasts,
    household,
    register,
    settle_all,
    store,
    write_readings,
)


async def test_each_household_is_forecast_once_per_round_and_recorded_once(tmp_path: Path) -> None:
    engine = store(tmp_path)
    register(engine, household("hh-1", ["m-a"]), household("hh-2", ["m-b"]))
    write_readings(engine, "m-a", range(25), 0.1)
    write_readings(engine, "m-b", range(3), 0.2)  # silent after H0 + 10 min
    settle_all(engine)
    forecasts = FakeForecasts(target_ms=H0 + 3 * HOUR_MS)
    forecaster = Forecaster(engine, READING_TABLES, forecasts, batch_size=10, clock=Clock())
    assert await forecaster.run_once() == 2
    assert await forecaster.run_once() == -1  # this round is done: no second PredictBatch
    [request] = forecasts.requests
    inputs = {h.household_id: list(h.recent_hourly_kw) for h in request.households}
    assert inputs["hh-1"] == [1.1, 1.2]  # mean kW of its settled hours, oldest first
    assert inputs["hh-2"] == [0.4]  # its silent meter's hour, closed by the grace: 2 x 0.2 kWh
    with engine.connect() as conn:
        [payload] = conn.execute(select(OutboxRow.payload)).scalars().all()
    records = ledger_service_pb2.AppendRecordsRequest.FromString(payload).records
    assert sorted(r.prediction.household_id for r in records) == ["hh-1", "hh-2"]
    p = records[0].prediction
    assert p.price_p10_micro_eur_per_kwh < p.price_p50_micro_eur_per_kwh < p.price_p90_micro_eur_per_kwh
    assert p.consumption_wh == 500 and p.target_hour.seconds * 1000 == H0 + 3 * HOUR_MS


async def test_each_household_is_forecast_by_its_registered_contract(tmp_path: Path) -> None:
    """predict_svc bills the cost forecast by the household's contract: ingest sends it with the
    batch input (none registered: empty, predict_svc takes the zone's grid company and defaults)."""
    from ingest_svc.billing import contract_columns

    engine = store(tmp_path)
    register(
        engine,
        {**household("hh-1", ["m-a"]), **contract_columns("bkk", "1806", "norgespris", "cabin", 3.5, 49.0)},
        household("hh-2", ["m-b"]),
    )
    write_readings(engine, "m-a", range(25), 0.1)
    write_readings(engine, "m-b", range(25), 0.2)
    settle_all(engine)
    forecasts = FakeForecasts(target_ms=H0 + 3 * HOUR_MS)
    assert await Forecaster(engine, READING_TABLES, forecasts, batch_size=10, clock=Clock()).run_once() == 2
    [request] = forecasts.requests
    sent = {h.household_id: h.contract for h in request.households}
    c = sent["hh-1"]
    assert (c.grid_company, c.municipality, c.price_scheme, c.dwelling) == (
        "bkk",
        "1806",
        "norgespris",
        "cabin",
    )
    assert c.supplier_markup_micro_per_kwh == 35_000 and c.supplier_fee_nano_per_month == 49_000_000_000
    assert not sent["hh-2"].grid_company and not sent["hh-2"].HasField("supplier_markup_micro_per_kwh")
