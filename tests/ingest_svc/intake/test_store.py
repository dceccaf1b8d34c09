"""Idempotent, batched storage on SQLite and PostgreSQL (same migrations, same SQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DataError

from common.db import make_engine
from contracts.mqtt.boundary import SignedBoundary
from ingest_svc.app import migrate
from ingest_svc.intake.store import READING_TABLES, DeadLetter, ReadingStore
from ingest_svc.intake.validation import Reading
from tests.conftest import sqlite_or_postgres

db_url = sqlite_or_postgres("ingest_store")


def _r(meter: str, seq: int, power: float = 100.0) -> Reading:
    return Reading(meter, seq, 1_700_000_000_000 + seq, 230.0, power / 230, power, 1.0, 1.0 + seq, 0.0)


def test_redelivered_readings_are_stored_once(db_url: str) -> None:
    migrate(db_url)
    store = ReadingStore(make_engine(db_url))
    batch = [(_r("m-1", s), 1) for s in range(500)] + [(_r("m-2", s), 1) for s in range(10)]
    assert store.write_batch(batch, []) == 510
    # Redelivery of part of it, plus new ones, plus a duplicate inside one batch.
    again = [*batch[100:200], (_r("m-1", 500), 2), (_r("m-1", 500), 2)]
    assert store.write_batch(again, []) == 1
    with store.engine.connect() as conn:
        assert conn.execute(text("select count(*) from readings")).scalar() == 511
    found = store.existing([("m-1", 5), ("m-2", 9), ("m-3", 1)])
    assert set(found) == {("m-1", 5), ("m-2", 9)} and found[("m-1", 5)] == _r("m-1", 5)
    store.engine.dispose()


def test_boundary_rows_first_signed_value_wins(db_url: str) -> None:
    """The batch's boundary rows go to the driver as plain tuples: every column lands where the
    model says, and a redelivered boundary (same meter and instant) keeps the first row."""
    migrate(db_url)
    store = ReadingStore(make_engine(db_url))
    first = SignedBoundary("m-1", 1_700_000_100_000, 1234, 56, 7, "ab" * 16, bytes(range(64)))
    other = SignedBoundary("m-2", 1_700_000_100_000, 99, 0, 3, "cd" * 16, b"\x01" * 64)
    store.write_batch([(_r("m-1", 7), 11)], [], [(first, 11), (other, 12)])
    replay = SignedBoundary("m-1", 1_700_000_100_000, 9999, 0, 8, "ef" * 16, b"\x02" * 64)
    store.write_batch([], [], [(replay, 13)])
    table = READING_TABLES.boundaries
    with store.engine.connect() as conn:
        rows = {r.meter_id: r for r in conn.execute(table.select())}
    assert set(rows) == {"m-1", "m-2"}
    kept = rows["m-1"]
    assert (kept.boundary_ms, kept.import_wh, kept.export_wh, kept.seq, kept.key_id) == (
        1_700_000_100_000,
        1234,
        56,
        7,
        "ab" * 16,
    )
    assert (bytes(kept.signature), kept.received_ms) == (bytes(range(64)), 11)
    assert (rows["m-2"].import_wh, rows["m-2"].received_ms) == (99, 12)
    store.engine.dispose()


def test_dead_letters_keep_reason_and_raw_bytes(db_url: str) -> None:
    migrate(db_url)
    store = ReadingStore(make_engine(db_url))
    raw = b'{"v":1,\xff\x00 truncated'
    store.write_batch([], [DeadLetter(5, "energy/meters/x", "x", "INVALID_JSON", "bad", raw)])
    with store.engine.connect() as conn:
        row = conn.execute(text("select reason, payload, size, meter_id from dead_letters")).one()
    assert (row.reason, bytes(row.payload), row.size, row.meter_id) == ("INVALID_JSON", raw, len(raw), "x")
    store.engine.dispose()


def test_migrations_are_idempotent(db_url: str) -> None:
    """Every replica migrates at start-up: a second run changes neither the schema nor the data."""
    migrate(db_url)
    store = ReadingStore(make_engine(db_url))
    store.write_batch([(_r("m-1", 1), 1)], [])

    def state() -> tuple[set[str], str]:
        with store.engine.connect() as conn:
            version = conn.execute(text("select version_num from ingest_alembic_version")).scalar_one()
        return set(inspect(store.engine).get_table_names()), version

    before = state()
    migrate(db_url)
    assert state() == before and before[1] == "0005_household_name"
    assert store.existing([("m-1", 1)]) == {("m-1", 1): _r("m-1", 1)}
    store.engine.dispose()


def test_a_batch_meeting_stored_readings_keeps_its_dead_letters_once(db_url: str) -> None:
    """PostgreSQL's fast merge fails on a stored reading and the batch runs again, whole."""
    migrate(db_url)
    store = ReadingStore(make_engine(db_url))
    assert store.write_batch([(_r("m-1", 1), 1)], []) == 1
    letter = DeadLetter(5, "energy/meters/m-1", "m-1", "INVALID_JSON", "bad", b"{")
    assert store.write_batch([(_r("m-1", 1), 2), (_r("m-1", 2), 2)], [letter]) == 1
    with store.engine.connect() as conn:
        assert conn.execute(text("select count(*) from readings")).scalar() == 2
        assert conn.execute(text("select count(*) from dead_letters")).scalar() == 1
        assert conn.execute(text("select received_ms from readings where seq = 1")).scalar() == 1
    store.engine.dispose()


def test_a_row_the_database_refuses_raises_as_sqlalchemy_would(db_url: str) -> None:
    """The pipeline tells a poison batch (isolate it) from a database that is down (retry) by
    SQLAlchemy's exception classes, on the COPY path too."""
    migrate(db_url)
    store = ReadingStore(make_engine(db_url))
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores a meter id of any length; PostgreSQL's column is varchar(64)")
    with pytest.raises(DataError):
        store.write_batch([(_r("m" * 100, 1), 1)], [])
    assert store.write_batch([(_r("m-1", 1), 1)], []) == 1  # the connection is still usable
    store.engine.dispose()
