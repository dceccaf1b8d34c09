"""Full re-verification of the stored chain (spec §9): one streaming pass over blocks and txs.

Reports the first inconsistency: which block (or, for not-yet-sealed transactions, which leaf)
and a stable reason code. Cost is one SHA-256 per transaction for its hash, about two for the
block Merkle roots and one for the tree cross-check -- a few seconds per million transactions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Row, select
from sqlalchemy.engine import Connection

from ledger_svc.canonical import ZERO_HASH, index_fields, tx_hash
from ledger_svc.chain import BlockHeader, block_hash
from ledger_svc.merkle import MerkleTree, leaf_hash, root_of
from ledger_svc.reads import Block, select_blocks
from ledger_svc.signing import SignedTreeHead, TreeHead, log_id_of, verify_signed_head
from ledger_svc.store import BLOCKS, CHECKPOINTS, HEAD, HEAD_ID, TXS, TxRow

__all__ = ["ChainReport", "check_checkpoints", "verify_chain"]


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    blocks_checked: int
    txs_checked: int
    first_bad_height: int | None = None  # None when the fault is not in a block (pending tx, head row)
    bad_leaf_index: int | None = None
    reason: str = ""  # UPPER_SNAKE code, see spec §9
    detail: str = ""


class _Bad(Exception):
    def __init__(self, reason: str, detail: str, leaf: int | None = None) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.leaf = reason, detail, leaf


# leaf_index, tx_hash, prev_tx_hash, kind, household_id, hour_ms, appended_at_ms, record
_TxColumns = Row[int, bytes, bytes, int, str | None, int, int, bytes]


class _TxWalker:
    """Checks transactions one by one, in leaf order, against the hash chain."""

    def __init__(
        self, rows: Iterable[_TxColumns], next_index: int, prev_hash: bytes, tree: MerkleTree | None
    ) -> None:
        self.rows = iter(rows)
        self.next_index = next_index
        self.prev_hash = prev_hash
        self.tree = tree
        self.checked = 0

    def take(self) -> bytes | None:
        row = next(self.rows, None)
        if row is None:
            return None
        leaf_index, h, prev, kind, household, hour, at, record = row
        i = self.next_index
        if leaf_index != i:
            raise _Bad("TX_MISSING", f"expected leaf {i}, found leaf {leaf_index}", i)
        if prev != self.prev_hash:
            raise _Bad("TX_PREV_MISMATCH", f"leaf {i} does not link to the previous transaction", i)
        if tx_hash(record, at, prev) != h:
            raise _Bad("TX_HASH_MISMATCH", f"leaf {i}: stored hash differs from the hash of its record", i)
        try:
            fields = index_fields(record)
        except Exception as exc:  # a malformed record whose hash matches was written malformed
            raise _Bad("MALFORMED_RECORD", f"leaf {i}: {exc}", i) from exc
        if fields != (kind, household, hour):
            raise _Bad(
                "TX_COLUMN_MISMATCH", f"leaf {i}: kind/household/hour columns differ from the record", i
            )
        if self.tree is not None and i < self.tree.size and self.tree.leaf(i) != leaf_hash(h):
            raise _Bad("TREE_MISMATCH", f"leaf {i} differs from the tree this server has signed", i)
        h = bytes(h)
        self.prev_hash = h
        self.next_index = i + 1
        self.checked += 1
        return h


def verify_chain(
    conn: Connection,
    from_height: int = 0,
    to_height: int | None = None,
    tree: MerkleTree | None = None,
    public_key: bytes | None = None,
) -> ChainReport:
    """Verify blocks ``from_height..to_height`` (inclusive; None = to the end, plus pending txs
    and the head row). A range not starting at 0 trusts block ``from_height - 1`` as its anchor."""
    prev_block, next_tx, prev_tx = ZERO_HASH, 0, ZERO_HASH
    if from_height > 0:
        anchor = conn.execute(select(BLOCKS).where(BLOCKS.c.height == from_height - 1)).first()
        if anchor is None:
            return ChainReport(False, 0, 0, from_height - 1, None, "BLOCK_MISSING", "anchor block not found")
        prev_block, next_tx = anchor.block_hash, anchor.first_tx_index + anchor.tx_count
        prev_tx = conn.execute(select(TXS.c.tx_hash).where(TXS.c.leaf_index == next_tx - 1)).scalar() or b""
    block_stmt = select_blocks().where(BLOCKS.c.height >= from_height).order_by(BLOCKS.c.height)
    if to_height is not None:
        block_stmt = block_stmt.where(BLOCKS.c.height <= to_height)
    tx_stmt = (
        select(
            TxRow.leaf_index,
            TxRow.tx_hash,
            TxRow.prev_tx_hash,
            TxRow.kind,
            TxRow.household_id,
            TxRow.hour_ms,
            TxRow.appended_at_ms,
            TxRow.record,
        )
        .where(TXS.c.leaf_index >= next_tx)
        .order_by(TXS.c.leaf_index)
    )
    # Two cursors at once: SQLite handles it natively; PostgreSQL needs a second connection for
    # a server-side cursor, so we stream txs through their own connection there.
    tx_conn = conn.engine.connect() if conn.dialect.name != "sqlite" else conn
    if tx_conn is not conn:
        # Both cursors must read ONE snapshot, or a block sealed (or a tx appended) between their
        # statements reads as HEAD_MISMATCH / TX_MISSING on a sound chain. ``conn`` is REPEATABLE
        # READ (Ledger.verify_chain); the tx connection adopts its exported snapshot.
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        tx_conn = tx_conn.execution_options(isolation_level="REPEATABLE READ")
        tx_conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    try:
        tx_rows = tx_conn.execution_options(stream_results=True, yield_per=5000).execute(tx_stmt)
        walker = _TxWalker(tx_rows, next_tx, prev_tx, tree)
        blocks_checked, expected_height = 0, from_height
        for row in conn.execution_options(stream_results=True, yield_per=1000).execute(block_stmt):
            b = Block(*row)
            try:
                _check_block(b, expected_height, prev_block, walker)
            except _Bad as bad:
                return ChainReport(
                    False, blocks_checked, walker.checked, expected_height, bad.leaf, bad.reason, bad.detail
                )
            prev_block = b.block_hash
            expected_height += 1
            blocks_checked += 1
        if to_height is not None:
            if to_height >= expected_height:
                return ChainReport(
                    False,
                    blocks_checked,
                    walker.checked,
                    expected_height,
                    None,
                    "BLOCK_MISSING",
                    f"no block at height {expected_height}",
                )
            return ChainReport(True, blocks_checked, walker.checked)
        sealed = walker.next_index
        try:
            while walker.take() is not None:  # pending transactions, not yet in a block
                pass
            _check_head(conn, expected_height, prev_block, sealed, walker)
        except _Bad as bad:
            return ChainReport(False, blocks_checked, walker.checked, None, bad.leaf, bad.reason, bad.detail)
        if tree is not None and public_key is not None:
            signed = check_checkpoints(conn, tree, public_key)
            if not signed.ok:
                return dataclasses.replace(signed, blocks_checked=blocks_checked, txs_checked=walker.checked)
        return ChainReport(True, blocks_checked, walker.checked)
    finally:
        if tx_conn is not conn:
            tx_conn.close()


def _check_block(b: Block, height: int, prev_block: bytes, walker: _TxWalker) -> None:
    if b.height != height:
        raise _Bad("BLOCK_MISSING", f"expected block {height}, found block {b.height}")
    header = BlockHeader(
        b.height, b.prev_block_hash, b.merkle_root, b.first_tx_index, b.tx_count, b.sealed_at_ms
    )
    if block_hash(header) != b.block_hash:
        raise _Bad("BLOCK_HASH_MISMATCH", f"block {height}: stored hash differs from the hash of its header")
    if b.prev_block_hash != prev_block:
        raise _Bad("PREV_BLOCK_MISMATCH", f"block {height} does not link to block {height - 1}")
    if b.first_tx_index != walker.next_index or b.tx_count < 1:
        raise _Bad(
            "TX_RANGE_MISMATCH",
            f"block {height} claims leaves from {b.first_tx_index}, expected {walker.next_index}",
        )
    hashes: list[bytes] = []
    for _ in range(b.tx_count):
        h = walker.take()
        if h is None:
            raise _Bad(
                "TX_MISSING",
                f"block {height} ends after {len(hashes)} of {b.tx_count} transactions",
                walker.next_index,
            )
        hashes.append(h)
    if root_of([leaf_hash(h) for h in hashes]) != b.merkle_root:
        raise _Bad("MERKLE_ROOT_MISMATCH", f"block {height}: transactions do not produce its Merkle root")


def _check_head(conn: Connection, blocks: int, last_block: bytes, sealed: int, walker: _TxWalker) -> None:
    head = conn.execute(select(HEAD).where(HEAD.c.id == HEAD_ID)).first()
    if head is None:
        raise _Bad("HEAD_MISMATCH", "chain-head row is missing")
    expected = (blocks, last_block, sealed, walker.next_index, walker.prev_hash)
    actual = (head.block_count, head.last_block_hash, head.sealed_tx_count, head.tx_count, head.last_tx_hash)
    if expected != actual:
        raise _Bad("HEAD_MISMATCH", "chain-head row disagrees with the stored blocks and transactions")


def check_checkpoints(conn: Connection, tree: MerkleTree, public_key: bytes) -> ChainReport:
    """Every stored checkpoint must carry our signature and equal the root of the stored log at its
    size. A consistent rewrite of rows (hashes, links, blocks and head all recomputed) passes every
    other check but not this one: it would need the signing key. The fault is located between the
    last checkpoint that still matches and the first that does not."""
    good_size = 0
    key_id = log_id_of(public_key)
    for size, root, ts, kid, sig in conn.execute(
        select(
            CHECKPOINTS.c.tree_size,
            CHECKPOINTS.c.root_hash,
            CHECKPOINTS.c.timestamp_ms,
            CHECKPOINTS.c.key_id,
            CHECKPOINTS.c.signature,
        ).order_by(CHECKPOINTS.c.tree_size)
    ):
        sth = SignedTreeHead(TreeHead(kid, size, root, ts), sig, public_key)
        if kid != key_id or not verify_signed_head(sth, public_key):
            return ChainReport(
                False,
                0,
                0,
                None,
                None,
                "CHECKPOINT_SIGNATURE_INVALID",
                f"checkpoint at size {size} is not signed by this ledger's key",
            )
        if size > tree.size:
            return ChainReport(
                False,
                0,
                0,
                None,
                tree.size,
                "CHECKPOINT_BEYOND_LOG",
                f"a checkpoint was signed at size {size} but only {tree.size} transactions remain",
            )
        if tree.root(size) != root:
            height = conn.execute(
                select(BLOCKS.c.height)
                .where(BLOCKS.c.first_tx_index <= good_size)
                .order_by(BLOCKS.c.first_tx_index.desc())
            ).scalar()
            return ChainReport(
                False,
                0,
                0,
                height,
                good_size,
                "CHECKPOINT_MISMATCH",
                f"leaves {good_size}..{size - 1} differ from what was signed at size {size}",
            )
        good_size = size
    return ChainReport(True, 0, 0)
