"""Tamper evidence: change, delete, reorder or swap stored rows; the chain check names the block,
the affected inclusion proofs fail against a head signed before, and invoice lines are marked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from ledger_svc.canonical import tx_hash
from ledger_svc.chain import BlockHeader, block_hash
from ledger_svc.invoices import verify_line
from ledger_svc.ledger import Ledger
from ledger_svc.merkle import ProofError, leaf_hash, root_of, verify_inclusion
from ledger_svc.store import BlockRow, HeadRow, TxRow
from tests.ledger_svc.ledger_records import settlement

TX = TxRow.__table__
BLOCKS = BlockRow.__table__
HEAD = HeadRow.__table__
VICTIM = 5  # leaf 5 (household hh-2) sits in block 1 = leaves 4..7


def _flip_record_byte(conn: Connection) -> None:
    rec = conn.execute(select(TX.c.record).where(TX.c.leaf_index == VICTIM)).scalar_one()
    conn.execute(update(TX).where(TX.c.leaf_index == VICTIM).values(record=rec[:-1] + bytes([rec[-1] ^ 1])))


def _rewrite_record_and_hash(conn: Connection) -> None:
    # A careful forger: new content and a matching tx hash (but cannot re-link the next tx without
    # rewriting everything after it, and cannot forge the old signed head).
    row = conn.execute(select(TX).where(TX.c.leaf_index == VICTIM)).one()
    forged = row.record[:-1] + bytes([row.record[-1] ^ 1])
    conn.execute(
        update(TX)
        .where(TX.c.leaf_index == VICTIM)
        .values(record=forged, tx_hash=tx_hash(forged, row.appended_at_ms, row.prev_tx_hash))
    )


def _set_tx(column: str, value: object) -> Callable[[Connection], None]:
    return lambda conn: (
        conn.execute(update(TX).where(TX.c.leaf_index == VICTIM).values({column: value})) and None
    )


def _set_block(column: str, value: object) -> Callable[[Connection], None]:
    return lambda conn: (
        conn.execute(update(BLOCKS).where(BLOCKS.c.height == 1).values({column: value})) and None
    )


def _rehash_block_1_after_edit(conn: Connection) -> None:
    b = conn.execute(select(BLOCKS).where(BLOCKS.c.height == 1)).one()
    header = BlockHeader(
        1, b.prev_block_hash, b.merkle_root, b.first_tx_index, b.tx_count, b.sealed_at_ms + 1
    )
    conn.execute(
        update(BLOCKS)
        .where(BLOCKS.c.height == 1)
        .values(sealed_at_ms=header.sealed_at_ms, block_hash=block_hash(header))
    )


def _swap_rows(table, key: str, a: int, b: int) -> Callable[[Connection], None]:  # type: ignore[no-untyped-def]
    def run(conn: Connection) -> None:
        col = table.c[key]
        ra = dict(conn.execute(select(table).where(col == a)).one()._mapping)
        rb = dict(conn.execute(select(table).where(col == b)).one()._mapping)
        conn.execute(delete(table).where(col.in_([a, b])))
        conn.execute(table.insert(), [{**rb, key: a}, {**ra, key: b}])

    return run


@dataclass(frozen=True)
class Case:
    name: str
    tamper: Callable[[Connection], None]
    height: int | None
    reason: str
    content_changed: bool = False  # the victim's record (what a client re-hashes) changed
    running_reason: str = ""  # what a replica that signed the old tree reports, when it differs


CASES = [
    Case("record byte", _flip_record_byte, 1, "TX_HASH_MISMATCH", True),
    Case("record and tx hash", _rewrite_record_and_hash, 1, "TX_PREV_MISMATCH", True, "TREE_MISMATCH"),
    Case("tx hash", _set_tx("tx_hash", b"\x01" * 32), 1, "TX_HASH_MISMATCH"),
    Case("prev hash", _set_tx("prev_tx_hash", b"\x02" * 32), 1, "TX_PREV_MISMATCH"),
    Case("appended at", _set_tx("appended_at_ms", 1), 1, "TX_HASH_MISMATCH"),
    Case("household column", _set_tx("household_id", "hh-9"), 1, "TX_COLUMN_MISMATCH"),
    Case("hour column", _set_tx("hour_ms", 0), 1, "TX_COLUMN_MISMATCH"),
    Case("kind column", _set_tx("kind", 1), 1, "TX_COLUMN_MISMATCH"),
    Case(
        "delete tx",
        lambda c: c.execute(delete(TX).where(TX.c.leaf_index == VICTIM)) and None,
        1,
        "TX_MISSING",
    ),
    Case("reorder txs", _swap_rows(TX, "leaf_index", VICTIM, VICTIM + 1), 1, "TX_PREV_MISMATCH", True),
    Case("block root", _set_block("merkle_root", b"\x03" * 32), 1, "BLOCK_HASH_MISMATCH"),
    Case("block time", _set_block("sealed_at_ms", 7), 1, "BLOCK_HASH_MISMATCH"),
    Case("block count", _set_block("tx_count", 3), 1, "BLOCK_HASH_MISMATCH"),
    Case("block first tx", _set_block("first_tx_index", 5), 1, "BLOCK_HASH_MISMATCH"),
    Case("block hash", _set_block("block_hash", b"\x04" * 32), 1, "BLOCK_HASH_MISMATCH"),
    Case("block rehashed", _rehash_block_1_after_edit, 2, "PREV_BLOCK_MISMATCH"),
    Case(
        "delete block",
        lambda c: c.execute(delete(BLOCKS).where(BLOCKS.c.height == 1)) and None,
        1,
        "BLOCK_MISSING",
    ),
    Case("swap blocks", _swap_rows(BLOCKS, "height", 1, 2), 1, "BLOCK_HASH_MISMATCH"),
    Case("head row", lambda c: c.execute(update(HEAD).values(tx_count=99)) and None, None, "HEAD_MISMATCH"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_tampering_is_detected(make_ledger: Callable[..., Ledger], case: Case) -> None:
    ledger = make_ledger(block_max_txs=4)
    ledger.append([settlement(f"hh-{i % 2 + 1}", hour=i // 2) for i in range(14)])  # blocks 0-2 + 2 pending
    assert ledger.verify_chain().ok
    trusted = ledger.signed_head()  # a client saved this head before the tampering
    with ledger.engine.begin() as conn:
        case.tamper(conn)

    restarted = make_ledger(block_max_txs=4)  # rebuilds its tree from the tampered tables
    for replica, reason in ((ledger, case.running_reason or case.reason), (restarted, case.reason)):
        report = replica.verify_chain()
        assert not report.ok
        assert (report.first_bad_height, report.reason) == (case.height, reason), report.detail

    if not case.content_changed:
        return
    # A client re-hashes the record it is shown and proves it against the head it trusts.
    shown = restarted.transactions_range(VICTIM, 1)[0]
    recomputed = tx_hash(shown.record_bytes, shown.appended_at_ms, shown.prev_tx_hash)
    _leaf, path = restarted.inclusion_proof(VICTIM, trusted.head.tree_size)
    with pytest.raises(ProofError):
        verify_inclusion(VICTIM, trusted.head.tree_size, leaf_hash(recomputed), path, trusted.head.root_hash)
    # ... and so does invoice verification against that head. With proofs from the replica that
    # signed it only the tampered lines fail; a restarted replica's tree no longer matches the head
    # where the forged hash sits, so its proofs fail for that whole subtree (still flagged).
    household = shown.record.household_id or ""
    tampered = {VICTIM, VICTIM + 1} if case.name == "reorder txs" else {VICTIM}
    for replica in (ledger, restarted):
        lines = replica.household_settlements(household, 0, 2**62)
        size, root = trusted.head.tree_size, trusted.head.root_hash
        verdicts = {
            t.leaf_index: verify_line(t, size, root, replica.inclusion_proof(t.leaf_index, size)[1])
            for t in lines
        }
        bad = {i for i, v in verdicts.items() if not (v.hash_valid and v.inclusion_valid)}
        assert VICTIM in bad
        if replica is ledger:
            assert bad == tampered & set(verdicts)


def _rewrite_history_from_victim(conn: Connection) -> None:
    """The strongest insider without the key: change leaf 5, then recompute every later tx hash,
    every later block and the head row so that all links and roots are consistent again."""
    rows = conn.execute(select(TX).where(TX.c.leaf_index >= VICTIM).order_by(TX.c.leaf_index)).all()
    prev = rows[0].prev_tx_hash
    new_hashes = {}
    for row in rows:
        record = row.record
        if row.leaf_index == VICTIM:
            record = record[:61] + bytes([record[61] ^ 1]) + record[62:]  # metered_wh changes
        h = tx_hash(record, row.appended_at_ms, prev)
        conn.execute(
            update(TX)
            .where(TX.c.leaf_index == row.leaf_index)
            .values(record=record, tx_hash=h, prev_tx_hash=prev)
        )
        new_hashes[row.leaf_index], prev = h, h
    blocks = conn.execute(select(BLOCKS).order_by(BLOCKS.c.height)).all()
    prev_block = bytes(32)
    for b in blocks:
        if b.first_tx_index + b.tx_count > VICTIM:
            hashes = [
                new_hashes.get(i)
                or conn.execute(select(TX.c.tx_hash).where(TX.c.leaf_index == i)).scalar_one()
                for i in range(b.first_tx_index, b.first_tx_index + b.tx_count)
            ]
            header = BlockHeader(
                b.height,
                prev_block,
                root_of([leaf_hash(h) for h in hashes]),
                b.first_tx_index,
                b.tx_count,
                b.sealed_at_ms,
            )
            conn.execute(
                update(BLOCKS)
                .where(BLOCKS.c.height == b.height)
                .values(
                    prev_block_hash=prev_block, merkle_root=header.merkle_root, block_hash=block_hash(header)
                )
            )
            prev_block = block_hash(header)
        else:
            prev_block = b.block_hash
    conn.execute(update(HEAD).values(last_tx_hash=prev, last_block_hash=prev_block))


def test_consistent_rewrite_is_caught_by_signed_checkpoints(make_ledger: Callable[..., Ledger]) -> None:
    ledger = make_ledger(block_max_txs=4)
    for start, count in ((0, 4), (4, 4), (8, 4), (12, 2)):  # checkpoints signed at sizes 4, 8 and 12
        ledger.append([settlement(f"hh-{i % 2 + 1}", hour=i // 2) for i in range(start, start + count)])
    with ledger.engine.begin() as conn:
        _rewrite_history_from_victim(conn)

    assert ledger.verify_chain().reason == "TREE_MISMATCH"  # the replica that signed still remembers
    restarted = make_ledger(block_max_txs=4)  # rebuilt from the rewritten tables: every link checks out...
    report = restarted.verify_chain()
    assert (report.ok, report.reason, report.first_bad_height) == (False, "CHECKPOINT_MISMATCH", 1)
    assert report.bad_leaf_index == 4  # ...but leaves 4..7 no longer match what was signed at size 8
    assert report.txs_checked == 14  # every other check passed: only the signatures reveal it


def test_truncation_is_caught_by_signed_checkpoints(make_ledger: Callable[..., Ledger]) -> None:
    ledger = make_ledger(block_max_txs=4)
    for start in (0, 4, 8):
        ledger.append([settlement(hour=h) for h in range(start, start + 4)])
    with ledger.engine.begin() as conn:  # drop the last block and its transactions, fix the head row
        conn.execute(delete(TX).where(TX.c.leaf_index >= 8))
        conn.execute(delete(BLOCKS).where(BLOCKS.c.height == 2))
        last = conn.execute(select(BLOCKS.c.block_hash).where(BLOCKS.c.height == 1)).scalar_one()
        tip = conn.execute(select(TX.c.tx_hash).where(TX.c.leaf_index == 7)).scalar_one()
        conn.execute(
            update(HEAD).values(
                tx_count=8, sealed_tx_count=8, block_count=2, last_block_hash=last, last_tx_hash=tip
            )
        )
    report = make_ledger(block_max_txs=4).verify_chain()
    assert (report.ok, report.reason) == (False, "CHECKPOINT_BEYOND_LOG")
