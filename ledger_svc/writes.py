"""The append path: ordered appends, block sealing and the signed checkpoint of each sealing.

Writes are serialised by the database (spec §8): each append runs in one transaction that first
locks the chain-head row (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite). So every replica can append, however many run; a crash mid-append rolls the whole
transaction back, so no partial block or dangling transaction is ever visible.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from common.errors import FailedPrecondition, InvalidArgument
from common.log import get_logger
from ledger_svc.canonical import (
    HOUR_MS,
    SALT_LEN,
    SALT_OFFSET,
    ZERO_HASH,
    Correction,
    MeterKey,
    Record,
    RecordKind,
    Settlement,
    SettlementV2,
    UnbilledPeriod,
    chain_tx_hashes,
    check_meter_signatures,
    decode_record,
    encode_records,
)
from ledger_svc.chain import seal_block
from ledger_svc.reads import blocks_covering
from ledger_svc.signing import Signer
from ledger_svc.store import BLOCKS, CHECKPOINTS, HEAD, HEAD_ID, REQUESTS, TXS, HeadRow, begin_write
from ledger_svc.tree import LedgerTree

__all__ = ["MAX_REQUEST_ID_LEN", "AppendResult", "Receipt", "Writer"]

log = get_logger(__name__)

MAX_REQUEST_ID_LEN = 128  # the ledger_requests.request_id column

_INSERT_TX = (
    "INSERT INTO ledger_transactions"
    " (leaf_index, tx_hash, prev_tx_hash, kind, household_id, hour_ms, appended_at_ms, record)"
    " VALUES ({}, {}, {}, {}, {}, {}, {}, {})"
)


class Receipt(NamedTuple):  # a tuple: thousands are made per append
    leaf_index: int
    tx_hash: bytes
    salt: bytes
    block_height: int | None  # None while the transaction waits for its block to be sealed
    index_in_block: int | None


@dataclass(frozen=True, slots=True)
class AppendResult:
    receipts: list[Receipt]
    replayed: bool  # True when a retried request_id returned the original receipts


@dataclass(slots=True)
class _HeadState:
    """The chain-head row, as this write transaction will leave it (fields in column order)."""

    tx_count: int
    last_tx_hash: bytes
    block_count: int
    last_block_hash: bytes
    sealed_tx_count: int
    pending_since_ms: int | None


def _request_digest(records: Sequence[Record], encoded: Sequence[bytes]) -> bytes:
    """What a retry must repeat: the records, with server-chosen salts blanked out."""
    h = hashlib.sha256()
    for rec, body in zip(records, encoded, strict=False):
        blanked = body if rec.salt else body[:SALT_OFFSET] + ZERO_HASH + body[SALT_OFFSET + SALT_LEN :]
        h.update(len(blanked).to_bytes(4, "big") + blanked + (b"\x01" if rec.salt else b"\x00"))
    return h.digest()


class Writer:
    def __init__(
        self,
        engine: Engine,
        signer: Signer,
        tree: LedgerTree,
        block_max_txs: int,
        block_max_ms: int,
        clock: Callable[[], int],
    ) -> None:
        if block_max_txs < 1 or block_max_ms < 0:
            raise ValueError("block_max_txs must be >= 1 and block_max_ms >= 0")
        self._engine = engine
        self._signer = signer
        self._tree = tree
        self.block_max_txs = block_max_txs
        self.block_max_ms = block_max_ms
        self._clock = clock
        self._count_lock = threading.Lock()
        self._local_writes = 0

    @property
    def local_writes(self) -> int:
        """How many appends and seals this replica has made (counted once they are committed and
        in the tree). A read that starts after this count moved sees those writes; other
        replicas' writes show within the reuse age instead (freshness.py)."""
        return self._local_writes

    def append(self, records: Sequence[Record], request_id: str = "") -> AppendResult:
        """Append ``records`` in order, atomically; a repeated ``request_id`` returns the first receipts."""
        if not records:
            raise InvalidArgument("EMPTY_APPEND", "append needs at least one record")
        if len(request_id) > MAX_REQUEST_ID_LEN:
            raise InvalidArgument(
                "REQUEST_ID_TOO_LONG", f"request_id is longer than {MAX_REQUEST_ID_LEN} characters"
            )
        pool = os.urandom(SALT_LEN * len(records))  # one call: only the records without a salt take one
        salts = [r.salt or pool[i * SALT_LEN : (i + 1) * SALT_LEN] for i, r in enumerate(records)]
        encoded = encode_records(records, salts)  # validates all before locking
        self._check_signed_values(records)
        self._check_corrections(records)
        self._check_unbilled(records)
        digest = _request_digest(records, encoded) if request_id else b""
        with self._engine.connect() as raw, begin_write(raw).begin():
            conn = raw
            state = self._lock_head(conn)
            if request_id:
                prior = conn.execute(select(REQUESTS).where(REQUESTS.c.request_id == request_id)).first()
                if prior is not None:
                    if prior.digest != digest:
                        raise InvalidArgument(
                            "REQUEST_ID_REUSED", f"request_id {request_id!r} was used for different records"
                        )
                    return AppendResult(_stored_receipts(conn, prior.first_leaf_index, prior.tx_count), True)
            first = state.tx_count
            prev = state.last_tx_hash
            at = self._clock()
            hashes = chain_tx_hashes(encoded, at, prev)
            rows = [
                (first + i, h, p, int(rec.kind), rec.household_id, rec.hour_ms, at, body)
                for i, (h, p, rec, body) in enumerate(
                    zip(hashes, [prev, *hashes[:-1]], records, encoded, strict=True)
                )
            ]
            # Driver-level executemany: the ORM/Core parameter processing costs more than SQLite.
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(_INSERT_TX.format(*[mark] * 8), rows)
            if request_id:
                conn.execute(
                    insert(REQUESTS),
                    [
                        {
                            "request_id": request_id,
                            "digest": digest,
                            "first_leaf_index": first,
                            "tx_count": len(rows),
                        }
                    ],
                )
            state.tx_count, state.last_tx_hash = first + len(rows), hashes[-1]
            if state.pending_since_ms is None:
                state.pending_since_ms = self._clock()
            sealed_blocks = self._seal(conn, state, new_first=first, new_hashes=hashes, force=False)
            receipts = _receipts(conn, first, hashes, salts)
        self._tree.extend(first, hashes)
        if sealed_blocks:
            self._checkpoint(state.sealed_tx_count)
        self._count_local_write()
        log.debug("ledger_appended", first_leaf=first, count=len(hashes))
        return AppendResult(receipts, False)

    def _check_signed_values(self, records: Sequence[Record]) -> None:
        """Refuse a version-2 settlement whose register values the meter did not sign (spec §17).

        The keys are the household's meter-key records already on the log or earlier in this
        append. Outside the write lock: a key record, once appended, never changes.
        """
        signed = [r for r in records if isinstance(r, SettlementV2)]
        if not signed:
            return
        households = sorted({r.household_id for r in signed})
        keys: dict[str, dict[tuple[str, str], bytes]] = {h: {} for h in households}
        with self._engine.connect() as conn:
            for chunk in range(0, len(households), 500):
                rows = conn.execute(
                    select(TXS.c.record).where(
                        TXS.c.kind == int(RecordKind.METER_KEY),
                        TXS.c.household_id.in_(households[chunk : chunk + 500]),
                    )
                )
                for (body,) in rows:
                    key = decode_record(bytes(body), validate=False)
                    if isinstance(key, MeterKey):
                        keys[key.household_id][(key.meter_id, key.key_id)] = key.public_key
        for record in records:
            if isinstance(record, MeterKey) and record.household_id in keys:
                keys[record.household_id][(record.meter_id, record.key_id)] = record.public_key
            elif isinstance(record, SettlementV2):
                check_meter_signatures(record, keys[record.household_id])

    def _check_corrections(self, records: Sequence[Record]) -> None:
        """Refuse a correction of a period that is not billed on the log (spec §17.6): a
        settlement of the household with the same start and length, in the same currency."""
        with self._engine.connect() as conn:
            for record in records:
                if not isinstance(record, Correction):
                    continue
                rows = conn.execute(
                    select(TXS.c.record).where(
                        TXS.c.kind == int(RecordKind.SETTLEMENT),
                        TXS.c.household_id == record.household_id,
                        TXS.c.hour_ms == record.period_start_ms,
                    )
                )
                if not any(_bills(decode_record(bytes(body), validate=False), record) for (body,) in rows):
                    raise FailedPrecondition(
                        "CORRECTION_PERIOD_NOT_BILLED",
                        f"no settlement of {record.household_id} for the {record.period_ms // 1000} s period "
                        f"starting {record.period_start_ms} in {record.currency} is on the log",
                    )

    def _check_unbilled(self, records: Sequence[Record]) -> None:
        """Refuse an unbilled-period record that overlaps a period the household is billed for on
        the log or earlier in this append (spec §17.7). The other way round is allowed: a
        settlement may follow an unbilled record of its period (a signed value that arrived late,
        billed by a re-run), and then the line, not the reason, accounts for the period."""
        runs = [r for r in records if isinstance(r, UnbilledPeriod)]
        if not runs:
            return
        in_batch = [r for r in records if isinstance(r, Settlement | SettlementV2)]
        with self._engine.connect() as conn:
            for run in runs:
                rows = conn.execute(
                    select(TXS.c.record).where(
                        TXS.c.kind == int(RecordKind.SETTLEMENT),
                        TXS.c.household_id == run.household_id,
                        TXS.c.hour_ms > run.period_start_ms - HOUR_MS,  # a legacy hour started before
                        TXS.c.hour_ms < run.end_ms,
                    )
                )
                stored = [decode_record(bytes(body), validate=False) for (body,) in rows]
                for settled in [*stored, *in_batch]:
                    span = _span(settled)
                    if settled.household_id == run.household_id and span is not None:
                        if span[0] < run.end_ms and run.period_start_ms < span[1]:
                            raise FailedPrecondition(
                                "UNBILLED_PERIOD_SETTLED",
                                f"{run.household_id} is billed for the period starting {span[0]}, "
                                f"inside the unbilled run {run.period_start_ms}..{run.end_ms}",
                            )

    def seal_due(self) -> int:
        """Seal every pending transaction if the oldest waited ``block_max_ms``; blocks sealed."""
        with self._engine.connect() as conn:
            since = conn.execute(select(HEAD.c.pending_since_ms).where(HEAD.c.id == HEAD_ID)).scalar()
        if since is None or self._clock() - since < self.block_max_ms:
            return 0
        with self._engine.connect() as raw, begin_write(raw).begin():
            state = self._lock_head(raw)
            if state.pending_since_ms is None:
                return 0  # another replica sealed meanwhile
            made = self._seal(raw, state, new_first=state.tx_count, new_hashes=[], force=True)
        if made:
            self._checkpoint(state.sealed_tx_count)
            self._count_local_write()
        return made

    def _count_local_write(self) -> None:
        with self._count_lock:
            self._local_writes += 1

    def _checkpoint(self, size: int) -> None:
        """Sign the tree at ``size`` (the end of the newest block) and keep the head in the database.

        Runs after the commit, in its own transaction: a crash in between only leaves a block without
        a checkpoint, which the next sealing covers (a head at size S vouches for every leaf < S).
        """
        if size > self._tree.size:
            self._tree.sync()
        try:
            root = self._tree.root_at(size)
        except InvalidArgument:
            log.error("ledger_checkpoint_skipped", tree_size=size, tree=self._tree.size)
            return
        sth = self._signer.sign(size, root, self._clock())
        row = {
            "tree_size": size,
            "root_hash": root,
            "timestamp_ms": sth.head.timestamp_ms,
            "key_id": sth.head.log_id,
            "signature": sth.signature,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(CHECKPOINTS), [row])
        except IntegrityError:
            pass  # another replica signed this size already

    def _lock_head(self, conn: Connection) -> _HeadState:
        stmt = select(
            HeadRow.tx_count,
            HeadRow.last_tx_hash,
            HeadRow.block_count,
            HeadRow.last_block_hash,
            HeadRow.sealed_tx_count,
            HeadRow.pending_since_ms,
        ).where(HeadRow.id == HEAD_ID)
        if conn.dialect.name != "sqlite":
            stmt = stmt.with_for_update()
        head = conn.execute(stmt).first()
        if head is None:
            raise FailedPrecondition("LEDGER_NOT_INITIALISED", "ledger_head row missing: run the migrations")
        return _HeadState(*head)

    def _seal(
        self, conn: Connection, state: _HeadState, new_first: int, new_hashes: list[bytes], force: bool
    ) -> int:
        """Seal full blocks (and, when due or forced, the remainder); update the head row."""
        now = self._clock()
        since = state.pending_since_ms
        force = force or (since is not None and now - since >= self.block_max_ms)
        sealed, total = state.sealed_tx_count, state.tx_count
        pending_hashes: list[bytes] = []
        if sealed < new_first:  # older pending transactions live only in the database
            pending_hashes = list(
                conn.execute(
                    select(TXS.c.tx_hash)
                    .where(TXS.c.leaf_index >= sealed, TXS.c.leaf_index < new_first)
                    .order_by(TXS.c.leaf_index)
                ).scalars()
            )
        pending_hashes += new_hashes
        offset, made, blocks = 0, 0, []
        while total - sealed >= self.block_max_txs or (force and total > sealed):
            n = min(self.block_max_txs, total - sealed)
            header, bh = seal_block(
                state.block_count, state.last_block_hash, sealed, pending_hashes[offset : offset + n], now
            )
            blocks.append({**dataclasses.asdict(header), "block_hash": bh})
            state.block_count += 1
            state.last_block_hash = bh
            sealed += n
            offset += n
            made += 1
        if blocks:
            conn.execute(insert(BLOCKS), blocks)
            state.pending_since_ms = now if total > sealed else None
        state.sealed_tx_count = sealed
        conn.execute(update(HEAD).where(HEAD.c.id == HEAD_ID).values(dataclasses.asdict(state)))
        return made


def _bills(settled: Record, correction: Correction) -> bool:
    """True when ``settled`` is the billed period ``correction`` corrects."""
    if isinstance(settled, Settlement):
        return correction.period_ms == HOUR_MS and correction.currency == "EUR"
    if isinstance(settled, SettlementV2):
        return (
            settled.period_ms == correction.period_ms and (settled.currency or "EUR") == correction.currency
        )
    return False


def _span(record: Record) -> tuple[int, int] | None:
    """[start, end) ms of a settlement, or None for any other record."""
    if isinstance(record, Settlement):
        return record.hour_ms, record.hour_ms + HOUR_MS
    if isinstance(record, SettlementV2):
        return record.period_start_ms, record.period_start_ms + record.period_ms
    return None


def _stored_receipts(conn: Connection, first: int, count: int) -> list[Receipt]:
    """The receipts of transactions already stored (a replayed request)."""
    rows = conn.execute(
        select(TXS.c.tx_hash, TXS.c.record)
        .where(TXS.c.leaf_index >= first, TXS.c.leaf_index < first + count)
        .order_by(TXS.c.leaf_index)
    ).all()
    salts = [decode_record(r.record, validate=False).salt for r in rows]
    return _receipts(conn, first, [r.tx_hash for r in rows], salts)


def _receipts(conn: Connection, first: int, hashes: Sequence[bytes], salts: Sequence[bytes]) -> list[Receipt]:
    # Blocks cover the leaves before the sealed count contiguously, in order; the rest wait.
    end = first + len(hashes)
    out: list[Receipt] = []
    for block in blocks_covering(conn, first, end):
        start, stop = max(first, block.first_tx_index), min(end, block.first_tx_index + block.tx_count)
        offset, height = block.first_tx_index, block.height
        out += [
            Receipt(leaf, hashes[leaf - first], salts[leaf - first], height, leaf - offset)
            for leaf in range(start, stop)
        ]
    leaf = first + len(out)
    out += [Receipt(i, hashes[i - first], salts[i - first], None, None) for i in range(leaf, end)]
    return out
