"""Today's cost: the settled hours as billed, plus the running hour at the forecast price."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from energy.tariff import Tariff
from ingest_svc.billing import TodayCost
from ingest_svc.billing.bridge_store import SettlementRow
from ingest_svc.billing.predictions import Forecaster
from ingest_svc.billing.pricing import Pricer
from ingest_svc.intake.store import READING_TABLES
from tests.ingest_svc.billing.fakes import (
    H0,
    HOUR_MS,
    FakeForecasts,
    FakePrices,
    household,
    register,
    settle_all,
    store,
    write_readings,
)

NOW_MS = H0 + 2 * HOUR_MS + 60_000  # 03:01 in Oslo, the same local day as H0


async def test_todays_cost_is_the_settled_hours_plus_the_running_hour(tmp_path: Path) -> None:
    engine = store(tmp_path)
    register(engine, household("hh-1", ["m-a"]))
    write_readings(engine, "m-a", range(25), 0.1)  # H0+2h (k=24) is in the open hour: 100 Wh
    costs = TodayCost(engine, READING_TABLES, Tariff())
    assert costs.today_cost_eur("hh-1", "Europe/Oslo", NOW_MS) == 0.0  # nothing settled yet
    settle_all(engine)
    await Pricer(engine, Tariff(), FakePrices(eur_mwh=100.0), tables=READING_TABLES).run_once()
    with engine.connect() as conn:
        settled = conn.execute(select(func.sum(SettlementRow.total_cost_micro_eur))).scalar_one() / 1e6
    # No forecast yet: the running hour is left out.
    assert costs.today_cost_eur("hh-1", "Europe/Oslo", NOW_MS) == settled
    await Forecaster(engine, READING_TABLES, FakeForecasts(target_ms=H0 + 3 * HOUR_MS)).run_once()
    running = costs.today_cost_eur("hh-1", "Europe/Oslo", NOW_MS) - settled
    # 100 Wh at 0.12 EUR/kWh spot, plus grid, capacity and standing share and VAT: cents, not euros.
    assert 0.012 < running < 1.0
    # The next local day starts from zero.
    assert costs.today_cost_eur("hh-1", "Europe/Oslo", H0 + 30 * HOUR_MS) < settled
