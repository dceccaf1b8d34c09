"""Telemetry storage: SQLAlchemy 2 models and the batched, idempotent writers.

Readings are keyed by (meter_id, seq) and inserted with ON CONFLICT DO NOTHING, so a reading the
broker redelivers (after a crash before PUBACK) is never stored, or billed, twice. One
transaction per batch holds both the good readings and the dead letters of that batch, and the
batch is acknowledged to the broker only after it commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    false,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from contracts.mqtt.boundary import SignedBoundary
from ingest_svc.db import Base, insert_ignore
from ingest_svc.intake.validation import Reading

__all__ = [
    "READING_TABLES",
    "BoundaryRow",
    "DeadLetter",
    "DeadLetterRow",
    "DeviceStatusRow",
    "HouseholdRow",
    "MeterKeyRow",
    "MeterRow",
    "ReadingRow",
    "ReadingStore",
    "ReadingTables",
    "register_households",
]


class ReadingRow(Base):
    __tablename__ = "readings"
    meter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    voltage_v: Mapped[float] = mapped_column(Float)
    current_a: Mapped[float] = mapped_column(Float)
    power_w: Mapped[float] = mapped_column(Float)
    power_factor: Mapped[float] = mapped_column(Float)
    import_kwh: Mapped[float] = mapped_column(Float)
    export_kwh: Mapped[float] = mapped_column(Float)
    received_ms: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        Index("ix_readings_meter_ts", "meter_id", "ts_ms"),
        Index("ix_readings_ts", "ts_ms"),
        Index("ix_readings_received", "received_ms"),
    )


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    topic: Mapped[str] = mapped_column(String(512))
    meter_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    reason: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(String(512))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)


class HouseholdRow(Base):
    __tablename__ = "households"
    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # True once the owner named the household (RenameHousehold; migration 0005_household_name):
    # registering the household again then keeps that name.
    display_name_owner: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Bidding zone (e.g. NO1) and IANA time zone of the household's local day.
    zone: Mapped[str] = mapped_column(String(16), default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    residents: Mapped[int] = mapped_column(Integer)
    heating: Mapped[str] = mapped_column(String(32))
    has_ev: Mapped[bool] = mapped_column(Boolean)
    has_solar: Mapped[bool] = mapped_column(Boolean)
    registered_ms: Mapped[int] = mapped_column(BigInteger)
    # Contract settings for the bill (energy.bill.Contract; migration 0003_bill). Empty grid
    # company: the service default; NULL markup/fee: the rule set's default supplier contract.
    grid_company: Mapped[str] = mapped_column(String(64), default="", server_default="")
    municipality: Mapped[str] = mapped_column(String(8), default="", server_default="")
    price_scheme: Mapped[str] = mapped_column(String(16), default="spot", server_default="spot")
    dwelling: Mapped[str] = mapped_column(String(16), default="home", server_default="home")
    supplier_markup_micro_per_kwh: Mapped[int | None] = mapped_column(BigInteger, nullable=True, default=None)
    supplier_fee_nano_per_month: Mapped[int | None] = mapped_column(BigInteger, nullable=True, default=None)


class MeterRow(Base):
    __tablename__ = "meters"
    meter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.household_id"), index=True)
    registered_ms: Mapped[int] = mapped_column(BigInteger)


class MeterKeyRow(Base):
    """A meter's signing public key, registered at provisioning (migration 0003_metering)."""

    __tablename__ = "meter_keys"
    meter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    registered_ms: Mapped[int] = mapped_column(BigInteger)


class BoundaryRow(Base):
    """Signed register values of a meter at a settlement-period boundary (verified at intake)."""

    __tablename__ = "meter_boundaries"
    meter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    boundary_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    import_wh: Mapped[int] = mapped_column(BigInteger)
    export_wh: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    received_ms: Mapped[int] = mapped_column(BigInteger)


class DeviceStatusRow(Base):
    """Latest retained status of a meter or gateway (``online``/``offline``, last will included)."""

    __tablename__ = "device_status"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "meter" | "gateway"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    gateway_id: Mapped[str] = mapped_column(String(64), default="")
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    received_ms: int
    topic: str
    meter_id: str | None
    reason: str
    detail: str
    payload: bytes


_READING_COLUMNS = (*Reading._fields, "received_ms")


# sqlite3's executemany() rowcount is the sum over all rows, so one driver-level executemany of
# plain tuples counts what ON CONFLICT DO NOTHING inserted.
_SQLITE_INSERT = (
    f"INSERT INTO readings ({', '.join(_READING_COLUMNS)}) "
    f"VALUES ({', '.join(['?'] * len(_READING_COLUMNS))}) ON CONFLICT DO NOTHING"
)
_BOUNDARY_COLUMNS = (
    "meter_id",
    "boundary_ms",
    "import_wh",
    "export_wh",
    "seq",
    "key_id",
    "signature",
    "received_ms",
)
# Both drivers' INSERT ... ON CONFLICT DO NOTHING for the boundary rows, by paramstyle.
_BOUNDARY_INSERT = {
    driver: f"INSERT INTO meter_boundaries ({', '.join(_BOUNDARY_COLUMNS)}) "
    f"VALUES ({', '.join([mark] * len(_BOUNDARY_COLUMNS))}) ON CONFLICT DO NOTHING"
    for driver, mark in (("pysqlite", "?"), ("psycopg", "%s"))
}


def _boundary_row(b: SignedBoundary, received_ms: int) -> tuple[object, ...]:
    return (b.meter_id, b.boundary_ms, b.import_wh, b.export_wh, b.seq, b.key_id, b.signature, received_ms)


# PostgreSQL: COPY the batch into a per-session temporary table, then one INSERT ... SELECT.
# Against executemany (a protocol message and bind per row, even pipelined) this costs ingest
# ~15x less CPU per row and the server less parsing; see docs/SCALING.md for the figures. ON
# COMMIT DELETE ROWS empties the stage at every commit, and a rolled-back batch takes its staged
# rows (and a first CREATE) with it.
#
# The merge is first tried as a plain INSERT: ON CONFLICT DO NOTHING makes every row a
# speculative insertion (an extra WAL record and a second pass over the primary key), ~20% of
# the server's CPU per row, for conflicts that only a redelivery brings. A batch that does meet
# a stored reading fails whole on the primary key (nothing of it is kept) and ``write_batch``
# runs it again with ON CONFLICT DO NOTHING, which counts and skips the stored ones.
_COLUMNS_SQL = ", ".join(_READING_COLUMNS)
_PG_STAGE = "CREATE TEMP TABLE IF NOT EXISTS readings_stage (LIKE readings) ON COMMIT DELETE ROWS"
_PG_COPY = f"COPY readings_stage ({_COLUMNS_SQL}) FROM STDIN (FORMAT BINARY)"
# Binary COPY (no float formatting or parsing on either side): the wire types of the columns.
_PG_COPY_TYPES = ("text", "int8", "int8", *(["float8"] * 6), "int8")
_PG_MERGE_NEW = f"INSERT INTO readings ({_COLUMNS_SQL}) SELECT {_COLUMNS_SQL} FROM readings_stage"
_PG_MERGE = f"{_PG_MERGE_NEW} ON CONFLICT DO NOTHING"


def _pg_copy_readings(conn: Connection, readings: Sequence[tuple[Reading, int]], tolerant: bool) -> int:
    """Store readings through the COPY stage inside ``conn``'s transaction; returns rows inserted.

    ``tolerant``: skip readings already stored (ON CONFLICT DO NOTHING); otherwise one of them
    fails the statement with a primary-key violation (:func:`_is_stored_reading_conflict`)."""
    import psycopg  # only PostgreSQL deployments pay for the driver module

    raw = conn.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError(f"expected a psycopg connection, got {type(raw).__name__}")
    merge = _PG_MERGE if tolerant else _PG_MERGE_NEW
    try:
        with raw.cursor() as cur:
            cur.execute(_PG_STAGE)
            with cur.copy(_PG_COPY) as copy:
                copy.set_types(list(_PG_COPY_TYPES))
                for reading, received in readings:
                    copy.write_row((*reading, received))
            cur.execute(merge)
            return cur.rowcount
    except psycopg.Error as exc:
        # As SQLAlchemy's own execute would raise it (IntegrityError, DataError, OperationalError
        # ...): the pipeline tells a poison batch from a database that is down by these.
        dbapi_error = cast(DBAPIModule.Error, exc)
        invalidated = conn.dialect.is_disconnect(dbapi_error, conn.connection.dbapi_connection, None)
        raise DBAPIError.instance(
            merge, None, exc, psycopg.Error, connection_invalidated=invalidated
        ) from exc


def _is_stored_reading_conflict(exc: IntegrityError) -> bool:
    """The fast merge met a reading already stored (and nothing else went wrong)."""
    import psycopg

    orig = exc.orig
    # The primary key (meter_id, seq) is the only unique constraint of readings.
    return isinstance(orig, psycopg.errors.UniqueViolation) and orig.diag.table_name == "readings"


@dataclass(frozen=True)
class ReadingTables:
    """The tables billing settles from, handed to it at wiring time (its readings store port)."""

    readings: Table
    meters: Table
    households: Table
    meter_keys: Table
    boundaries: Table


READING_TABLES = ReadingTables(
    readings=cast(Table, ReadingRow.__table__),
    meters=cast(Table, MeterRow.__table__),
    households=cast(Table, HouseholdRow.__table__),
    meter_keys=cast(Table, MeterKeyRow.__table__),
    boundaries=cast(Table, BoundaryRow.__table__),
)


class ReadingStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def write_batch(
        self,
        readings: Sequence[tuple[Reading, int]],
        dead: Sequence[DeadLetter],
        boundaries: Sequence[tuple[SignedBoundary, int]] = (),
    ) -> int:
        """Store readings (with their receive time), verified boundary values and dead letters in
        one transaction.

        Returns how many readings were new; the rest were already stored (redeliveries).
        """
        try:
            return self._write_batch(readings, dead, boundaries, tolerant=False)
        except IntegrityError as exc:
            if self.engine.dialect.driver != "psycopg" or not _is_stored_reading_conflict(exc):
                raise
        # A redelivery in the batch (PostgreSQL's fast merge only): the whole transaction rolled
        # back, so run it again skipping what is stored.
        return self._write_batch(readings, dead, boundaries, tolerant=True)

    def _write_batch(
        self,
        readings: Sequence[tuple[Reading, int]],
        dead: Sequence[DeadLetter],
        boundaries: Sequence[tuple[SignedBoundary, int]],
        tolerant: bool,
    ) -> int:
        inserted = 0
        with self.engine.begin() as conn:
            driver = conn.dialect.driver
            if boundaries:
                # First signed value of a boundary wins (a redelivery carries the same one).
                sql = _BOUNDARY_INSERT.get(driver)
                if sql is not None:
                    # Plain tuples to the driver, as for readings: Core's statement construction
                    # and per-row dict processing cost more than the rows themselves.
                    conn.exec_driver_sql(sql, [_boundary_row(b, received) for b, received in boundaries])
                else:
                    conn.execute(
                        insert_ignore(conn, BoundaryRow),
                        [
                            dict(zip(_BOUNDARY_COLUMNS, _boundary_row(b, r), strict=True))
                            for b, r in boundaries
                        ],
                    )
            if readings and driver == "pysqlite":
                # Plain tuples (a Reading is already a tuple in column order): Core's per-row
                # parameter processing cost twice the insert itself. Rows skipped by ON CONFLICT
                # DO NOTHING are not counted in rowcount.
                rows = [(*r, received) for r, received in readings]
                inserted = conn.exec_driver_sql(_SQLITE_INSERT, rows).rowcount
            elif readings and driver == "psycopg":
                inserted = _pg_copy_readings(conn, readings, tolerant)
            elif readings:  # another driver: Core, counting the inserted rows by RETURNING
                mapped = [{**r._asdict(), "received_ms": received} for r, received in readings]
                stmt = insert_ignore(conn, ReadingRow).returning(ReadingRow.__table__.c.seq)
                inserted = len(conn.execute(stmt, mapped).all())
            if dead:
                conn.execute(
                    insert(DeadLetterRow),
                    [
                        {
                            "received_ms": d.received_ms,
                            "topic": d.topic[:512],
                            "meter_id": d.meter_id,
                            "reason": d.reason,
                            "detail": d.detail[:512],
                            "payload": d.payload,
                            "size": len(d.payload),
                        }
                        for d in dead
                    ],
                )
        return max(inserted, 0)

    def existing(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Reading]:
        """Stored readings for (meter_id, seq) keys: tells a redelivery from a replay."""
        keys = list(keys)
        if not keys:
            return {}
        cols = ReadingRow.__table__.c
        found: dict[tuple[str, int], Reading] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                stmt = select(ReadingRow.__table__).where(tuple_(cols.meter_id, cols.seq).in_(chunk))
                for row in conn.execute(stmt):
                    found[(row.meter_id, row.seq)] = Reading(
                        row.meter_id,
                        row.seq,
                        row.ts_ms,
                        row.voltage_v,
                        row.current_a,
                        row.power_w,
                        row.power_factor,
                        row.import_kwh,
                        row.export_kwh,
                    )
        return found


def rename_household(engine: Engine, household_id: str, display_name: str) -> bool:
    """Sets the owner's name for a household; False when no such household is registered."""
    with engine.begin() as conn:
        result = conn.execute(
            update(HouseholdRow)
            .where(HouseholdRow.household_id == household_id)
            .values(display_name=display_name, display_name_owner=True)
        )
        return bool(result.rowcount)


def register_households(
    engine: Engine, households: Sequence[dict[str, object]], now_ms: int
) -> tuple[int, int]:
    """Create or update households and (re)assign their meters; returns (created, updated).

    Re-registering the same fleet is idempotent (it counts as updated), so the simulator can
    register on every start.
    """
    created = updated = 0
    with engine.begin() as conn:
        ids = [str(h["household_id"]) for h in households]
        rows = conn.execute(
            select(HouseholdRow.household_id, HouseholdRow.display_name_owner).where(
                HouseholdRow.household_id.in_(ids)
            )
        )
        existing = {row.household_id: bool(row.display_name_owner) for row in rows}
        for h in households:
            values = {k: v for k, v in h.items() if k not in ("meter_ids", "meter_keys")}
            if existing.get(str(h["household_id"])):
                values.pop("display_name", None)  # the owner's name wins over the registrar's
            if h["household_id"] in existing:
                conn.execute(
                    update(HouseholdRow)
                    .where(HouseholdRow.household_id == h["household_id"])
                    .values(**values)
                )
                updated += 1
            else:
                conn.execute(insert(HouseholdRow).values(registered_ms=now_ms, **values))
                created += 1
            meter_ids = h.get("meter_ids", ())
            if not isinstance(meter_ids, list | tuple):
                raise TypeError(f"meter_ids of {h['household_id']} must be a list of meter ids")
            keys = h.get("meter_keys", ())
            if not isinstance(keys, list | tuple):
                raise TypeError(f"meter_keys of {h['household_id']} must be a list")
            for meter_id, key_id, algorithm, public_key in keys:
                conn.execute(
                    insert_ignore(conn, MeterKeyRow).values(
                        meter_id=meter_id,
                        key_id=key_id,
                        algorithm=algorithm,
                        public_key=public_key,
                        registered_ms=now_ms,
                    )
                )
            for meter_id in meter_ids:
                conn.execute(delete(MeterRow).where(MeterRow.meter_id == meter_id))
                conn.execute(
                    insert(MeterRow).values(
                        meter_id=meter_id, household_id=h["household_id"], registered_ms=now_ms
                    )
                )
    return created, updated
