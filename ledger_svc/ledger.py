"""The ledger: ordered appends, block sealing, signed heads and proofs over the stored chain.

Writes are serialised by the database (spec §8): each append runs in one transaction that first
locks the chain-head row (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite). Any number of replicas can therefore append; a crash mid-append rolls the whole
transaction back, so no partial block or dangling transaction is ever visible.

The in-memory Merkle tree is a cache of the committed transaction hashes; each replica catches
up from the database (``sync``) before it answers anything tree-shaped.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sqlalchemy import Row, Table, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from common.errors import FailedPrecondition, InvalidArgument, NotFound
from common.log import get_logger
from ledger_svc.canonical import SALT_LEN, ZERO_HASH, Record, chain_tx_hashes, decode_record, encode_records
from ledger_svc.chain import seal_block
from ledger_svc.merkle import MerkleTree, ProofError, leaf_hash
from ledger_svc.signing import SignedTreeHead, Signer
from ledger_svc.store import HEAD_ID, BlockRow, CheckpointRow, HeadRow, RequestRow, TxRow, begin_write
from ledger_svc.verify import ChainReport, check_checkpoints, verify_chain

__all__ = ["AppendResult", "Block", "Ledger", "Receipt", "StoredTx", "now_ms"]

log = get_logger(__name__)

_tx = cast(Table, TxRow.__table__)
_blocks = cast(Table, BlockRow.__table__)
_head = cast(Table, HeadRow.__table__)
_requests = cast(Table, RequestRow.__table__)
_checkpoints = cast(Table, CheckpointRow.__table__)


# Sealed blocks kept in memory for ListBlocks (a few hundred bytes each).
_BLOCK_CACHE_MAX = 10_000

_INSERT_TX = (
    "INSERT INTO ledger_transactions"
    " (leaf_index, tx_hash, prev_tx_hash, kind, household_id, hour_ms, appended_at_ms, record)"
    " VALUES ({}, {}, {}, {}, {}, {}, {}, {})"
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


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


def _request_digest(records: Sequence[Record], encoded: Sequence[bytes]) -> bytes:
    """What a retry must repeat: the records, with server-chosen salts blanked out."""
    h = hashlib.sha256()
    for rec, body in zip(records, encoded, strict=False):
        # The salt sits at bytes 6..38 of every canonical record (spec §2).
        blanked = body if rec.salt else body[:6] + ZERO_HASH + body[6 + SALT_LEN :]
        h.update(len(blanked).to_bytes(4, "big") + blanked + (b"\x01" if rec.salt else b"\x00"))
    return h.digest()


class Ledger:
    def __init__(
        self,
        engine: Engine,
        signer: Signer,
        block_max_txs: int = 1000,
        block_max_ms: int = 1000,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        if block_max_txs < 1 or block_max_ms < 0:
            raise ValueError("block_max_txs must be >= 1 and block_max_ms >= 0")
        self.engine = engine
        self.signer = signer
        self.block_max_txs = block_max_txs
        self.block_max_ms = block_max_ms
        self._clock = clock
        self._tree = MerkleTree()
        self._tree_lock = threading.Lock()
        self._last_head: SignedTreeHead | None = None
        # Read cache of ListBlocks (see blocks_page): sealed blocks by height, and the block count
        # last read with (when, tree size then). Written under the lock, read lock-free.
        self._blocks_lock = threading.Lock()
        self._sealed_blocks: dict[int, Block] = {}
        self._block_count_seen: tuple[int, int, int] | None = None
        self._local_writes = 0  # appends and seals by this replica (see local_writes)

    # ---------------------------------------------------------------- writes
    def append(self, records: Sequence[Record], request_id: str = "") -> AppendResult:
        """Append ``records`` in order, atomically; a repeated ``request_id`` returns the first receipts."""
        if not records:
            raise InvalidArgument("EMPTY_APPEND", "append needs at least one record")
        if len(request_id) > 128:
            raise InvalidArgument("REQUEST_ID_TOO_LONG", "request_id is longer than 128 characters")
        pool = os.urandom(SALT_LEN * len(records))  # one call: only the records without a salt take one
        salts = [r.salt or pool[i * SALT_LEN : (i + 1) * SALT_LEN] for i, r in enumerate(records)]
        encoded = encode_records(records, salts)  # validates all before locking
        digest = _request_digest(records, encoded) if request_id else b""
        with self.engine.connect() as raw, begin_write(raw).begin():
            conn = raw
            head = self._lock_head(conn)
            if request_id:
                prior = conn.execute(select(_requests).where(_requests.c.request_id == request_id)).first()
                if prior is not None:
                    if prior.digest != digest:
                        raise InvalidArgument(
                            "REQUEST_ID_REUSED", f"request_id {request_id!r} was used for different records"
                        )
                    return AppendResult(self._receipts(conn, prior.first_leaf_index, prior.tx_count), True)
            first = head.tx_count
            prev = head.last_tx_hash
            at = self._clock()
            hashes = chain_tx_hashes(encoded, at, prev)
            rows = [
                (first + i, h, p, int(rec.kind), rec.household_id, rec.hour_ms, at, body)
                for i, (h, p, rec, body) in enumerate(
                    zip(hashes, [prev, *hashes[:-1]], records, encoded, strict=True)
                )
            ]
            prev = hashes[-1]
            # Driver-level executemany: the ORM/Core parameter processing costs more than SQLite.
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(_INSERT_TX.format(*[mark] * 8), rows)
            if request_id:
                conn.execute(
                    insert(_requests),
                    [
                        {
                            "request_id": request_id,
                            "digest": digest,
                            "first_leaf_index": first,
                            "tx_count": len(rows),
                        }
                    ],
                )
            state = dict(head._mapping)
            state.update(tx_count=first + len(rows), last_tx_hash=prev)
            if state["pending_since_ms"] is None:
                state["pending_since_ms"] = self._clock()
            sealed_blocks = self._seal(conn, state, new_first=first, new_hashes=hashes, force=False)
            receipts = self._receipts(conn, first, len(rows), state=state, hashes=hashes, salts=salts)
        self._extend_tree(first, hashes)
        if sealed_blocks:
            self._block_count_seen = None  # this replica's own blocks are listed at once
            self._checkpoint(state["sealed_tx_count"])
        self._count_local_write()
        log.debug("ledger_appended", first_leaf=first, count=len(hashes))
        return AppendResult(receipts, False)

    def seal_due(self) -> int:
        """Seal every pending transaction if the oldest waited ``block_max_ms``; blocks sealed."""
        with self.engine.connect() as conn:
            since = conn.execute(select(_head.c.pending_since_ms).where(_head.c.id == HEAD_ID)).scalar()
        if since is None or self._clock() - since < self.block_max_ms:
            return 0
        with self.engine.connect() as raw, begin_write(raw).begin():
            head = self._lock_head(raw)
            state = dict(head._mapping)
            if state["pending_since_ms"] is None:
                return 0  # another replica sealed meanwhile
            made = self._seal(raw, state, new_first=state["tx_count"], new_hashes=[], force=True)
        if made:
            self._block_count_seen = None
            self._checkpoint(state["sealed_tx_count"])
            self._count_local_write()
        return made

    def _count_local_write(self) -> None:
        with self._tree_lock:
            self._local_writes += 1

    @property
    def local_writes(self) -> int:
        """How many appends and seals this replica has made. A read (signed head, newest blocks)
        that starts after this count reaches a value sees those writes; other replicas' writes
        show within the reuse age instead."""
        return self._local_writes

    def _checkpoint(self, size: int) -> None:
        """Sign the tree at ``size`` (the end of the newest block) and keep the head in the database.

        Runs after the commit, in its own transaction: a crash in between only leaves a block without
        a checkpoint, which the next sealing covers (a head at size S vouches for every leaf < S).
        """
        if size > self._tree.size:
            self.sync()
        try:
            root = self.root_at(size)
        except InvalidArgument:
            log.error("ledger_checkpoint_skipped", tree_size=size, tree=self._tree.size)
            return
        sth = self.signer.sign(size, root, self._clock())
        row = {
            "tree_size": size,
            "root_hash": root,
            "timestamp_ms": sth.head.timestamp_ms,
            "key_id": sth.head.log_id,
            "signature": sth.signature,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_checkpoints), [row])
        except IntegrityError:
            pass  # another replica signed this size already

    def _lock_head(self, conn: Connection) -> Row[Any]:
        stmt = select(_head).where(_head.c.id == HEAD_ID)
        if conn.dialect.name != "sqlite":
            stmt = stmt.with_for_update()
        head = conn.execute(stmt).first()
        if head is None:
            raise FailedPrecondition("LEDGER_NOT_INITIALISED", "ledger_head row missing: run the migrations")
        return head

    def _seal(
        self, conn: Connection, state: dict, new_first: int, new_hashes: list[bytes], force: bool
    ) -> int:
        """Seal full blocks (and, when due or forced, the remainder); update the head row."""
        now = self._clock()
        since = state["pending_since_ms"]
        force = force or (since is not None and now - since >= self.block_max_ms)
        sealed, total = state["sealed_tx_count"], state["tx_count"]
        pending_hashes: list[bytes] = []
        if sealed < new_first:  # older pending transactions live only in the database
            pending_hashes = list(
                conn.execute(
                    select(_tx.c.tx_hash)
                    .where(_tx.c.leaf_index >= sealed, _tx.c.leaf_index < new_first)
                    .order_by(_tx.c.leaf_index)
                ).scalars()
            )
        pending_hashes += new_hashes
        offset, made, blocks = 0, 0, []
        while total - sealed >= self.block_max_txs or (force and total > sealed):
            n = min(self.block_max_txs, total - sealed)
            header, bh = seal_block(
                state["block_count"],
                state["last_block_hash"],
                sealed,
                pending_hashes[offset : offset + n],
                now,
            )
            blocks.append({**dataclasses.asdict(header), "block_hash": bh})
            state["block_count"] += 1
            state["last_block_hash"] = bh
            sealed += n
            offset += n
            made += 1
        if blocks:
            conn.execute(insert(_blocks), blocks)
            state["pending_since_ms"] = now if total > sealed else None
        state["sealed_tx_count"] = sealed
        conn.execute(
            update(_head).where(_head.c.id == HEAD_ID).values({k: v for k, v in state.items() if k != "id"})
        )
        return made

    def _receipts(
        self,
        conn: Connection,
        first: int,
        count: int,
        state: dict | None = None,
        hashes: list[bytes] | None = None,
        salts: Sequence[bytes] | None = None,
    ) -> list[Receipt]:
        if hashes is None or salts is None:
            rows = conn.execute(
                select(_tx.c.tx_hash, _tx.c.record)
                .where(_tx.c.leaf_index >= first, _tx.c.leaf_index < first + count)
                .order_by(_tx.c.leaf_index)
            ).all()
            hashes = [r.tx_hash for r in rows]
            salt_list = [decode_record(r.record, validate=False).salt for r in rows]
        else:
            salt_list = list(salts)
        # Blocks cover the leaves before the sealed count contiguously, in order; the rest wait.
        end = first + count
        out: list[Receipt] = []
        for block in self._blocks_covering(conn, first, end):
            start, stop = max(first, block.first_tx_index), min(end, block.first_tx_index + block.tx_count)
            offset, height = block.first_tx_index, block.height
            out += [
                Receipt(leaf, hashes[leaf - first], salt_list[leaf - first], height, leaf - offset)
                for leaf in range(start, stop)
            ]
        leaf = first + len(out)
        out += [Receipt(i, hashes[i - first], salt_list[i - first], None, None) for i in range(leaf, end)]
        return out

    def _blocks_covering(self, conn: Connection, start: int, end: int) -> list[Block]:
        """Blocks holding any of the leaves [start, end), in order."""
        first_block = conn.execute(
            select(_blocks.c.height)
            .where(_blocks.c.first_tx_index <= start)
            .order_by(_blocks.c.first_tx_index.desc())
        ).scalar()
        stmt = select(_blocks).where(_blocks.c.first_tx_index < end).order_by(_blocks.c.height)
        if first_block is not None:
            stmt = stmt.where(_blocks.c.height >= first_block)
        return [Block(**r._mapping) for r in conn.execute(stmt)]

    # ---------------------------------------------------------------- tree
    def load(self) -> None:
        """Rebuild the in-memory tree from the stored transaction hashes (start-up)."""
        with self._tree_lock:
            self._tree = MerkleTree()
        self.sync()
        log.info("ledger_tree_loaded", tree_size=self._tree.size)
        report = self.verify_checkpoints()
        if not report.ok:  # keep serving (reads, proofs of intact parts), but say it loudly
            log.error("ledger_checkpoint_mismatch", reason=report.reason, detail=report.detail)

    def verify_checkpoints(self) -> ChainReport:
        """Check the stored signed checkpoints against the tree rebuilt from the stored hashes."""
        with self.engine.connect() as conn:
            return check_checkpoints(conn, self._tree, self.signer.public_key)

    def sync(self) -> int:
        """Catch the tree up with transactions other replicas committed; returns its size."""
        with self._tree_lock:
            size = self._tree.size
            with self.engine.connect() as conn:
                result = conn.execute(
                    select(_tx.c.leaf_index, _tx.c.tx_hash)
                    .where(_tx.c.leaf_index >= size)
                    .order_by(_tx.c.leaf_index)
                )
                batch: list[bytes] = []
                for index, h in result:
                    if index != size + len(batch):
                        log.error("ledger_leaf_gap", expected=size + len(batch), found=index)
                        break
                    batch.append(leaf_hash(h))
            self._tree.append_leaf_hashes(batch)
            return self._tree.size

    def _extend_tree(self, first: int, hashes: list[bytes]) -> None:
        with self._tree_lock:
            if self._tree.size == first:
                self._tree.append_leaf_hashes(leaf_hash(h) for h in hashes)
                return
        self.sync()

    def tree_size(self) -> int:
        return self.sync()

    def signed_head(self) -> SignedTreeHead:
        """A freshly signed head over every transaction committed so far (by any replica)."""
        self.sync()
        with self._tree_lock:
            size = self._tree.size
            root = self._tree.root(size)
        head = self.signer.sign(size, root, self._clock())
        self._last_head = head
        return head

    def recent_head(self, max_age_ms: int) -> SignedTreeHead | None:
        """The last head this replica signed, if at most ``max_age_ms`` old and its tree has not
        grown since; else None (call :meth:`signed_head`).

        Performance: GetSignedHead is the hottest read (dashboards and verifiers poll it) and a
        fresh head costs a database round trip (sync) plus an Ed25519 signature. A head a few
        hundred ms old is still a correct signed commitment (CT logs publish heads periodically);
        appends through this replica are visible at once (its tree grew), other replicas' within
        ``max_age_ms``. Lock-free read: a stale reference is at worst one refresh late.
        """
        head = self._last_head
        if head is None or max_age_ms <= 0 or head.head.tree_size != self._tree.size:
            return None
        if self._clock() - head.head.timestamp_ms > max_age_ms:
            return None
        return head

    def head_age_ms(self, head: SignedTreeHead) -> int:
        """How long ago ``head`` was signed, on this ledger's clock."""
        return self._clock() - head.head.timestamp_ms

    def newest_blocks_age_ms(self) -> int | None:
        """How long ago the newest block count was read (None: not read, or dropped since)."""
        seen = self._block_count_seen
        return None if seen is None else self._clock() - seen[1]

    def inclusion_proof(self, leaf_index: int, tree_size: int) -> tuple[bytes, list[bytes]]:
        """(leaf hash, audit path) of leaf ``leaf_index`` in the tree of ``tree_size`` leaves."""
        if tree_size > self._tree.size:  # only a head newer than ours needs a database round trip
            self.sync()
        with self._tree_lock:
            try:
                path = self._tree.inclusion_proof(leaf_index, tree_size)
                return self._tree.leaf(leaf_index), path
            except ProofError as exc:
                raise InvalidArgument("BAD_PROOF_RANGE", str(exc)) from exc

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        if size2 > self._tree.size:
            self.sync()
        with self._tree_lock:
            try:
                return self._tree.consistency_proof(size1, size2)
            except ProofError as exc:
                raise InvalidArgument("BAD_PROOF_RANGE", str(exc)) from exc

    def root_at(self, size: int) -> bytes:
        with self._tree_lock:
            try:
                return self._tree.root(size)
            except ProofError as exc:
                raise InvalidArgument("BAD_PROOF_RANGE", str(exc)) from exc

    # ---------------------------------------------------------------- reads
    def get_block(self, height: int) -> tuple[Block, list[bytes]]:
        with self.engine.connect() as conn:
            row = conn.execute(select(_blocks).where(_blocks.c.height == height)).first()
            if row is None:
                raise NotFound("BLOCK_NOT_FOUND", f"no block at height {height}")
            block = Block(**row._mapping)
            hashes = list(
                conn.execute(
                    select(_tx.c.tx_hash)
                    .where(
                        _tx.c.leaf_index >= block.first_tx_index,
                        _tx.c.leaf_index < block.first_tx_index + block.tx_count,
                    )
                    .order_by(_tx.c.leaf_index)
                ).scalars()
            )
        return block, hashes

    def list_blocks(self, start_height: int, limit: int, descending: bool = False) -> list[Block]:
        with self.engine.connect() as conn:
            stmt = select(_blocks)
            if descending:
                stmt = stmt.where(_blocks.c.height <= start_height).order_by(_blocks.c.height.desc())
            else:
                stmt = stmt.where(_blocks.c.height >= start_height).order_by(_blocks.c.height)
            return [Block(**r._mapping) for r in conn.execute(stmt.limit(limit))]

    def blocks_page(self, start_height: int | None, limit: int) -> list[Block]:
        """Up to ``limit`` blocks from ``start_height`` down (None: from the newest), one query.

        Remembers what it read for :meth:`recent_blocks_page`.
        """
        stmt = select(_blocks).order_by(_blocks.c.height.desc()).limit(limit)
        if start_height is not None:
            stmt = stmt.where(_blocks.c.height <= start_height)
        at, size = self._clock(), self._tree.size
        with self.engine.connect() as conn:
            blocks = [Block(**r._mapping) for r in conn.execute(stmt)]
        with self._blocks_lock:
            for b in blocks:
                self._sealed_blocks[b.height] = b
            while len(self._sealed_blocks) > _BLOCK_CACHE_MAX:
                del self._sealed_blocks[next(iter(self._sealed_blocks))]
            if start_height is None:
                self._block_count_seen = (blocks[0].height + 1 if blocks else 0, at, size)
        return blocks

    def recent_blocks_page(self, start_height: int | None, limit: int, max_age_ms: int) -> list[Block] | None:
        """:meth:`blocks_page` from memory, or None when it needs the database.

        Performance: the dashboard polls the newest blocks as often as the head. A sealed block
        never changes (its hash is chained into every later block and covered by signed heads), so
        blocks read once are kept (``_BLOCK_CACHE_MAX`` of them, the first read dropped first). What is *newest* is the only
        moving part: the count read last is reused like :meth:`recent_head` (``max_age_ms``, and
        not past a block this replica sealed or a tree that grew here), so other replicas' blocks
        appear within ``max_age_ms``. Lock-free reads: runs on the event loop.
        """
        if start_height is None:
            seen = self._block_count_seen
            if seen is None or max_age_ms <= 0 or seen[2] != self._tree.size:
                return None
            if self._clock() - seen[1] > max_age_ms:
                return None
            start_height = seen[0] - 1
        cached = self._sealed_blocks
        out = []
        for height in range(start_height, max(-1, start_height - limit), -1):
            block = cached.get(height)
            if block is None:
                return None
            out.append(block)
        return out

    def block_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(_head.c.block_count).where(_head.c.id == HEAD_ID)).scalar() or 0)

    def get_transaction(self, leaf_index: int | None = None, tx_hash_: bytes | None = None) -> StoredTx:
        with self.engine.connect() as conn:
            if leaf_index is not None:
                row = conn.execute(select(_tx).where(_tx.c.leaf_index == leaf_index)).first()
            else:
                row = conn.execute(select(_tx).where(_tx.c.tx_hash == tx_hash_)).first()
            if row is None:
                raise NotFound("TX_NOT_FOUND", "no such transaction")
            return self._stored(conn, [row])[0]

    def transactions_range(self, first: int, count: int) -> list[StoredTx]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_tx)
                .where(_tx.c.leaf_index >= first, _tx.c.leaf_index < first + count)
                .order_by(_tx.c.leaf_index)
            ).all()
            return self._stored(conn, rows)

    def household_settlements(self, household_id: str, start_ms: int, end_ms: int) -> list[StoredTx]:
        """Settlement transactions of one household with start <= hour < end, in log order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_tx)
                .where(
                    _tx.c.household_id == household_id,
                    _tx.c.kind == 2,
                    _tx.c.hour_ms >= start_ms,
                    _tx.c.hour_ms < end_ms,
                )
                .order_by(_tx.c.leaf_index)
            ).all()
            return self._stored(conn, rows)

    def _stored(self, conn: Connection, rows: Sequence) -> list[StoredTx]:
        if not rows:
            return []
        blocks = self._blocks_covering(conn, rows[0].leaf_index, rows[-1].leaf_index + 1)
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

    def verify_chain(self, from_height: int = 0, to_height: int | None = None) -> ChainReport:
        self.sync()
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # One snapshot for the whole walk; verify.py shares it with its second connection,
                # so blocks sealed meanwhile can't make a sound chain look broken.
                conn.execution_options(isolation_level="REPEATABLE READ")
            with self._tree_lock:
                tree = self._tree
            return verify_chain(conn, from_height, to_height, tree, self.signer.public_key)


def _locate(blocks: Sequence[Block], leaf_index: int) -> tuple[int | None, int | None]:
    """(height, index in block) of a leaf, given the blocks around it in height order."""
    i = bisect.bisect_right(blocks, leaf_index, key=lambda b: b.first_tx_index) - 1
    if i >= 0:
        b = blocks[i]
        if leaf_index < b.first_tx_index + b.tx_count:
            return b.height, leaf_index - b.first_tx_index
    return None, None
