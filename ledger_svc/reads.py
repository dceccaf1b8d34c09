"""Reads of the stored chain: blocks, transactions, a household's settlements.

Sealed blocks read once are kept in memory (:meth:`Reads.cached_blocks`): a sealed block never
changes (its hash is chained into every later block and covered by signed heads), so pages below
the newest are served without the database whatever their age. Which blocks are *newest* does
change; that answer's reuse is freshness.py's job.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Row, Select, select
from sqlalchemy.engine import Connection, Engine

from common.errors import FailedPrecondition, InvalidArgument, NotFound
from ledger_svc.canonical import MAX_UNBILLED_SPAN_MS, Record, RecordKind, decode_record
from ledger_svc.store import BLOCKS, HEAD, HEAD_ID, TXS, BlockRow, TxRow

__all__ = ["Block", "Reads", "StoredTx", "blocks_covering", "select_blocks"]

# Sealed blocks kept in memory for ListBlocks (a few hundred bytes each).
_BLOCK_CACHE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Block:
    height: int
    prev_block_hash: bytes
    merkle_root: bytes
    first_tx_index: int
    tx_count: int
    sealed_at_ms: int
    block_hash: bytes


@dataclass(frozen=True, slots=True)
class StoredTx:
    leaf_index: int
    tx_hash: bytes
    prev_tx_hash: bytes
    appended_at_ms: int
    record_bytes: bytes
    record: Record
    block_height: int | None
    index_in_block: int | None


def select_blocks() -> Select[int, bytes, bytes, int, int, int, bytes]:
    """Every column of a :class:`Block`, in its field order (``Block(*row)``)."""
    return select(
        BlockRow.height,
        BlockRow.prev_block_hash,
        BlockRow.merkle_root,
        BlockRow.first_tx_index,
        BlockRow.tx_count,
        BlockRow.sealed_at_ms,
        BlockRow.block_hash,
    )


def _block(row: Row[int, bytes, bytes, int, int, int, bytes]) -> Block:
    return Block(*row)


_TxColumns = Row[int, bytes, bytes, int, bytes]


def _select_txs() -> Select[int, bytes, bytes, int, bytes]:
    """What a :class:`StoredTx` is made of."""
    return select(TxRow.leaf_index, TxRow.tx_hash, TxRow.prev_tx_hash, TxRow.appended_at_ms, TxRow.record)


def blocks_covering(conn: Connection, start: int, end: int) -> list[Block]:
    """Blocks holding any of the leaves [start, end), in order."""
    first_block = conn.execute(
        select(BLOCKS.c.height)
        .where(BLOCKS.c.first_tx_index <= start)
        .order_by(BLOCKS.c.first_tx_index.desc())
    ).scalar()
    stmt = select_blocks().where(BLOCKS.c.first_tx_index < end).order_by(BLOCKS.c.height)
    if first_block is not None:
        stmt = stmt.where(BLOCKS.c.height >= first_block)
    return [_block(r) for r in conn.execute(stmt)]


class Reads:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Sealed blocks by height, oldest read first. Written under the lock, read lock-free.
        self._lock = threading.Lock()
        self._sealed: dict[int, Block] = {}

    def get_block(self, height: int) -> tuple[Block, list[bytes]]:
        with self._engine.connect() as conn:
            row = conn.execute(select_blocks().where(BLOCKS.c.height == height)).first()
            if row is None:
                raise NotFound("BLOCK_NOT_FOUND", f"no block at height {height}")
            block = _block(row)
            hashes = list(
                conn.execute(
                    select(TXS.c.tx_hash)
                    .where(
                        TXS.c.leaf_index >= block.first_tx_index,
                        TXS.c.leaf_index < block.first_tx_index + block.tx_count,
                    )
                    .order_by(TXS.c.leaf_index)
                ).scalars()
            )
        return block, hashes

    def blocks_page(self, start_height: int | None, limit: int) -> list[Block]:
        """Up to ``limit`` blocks from ``start_height`` down (None: from the newest), one query;
        remembered for :meth:`cached_blocks`."""
        stmt = select_blocks().order_by(BLOCKS.c.height.desc()).limit(limit)
        if start_height is not None:
            stmt = stmt.where(BLOCKS.c.height <= start_height)
        with self._engine.connect() as conn:
            blocks = [_block(r) for r in conn.execute(stmt)]
        with self._lock:
            for b in blocks:
                self._sealed[b.height] = b
            while len(self._sealed) > _BLOCK_CACHE_MAX:
                del self._sealed[next(iter(self._sealed))]
        return blocks

    def cached_blocks(self, start_height: int, limit: int) -> list[Block] | None:
        """:meth:`blocks_page` from ``start_height`` down, from memory; None when it needs the
        database. Lock-free: runs on the event loop."""
        cached = self._sealed
        out = []
        for height in range(start_height, max(-1, start_height - limit), -1):
            block = cached.get(height)
            if block is None:
                return None
            out.append(block)
        return out

    def block_count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(HEAD.c.block_count).where(HEAD.c.id == HEAD_ID)).scalar() or 0)

    def get_transaction(self, leaf_index: int | None = None, tx_hash: bytes | None = None) -> StoredTx:
        with self._engine.connect() as conn:
            if leaf_index is not None:
                row = conn.execute(_select_txs().where(TXS.c.leaf_index == leaf_index)).first()
            else:
                row = conn.execute(_select_txs().where(TXS.c.tx_hash == tx_hash)).first()
            if row is None:
                raise NotFound("TX_NOT_FOUND", "no such transaction")
            return _stored(conn, [row])[0]

    def transactions_range(self, first: int, count: int) -> list[StoredTx]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                _select_txs()
                .where(TXS.c.leaf_index >= first, TXS.c.leaf_index < first + count)
                .order_by(TXS.c.leaf_index)
            ).all()
            return _stored(conn, rows)

    def household_settlements(self, household_id: str, start_ms: int, end_ms: int) -> list[StoredTx]:
        """Settlement transactions of one household with start <= hour < end, in log order."""
        return self._household_records(RecordKind.SETTLEMENT, household_id, start_ms, end_ms)

    def household_corrections(self, household_id: str, start_ms: int, end_ms: int) -> list[StoredTx]:
        """Correction transactions of one household whose period starts in [start, end), in log order."""
        return self._household_records(RecordKind.CORRECTION, household_id, start_ms, end_ms)

    def household_unbilled(self, household_id: str, start_ms: int, end_ms: int) -> list[StoredTx]:
        """Unbilled-period transactions of one household whose run overlaps [start, end), in log
        order: a run starts at most a day before the first period it covers (spec §17.7)."""
        return self._household_records(
            RecordKind.UNBILLED_PERIOD, household_id, start_ms - MAX_UNBILLED_SPAN_MS + 1, end_ms
        )

    def _household_records(
        self, kind: RecordKind, household_id: str, start_ms: int, end_ms: int
    ) -> list[StoredTx]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                _select_txs()
                .where(
                    TXS.c.household_id == household_id,
                    TXS.c.kind == int(kind),
                    TXS.c.hour_ms >= start_ms,
                    TXS.c.hour_ms < end_ms,
                )
                .order_by(TXS.c.leaf_index)
            ).all()
            return _stored(conn, rows)

    def household_meter_keys(self, household_id: str) -> list[StoredTx]:
        """The household's meter-key records, in log order."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                _select_txs()
                .where(TXS.c.household_id == household_id, TXS.c.kind == int(RecordKind.METER_KEY))
                .order_by(TXS.c.leaf_index)
            ).all()
            return _stored(conn, rows)


def _stored(conn: Connection, rows: Sequence[_TxColumns]) -> list[StoredTx]:
    if not rows:
        return []
    blocks = blocks_covering(conn, rows[0].leaf_index, rows[-1].leaf_index + 1)
    out = []
    for r in rows:
        try:
            record = decode_record(r.record, validate=False)
        except InvalidArgument as exc:
            raise FailedPrecondition(
                "LEDGER_CORRUPT", f"stored record {r.leaf_index} is unreadable: {exc}"
            ) from exc
        out.append(
            StoredTx(
                r.leaf_index,
                r.tx_hash,
                r.prev_tx_hash,
                r.appended_at_ms,
                r.record,
                record,
                *_locate(blocks, r.leaf_index),
            )
        )
    return out


def _locate(blocks: Sequence[Block], leaf_index: int) -> tuple[int | None, int | None]:
    """(height, index in block) of a leaf, given the blocks around it in height order."""
    i = bisect.bisect_right(blocks, leaf_index, key=lambda b: b.first_tx_index) - 1
    if i >= 0:
        b = blocks[i]
        if leaf_index < b.first_tx_index + b.tx_count:
            return b.height, leaf_index - b.first_tx_index
    return None, None
