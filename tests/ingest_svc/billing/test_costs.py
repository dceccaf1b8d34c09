"""Today's cost: the household's settled periods since local midnight, as priced for the ledger (NOK)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from ingest_svc.billing import TodayCost
from ingest_svc.billing.bridge_store import SettlementRow
from ingest_svc.billing.pricing import Pricer
from ingest_svc.intake.store import READING_TABLES
from tests.ingest_svc.billing.fakes import (
    H0,
    HOUR_MS,
    FakePrices,
    household,
    register,
    settle_all,
    store,
    write_readings,
)

NOW_MS = H0 + 2 * HOUR_MS + 60_000  # 03:01 in Oslo, the same local day as H0


async def test_todays_cost_is_the_settled_periods_nok_bill(tmp_path: Path) -> None:
    engine = store(tmp_path)
    register(engine, household("hh-1", ["m-a"]))
    write_readings(engine, "m-a", range(25), 0.1)
    costs = TodayCost(engine, "NOK")
    assert costs.today_cost_minor("hh-1", "Europe/Oslo", NOW_MS) == 0  # nothing settled yet
    settle_all(engine)
    await Pricer(engine, FakePrices(eur_mwh=100.0), tables=READING_TABLES).run_once()
    with engine.connect() as conn:
        rows = conn.execute(
            select(SettlementRow.currency, SettlementRow.cost_micro, SettlementRow.cost_components)
        ).all()
    assert rows and {r.currency for r in rows} == {"NOK"}
    for r in rows:  # every legacy hour is priced in NOK too: its parts sum to its total
        assert sum(amount for _, amount in json.loads(r.cost_components)) == r.cost_micro
    total_micro = sum(int(r.cost_micro) for r in rows)
    # 1.2 kWh an hour at 100 EUR/MWh x 11.50 = 1.15 NOK/kWh plus grid, taxes and VAT: kroner, not ore
    today = costs.today_cost_minor("hh-1", "Europe/Oslo", NOW_MS)
    assert today == round(total_micro / 10_000) and 200 < today < 2_000
    assert TodayCost(engine, "EUR").today_cost_minor("hh-1", "Europe/Oslo", NOW_MS) == 0  # by currency
    # The next local day starts from zero.
    assert costs.today_cost_minor("hh-1", "Europe/Oslo", H0 + 30 * HOUR_MS) == 0
