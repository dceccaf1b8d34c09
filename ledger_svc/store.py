"""SQLAlchemy models of the ledger (spec §7) and the engine set-up that serialises writers.

Every column is either covered by a hash (``record``, ``tx_hash``, the block header fields) or
derivable from hashed data and re-checked by chain verification (``kind``, ``household_id``,
``hour_ms``, ``prev_tx_hash``, the head row). Only ``ledger_requests`` (idempotency) and
``ledger_head.pending_since_ms`` (sealing timer) are operational and outside the integrity scope.
"""

from __future__ import annotations

import sqlite3
from typing import cast

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, SmallInteger, String, Table, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.db import is_sqlite, make_engine

__all__ = [
    "BLOCKS",
    "CHECKPOINTS",
    "HEAD",
    "HEAD_ID",
    "REQUESTS",
    "TXS",
    "Base",
    "BlockRow",
    "CheckpointRow",
    "HeadRow",
    "RequestRow",
    "TxRow",
    "begin_write",
    "make_ledger_engine",
]

HEAD_ID = 1
# A rowid alias on SQLite (fast appends), a real BIGINT everywhere else.
_PK_INT = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class HeadRow(Base):
    """The single chain-head row: also the row every writer locks (spec §8)."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tx_count: Mapped[int] = mapped_column(BigInteger)
    last_tx_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    block_count: Mapped[int] = mapped_column(BigInteger)
    last_block_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    sealed_tx_count: Mapped[int] = mapped_column(BigInteger)
    pending_since_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class TxRow(Base):
    __tablename__ = "ledger_transactions"

    leaf_index: Mapped[int] = mapped_column(_PK_INT, primary_key=True, autoincrement=False)
    tx_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    prev_tx_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    kind: Mapped[int] = mapped_column(SmallInteger)
    household_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    hour_ms: Mapped[int] = mapped_column(BigInteger)
    appended_at_ms: Mapped[int] = mapped_column(BigInteger)
    record: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_ledger_tx_household_kind_hour", "household_id", "kind", "hour_ms"),)


class BlockRow(Base):
    __tablename__ = "ledger_blocks"

    height: Mapped[int] = mapped_column(_PK_INT, primary_key=True, autoincrement=False)
    prev_block_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    merkle_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    first_tx_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    tx_count: Mapped[int] = mapped_column(Integer)
    sealed_at_ms: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)


class CheckpointRow(Base):
    """A tree head the ledger signed when it sealed blocks (spec §9): a record, kept in the database
    itself, of what the log looked like at that size. A rewrite of earlier rows cannot match it
    without the signing key."""

    __tablename__ = "ledger_checkpoints"

    tree_size: Mapped[int] = mapped_column(_PK_INT, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))


class RequestRow(Base):
    """Idempotency: a retried Append with the same request id returns the original receipts."""

    __tablename__ = "ledger_requests"

    request_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    first_leaf_index: Mapped[int] = mapped_column(BigInteger)
    tx_count: Mapped[int] = mapped_column(Integer)


# The Core tables, for the hot paths that skip the ORM.
TXS = cast(Table, TxRow.__table__)
BLOCKS = cast(Table, BlockRow.__table__)
HEAD = cast(Table, HeadRow.__table__)
REQUESTS = cast(Table, RequestRow.__table__)
CHECKPOINTS = cast(Table, CheckpointRow.__table__)


def make_ledger_engine(url: str, **kwargs: object) -> Engine:
    """``common.db.make_engine`` plus SQLite write serialisation.

    pysqlite opens transactions lazily (and never for SELECT), so two writers could both read
    the same head before either writes. We take over transaction control and start writes with
    ``BEGIN IMMEDIATE``: the database-wide write lock is held from the head read to the commit.
    Reads stay plain ``BEGIN`` (WAL snapshot, never blocked by the writer).
    """
    engine = make_engine(url, **kwargs)
    if is_sqlite(url):

        @event.listens_for(engine, "connect")
        def _manual_transactions(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.isolation_level = None
            # The tx-hash index takes random keys: a 64 MiB page cache (default 2 MiB) keeps its
            # inner pages resident, which holds the append rate steady past a million rows.
            dbapi_conn.execute("PRAGMA cache_size=-65536")

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("ledger_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def begin_write(conn: Connection) -> Connection:
    """Mark ``conn`` (before its first statement) as a writer connection."""
    return conn.execution_options(ledger_write=True)
