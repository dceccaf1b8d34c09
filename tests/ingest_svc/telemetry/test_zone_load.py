"""The per-zone load query on both engines (PostgreSQL's integer division and SQLite's agree)."""

from __future__ import annotations

from common.db import make_engine
from ingest_svc.app import migrate
from ingest_svc.intake.store import ReadingStore, register_households
from ingest_svc.intake.validation import Reading
from ingest_svc.telemetry.queries import TelemetryQueries, ZoneLoadPoint
from tests.conftest import sqlite_or_postgres

HOUR = 3_600_000
BASE = 1_780_000_000_000 // HOUR * HOUR
HOME = {"time_zone": "UTC", "residents": 2, "heating": "heat_pump", "has_ev": False, "has_solar": True}


db_url = sqlite_or_postgres("zone_load")


def test_zone_load_per_bucket_on_both_engines(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        register_households(
            engine,
            [
                {"household_id": "a", "zone": "NO1", "meter_ids": ["m1", "m2"], **HOME},
                {"household_id": "b", "zone": "NO2", "meter_ids": ["m3"], **HOME},
            ],
            BASE,
        )

        def reading(meter: str, seq: int, ts: int, watts: float) -> tuple[Reading, int]:
            return Reading(meter, seq, ts, 230.0, 1.0, watts, 1.0, 1.0, 0.0), ts

        ReadingStore(engine).write_batch(
            [
                reading("m1", 1, BASE + 10, 1000.0),
                reading("m1", 2, BASE + 20, 2000.0),
                reading("m2", 1, BASE + 30, -500.0),  # solar export: net load
                reading("m3", 1, BASE + HOUR - 1, 700.0),
                reading("m3", 2, BASE + HOUR, 900.0),
                reading("x9", 1, BASE + 40, 100.0),  # a meter no household claims
            ],
            [],
        )
        points = TelemetryQueries(engine).zone_load(BASE, BASE + 2 * HOUR, HOUR)
    finally:
        engine.dispose()
    assert points == [
        ZoneLoadPoint("", BASE, 100.0, 1),
        ZoneLoadPoint("NO1", BASE, 1000.0, 2),
        ZoneLoadPoint("NO2", BASE, 700.0, 1),
        ZoneLoadPoint("NO2", BASE + HOUR, 900.0, 1),
    ]
