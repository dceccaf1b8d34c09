"""Billing built from fakes: readings to ledger records, a failing ledger, a rejected append."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from ingest_svc.billing import Billing, BillingSettings
from ingest_svc.billing.bridge_store import OutboxRow
from ingest_svc.intake.store import READING_TABLES
from tests.ingest_svc.billing.fakes import (
    H0,
    HOUR_MS,
    Clock,
    FakeForecasts,
    FakeLedger,
    FakePrices,
    household,
    register,
    store,
    write_readings,
)


def billing(tmp_path: Path, ledger: FakeLedger, clock: Clock, page: int = 64) -> Billing:
    engine = store(tmp_path)
    register(engine, *(household(f"hh-{i}", [f"m-{i}"]) for i in range(5)))
    for i in range(5):
        write_readings(engine, f"m-{i}", range(25), 0.1 * (i + 1))
    settings = BillingSettings(outbox_page=page, outbox_concurrency=2, outbox_backoff_base_ms=1000)
    return Billing(
        engine,
        READING_TABLES,
        prices=FakePrices(),
        forecasts=FakeForecasts(target_ms=H0 + 3 * HOUR_MS),
        ledger=ledger,
        settings=settings,
        clock=clock,
    )


def statuses(b: Billing) -> dict[str, int]:
    return b.outbox.counts()


async def test_every_closed_hour_and_forecast_reaches_the_ledger_once(tmp_path: Path) -> None:
    ledger = FakeLedger()
    b = billing(tmp_path, ledger, Clock())
    await b.settle()
    await b.price()
    await b.forecast()
    await b.deliver()
    assert ledger.settlements() == {
        (f"hh-{i}", H0 + h * HOUR_MS): round((11 + h) * 100 * (i + 1)) for i in range(5) for h in range(2)
    }
    assert sum(1 for r in ledger.appended if r.startswith("prediction:")) == 1  # one page, one target
    assert set(ledger.attempts.values()) == {1}
    # Passes again: nothing new is closed, priced, forecast or sent.
    for step in (b.settle, b.price, b.forecast, b.deliver):
        await step()
    assert set(ledger.attempts.values()) == {1} and statuses(b) == {"sent": 11}
    assert (b.stats.closed, b.stats.priced, b.stats.predicted, b.stats.sent) == (10, 10, 5, 11)


async def test_a_failing_ledger_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    clock = Clock()
    ledger = FakeLedger(fail_next=7)
    b = billing(tmp_path, ledger, clock, page=4)
    await b.settle()
    await b.price()
    with pytest.raises(ConnectionError):  # the loop backs off on this
        await b.deliver()
    assert b.stats.sent == 0 and statuses(b) == {"pending": 10}  # the first page failed: kept
    rounds = 0
    while statuses(b).get("pending"):
        clock.now += 120  # past every row's backoff
        try:
            await b.deliver()
        except ConnectionError:
            pass
        rounds += 1
        assert rounds < 10
    assert len(ledger.settlements()) == 10 and statuses(b) == {"sent": 10}
    assert b.stats.retried == 7 and b.stats.max_claimed <= 4
    with b.outbox.engine.connect() as conn:
        assert conn.execute(select(func.sum(OutboxRow.attempts))).scalar_one() == 7


async def test_a_row_sent_by_a_dead_sender_is_sent_again_after_its_lease(tmp_path: Path) -> None:
    clock = Clock()
    ledger = FakeLedger()
    b = billing(tmp_path, ledger, clock)
    await b.settle()
    await b.price()
    assert len(b.outbox.claim(3)) == 3  # a replica claims three rows, then dies
    await b.deliver()
    assert statuses(b) == {"pending": 3, "sent": 7}
    clock.now += b.settings.outbox_lease_s + 1
    await b.deliver()
    assert statuses(b) == {"sent": 10} and len(ledger.settlements()) == 10


async def test_a_rejected_append_is_parked_not_retried(tmp_path: Path) -> None:
    clock = Clock()
    ledger = FakeLedger(reject={"settlement:hh-0:2026-01-01T00:00:00Z"})
    b = billing(tmp_path, ledger, clock)
    await b.settle()
    await b.price()
    await b.deliver()
    clock.now += 3600
    await b.deliver()
    assert statuses(b) == {"failed": 1, "sent": 9}
    assert ledger.attempts["settlement:hh-0:2026-01-01T00:00:00Z"] == 1
