"""Pricing closed hours with a fake price source; SETTLEMENT appends queued once per hour."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from energy.tariff import Tariff
from energypulse.ledger.v1 import ledger_service_pb2
from ingest_svc.billing.bridge_store import OutboxRow, SettlementRow
from ingest_svc.billing.pricing import Pricer
from tests.ingest_svc.billing.fakes import (
    H0,
    HOUR_MS,
    Clock,
    FakePrices,
    household,
    register,
    settle_all,
    store,
    write_readings,
)


async def test_closed_hours_are_priced_once_and_queued_for_the_ledger(tmp_path: Path) -> None:
    engine = store(tmp_path)
    register(engine, household("hh-1", ["m-a"]), household("hh-2", ["m-b"], zone="no2"))
    write_readings(engine, "m-a", range(25), 0.1)
    write_readings(engine, "m-b", range(25), 0.2)
    settle_all(engine)
    prices = FakePrices(eur_mwh=80.0, cleared_until_ms=H0 + HOUR_MS)  # only H0 cleared yet
    pricer = Pricer(engine, Tariff(), prices, clock=Clock())
    assert await pricer.run_once() == 2
    assert {zone for zone, _, _ in prices.calls} == {"NO1", "NO2"}
    prices.cleared_until_ms = None
    assert await pricer.run_once() == 2
    assert await pricer.run_once() == 0  # nothing left: no second append for any hour
    with engine.connect() as conn:
        priced = conn.execute(
            select(SettlementRow.household_id, SettlementRow.spot_price_micro_eur_per_kwh).where(
                SettlementRow.priced.is_(True)
            )
        ).all()
        outbox = conn.execute(select(OutboxRow.request_id, OutboxRow.payload)).all()
    assert len(priced) == 4 and {p for _, p in priced} == {80_000}  # 80 EUR/MWh = 0.08 EUR/kWh
    assert sorted(r for r, _ in outbox) == [
        "settlement:hh-1:2026-01-01T00:00:00Z",
        "settlement:hh-1:2026-01-01T01:00:00Z",
        "settlement:hh-2:2026-01-01T00:00:00Z",
        "settlement:hh-2:2026-01-01T01:00:00Z",
    ]
    record = ledger_service_pb2.AppendRecordsRequest.FromString(outbox[0][1]).records[0].settlement
    parts = (
        record.spot_cost_micro_eur,
        record.grid_energy_cost_micro_eur,
        record.capacity_cost_micro_eur,
        record.standing_charge_micro_eur,
        record.vat_micro_eur,
    )
    assert record.total_cost_micro_eur == sum(parts) > 0
