"""Closing hours from stored readings (SQLite, no services): counters, marks, the grace rule."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ingest_svc.billing.bridge_store import SettlementRow
from ingest_svc.billing.settlement import Closed, Settler
from ingest_svc.intake.store import READING_TABLES
from tests.ingest_svc.billing.fakes import H0, HOUR_MS, Clock, household, register, store, write_readings


def close_all(settler: Settler) -> list[Closed]:
    """close_due until nothing more closes (as billing's settle pass does)."""
    closed: list[Closed] = []
    while batch := settler.close_due():
        closed += batch
    return closed


def test_hours_close_from_the_counters_of_every_meter(tmp_path: Path) -> None:
    engine = store(tmp_path)
    register(engine, household("hh-1", ["m-a", "m-b"]))
    write_readings(engine, "m-a", range(25), 0.1)  # H0 .. H0+2h
    write_readings(engine, "m-b", range(25), 0.05)
    settler = Settler(engine, READING_TABLES, clock=Clock())
    assert settler.start_new_households() == 1
    closed = close_all(settler)
    # H0: first reading 100.0 kWh to the last before H0+1h (k=11): 11 steps; the next hour 12.
    assert [(c.hour_start_ms, c.metered_wh) for c in closed] == [(H0, 1100 + 550), (H0 + HOUR_MS, 1200 + 600)]
    assert settler.close_due() == []  # H0+2h is still open
    assert Settler(engine, READING_TABLES).close_due() == []  # a second replica finds nothing to do
    with engine.connect() as conn:
        rows = conn.execute(select(SettlementRow.hour_start_ms, SettlementRow.priced)).all()
    assert sorted(rows) == [(H0, False), (H0 + HOUR_MS, False)]


def test_a_silent_meter_holds_the_hour_until_the_grace_has_passed(tmp_path: Path) -> None:
    engine = store(tmp_path)
    register(engine, household("hh-1", ["m-a", "m-b"]))
    write_readings(engine, "m-a", range(14), 0.1)  # up to H0 + 65 min
    write_readings(engine, "m-b", range(6), 0.05)  # silent after H0 + 25 min
    settler = Settler(engine, READING_TABLES, grace_ms=15 * 60_000)
    settler.start_new_households()
    assert settler.close_due() == []
    write_readings(engine, "m-a", range(14, 16), 0.1)  # the watermark reaches H0 + 75 min
    [closed] = settler.close_due()
    assert (closed.hour_start_ms, closed.metered_wh) == (H0, 1100 + 250)


def test_a_late_reading_is_billed_in_the_next_open_hour(tmp_path: Path) -> None:
    engine = store(tmp_path)
    register(engine, household("hh-1", ["m-a"]))
    write_readings(engine, "m-a", range(0, 8), 0.1)
    write_readings(engine, "m-a", range(12, 25), 0.1)  # k = 8..11 arrive late
    settler = Settler(engine, READING_TABLES)
    settler.start_new_households()
    first = close_all(settler)
    assert [c.metered_wh for c in first] == [700, 1600]  # k=0..7, then from the mark to k=23
    write_readings(engine, "m-a", range(8, 12), 0.1)
    write_readings(engine, "m-a", range(25, 37), 0.1)
    later = close_all(settler)
    # The late readings lie before the marks: nothing is billed twice, nothing is lost.
    assert [c.metered_wh for c in later] == [1200]
    assert sum(c.metered_wh for c in first + later) == 35 * 100  # k=0 .. k=35, once
