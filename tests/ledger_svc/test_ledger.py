"""Ledger behaviour on SQLite and PostgreSQL: appends, sealing, idempotency, heads, proofs, replicas."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import pytest

from common.errors import InvalidArgument, NotFound
from ledger_svc.canonical import ZERO_HASH, encode_record, tx_hash
from ledger_svc.ledger import Ledger
from ledger_svc.merkle import leaf_hash, verify_consistency, verify_inclusion
from ledger_svc.signing import verify_signed_head
from tests.ledger_svc.ledger_records import Clock, prediction, settlement


def test_append_chains_hashes_and_seals_full_blocks(ledger: Ledger, clock: Clock) -> None:
    result = ledger.append([settlement(hour=h) for h in range(10)])  # block size 4
    assert not result.replayed
    receipts = result.receipts
    assert [r.leaf_index for r in receipts] == list(range(10))
    assert [r.block_height for r in receipts] == [0] * 4 + [1] * 4 + [None] * 2
    assert [r.index_in_block for r in receipts[:5]] == [0, 1, 2, 3, 0]
    prev = ZERO_HASH
    for r in receipts:
        tx = ledger.get_transaction(r.leaf_index)
        assert tx.prev_tx_hash == prev
        assert tx_hash(encode_record(tx.record), clock.now, prev) == r.tx_hash == tx.tx_hash
        assert tx.record.salt == r.salt and len(r.salt) == 32
        prev = r.tx_hash
    block, hashes = ledger.get_block(1)
    assert (block.first_tx_index, block.tx_count) == (4, 4)
    assert hashes == [r.tx_hash for r in receipts[4:8]]
    assert ledger.verify_chain().ok


def test_pending_transactions_are_sealed_after_block_max_ms(
    make_ledger: Callable[..., Ledger], clock: Clock
) -> None:
    ledger = make_ledger(block_max_txs=100, block_max_ms=500)
    ledger.append([settlement(hour=h) for h in range(3)])
    assert ledger.seal_due() == 0  # not old enough
    clock.advance(499)
    assert ledger.seal_due() == 0
    clock.advance(1)
    assert ledger.seal_due() == 1
    block, _ = ledger.get_block(0)
    assert block.tx_count == 3 and block.sealed_at_ms == clock.now
    assert ledger.get_transaction(2).block_height == 0
    assert ledger.seal_due() == 0  # nothing pending
    clock.advance(10_000)
    receipts = ledger.append([settlement(hour=5)]).receipts  # the first append after a quiet spell
    assert receipts[0].block_height is None
    report = ledger.verify_chain()
    assert report.ok and report.blocks_checked == 1 and report.txs_checked == 4


def test_retried_request_id_returns_the_original_receipts(ledger: Ledger) -> None:
    batch = [settlement(hour=h) for h in range(3)]
    first = ledger.append(batch, request_id="req-1")
    again = ledger.append(batch, request_id="req-1")
    assert again.replayed and not first.replayed
    assert again.receipts == first.receipts  # same hashes, salts and positions
    assert ledger.tree_size() == 3
    with pytest.raises(InvalidArgument) as err:
        ledger.append([settlement(hour=9)], request_id="req-1")
    assert err.value.reason == "REQUEST_ID_REUSED"
    assert ledger.append(batch, request_id="req-2").receipts[0].leaf_index == 3


def test_bad_appends_are_refused_before_anything_is_written(ledger: Ledger) -> None:
    with pytest.raises(InvalidArgument) as err:
        ledger.append([])
    assert err.value.reason == "EMPTY_APPEND"
    misaligned_hour = dataclasses.replace(settlement(), hour_ms=settlement().hour_ms + 1)
    with pytest.raises(InvalidArgument) as err:
        ledger.append([settlement(hour=1), misaligned_hour])
    assert err.value.reason == "HOUR_NOT_ALIGNED"
    assert ledger.tree_size() == 0
    with pytest.raises(NotFound):
        ledger.get_transaction(0)


def test_signed_heads_and_proofs_verify_without_the_server(ledger: Ledger) -> None:
    receipts = ledger.append([settlement(hour=h) for h in range(5)] + [prediction(hour=1)]).receipts
    old = ledger.signed_head()
    receipts += ledger.append([settlement("hh-2", hour=h) for h in range(7)]).receipts
    new = ledger.signed_head()
    for sth in (old, new):
        assert verify_signed_head(sth, ledger.signer.public_key)
    assert not verify_signed_head(new, bytes(32))
    for r in receipts:
        for sth in (old, new):
            if r.leaf_index < sth.head.tree_size:
                leaf, path = ledger.inclusion_proof(r.leaf_index, sth.head.tree_size)
                assert leaf == leaf_hash(r.tx_hash)
                verify_inclusion(
                    r.leaf_index, sth.head.tree_size, leaf_hash(r.tx_hash), path, sth.head.root_hash
                )
    proof = ledger.consistency_proof(old.head.tree_size, new.head.tree_size)
    verify_consistency(old.head.tree_size, new.head.tree_size, old.head.root_hash, new.head.root_hash, proof)
    with pytest.raises(InvalidArgument) as err:
        ledger.inclusion_proof(20, 13)
    assert err.value.reason == "BAD_PROOF_RANGE"


def test_invoice_query_returns_one_households_settlements(ledger: Ledger) -> None:
    ledger.append(
        [settlement("hh-1", hour=h) for h in range(3)] + [settlement("hh-2", hour=0), prediction("hh-1")]
    )
    lines = ledger.household_settlements("hh-1", 0, 2**62)
    assert [t.leaf_index for t in lines] == [0, 1, 2]
    assert all(t.record.household_id == "hh-1" for t in lines)
    assert (
        ledger.household_settlements("hh-1", lines[1].record.hour_ms, lines[2].record.hour_ms)[0].leaf_index
        == 1
    )


def test_replicas_append_concurrently_into_one_chain(make_ledger: Callable[..., Ledger]) -> None:
    replicas = [make_ledger(block_max_txs=7), make_ledger(block_max_txs=7), make_ledger(block_max_txs=7)]
    errors: list[BaseException] = []

    def work(ledger: Ledger, n: int) -> None:
        try:
            for i in range(8):
                ledger.append(
                    [settlement(f"hh-{n}", hour=i * 3 + k) for k in range(3)], request_id=f"{n}-{i}"
                )
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r, n)) for n, r in enumerate(replicas)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    heads = [r.signed_head() for r in replicas]
    assert {h.head.tree_size for h in heads} == {72}
    assert len({h.head.root_hash for h in heads}) == 1  # every replica caught up to the same tree
    report = replicas[0].verify_chain()
    assert report.ok and report.txs_checked == 72 and report.blocks_checked == 10


def test_recent_head_is_reused_only_while_young_and_unchanged(
    make_ledger: Callable[..., Ledger], clock: Clock
) -> None:
    ledger, sibling = make_ledger(), make_ledger()
    assert ledger.recent_head(250) is None  # nothing signed yet
    ledger.append([settlement(hour=h) for h in range(3)])
    head = ledger.signed_head()
    assert ledger.recent_head(250) is head
    assert ledger.recent_head(0) is None  # 0 disables reuse
    clock.advance(251)
    assert ledger.recent_head(250) is None  # too old: sign again
    head = ledger.signed_head()
    ledger.append([settlement("hh-2", hour=0)])
    assert ledger.recent_head(250) is None  # our tree grew: the head must show it
    assert ledger.signed_head().head.tree_size == 4
    # Another replica's append shows once the reused head ages out (at most max_age_ms later).
    sibling.append([settlement("hh-3", hour=0)])
    assert ledger.recent_head(250) is not None
    clock.advance(251)
    assert ledger.recent_head(250) is None
    assert ledger.signed_head().head.tree_size == 5


def test_newest_blocks_are_reused_only_while_young_and_older_pages_always(
    make_ledger: Callable[..., Ledger], clock: Clock
) -> None:
    ledger, sibling = make_ledger(), make_ledger()  # block size 4
    assert ledger.recent_blocks_page(None, 5, 250) is None  # nothing read yet
    assert ledger.blocks_page(None, 5) == []
    assert ledger.recent_blocks_page(None, 5, 250) == []  # an empty ledger, remembered
    ledger.append([settlement(hour=h) for h in range(12)])  # blocks 0..2
    assert ledger.recent_blocks_page(None, 5, 250) is None  # we sealed: must list them at once
    page = ledger.blocks_page(None, 2)
    assert [b.height for b in page] == [2, 1]
    assert ledger.recent_blocks_page(None, 2, 250) == page
    assert ledger.recent_blocks_page(None, 2, 0) is None  # 0 disables reuse of the newest page
    assert ledger.recent_blocks_page(0, 2, 250) is None  # block 0 was never read
    assert [b.height for b in ledger.blocks_page(0, 2)] == [0]
    # Sealed blocks never change: an older page is served from memory, whatever its age.
    clock.advance(10_000)
    older = ledger.recent_blocks_page(1, 2, 250)
    assert older is not None and [b.height for b in older] == [1, 0]
    assert older[0] == ledger.get_block(1)[0]
    assert ledger.recent_blocks_page(None, 2, 250) is None  # the newest page aged out
    assert [b.height for b in ledger.blocks_page(None, 2)] == [2, 1]
    # Another replica's block shows once the remembered newest page ages out.
    sibling.append([settlement("hh-2", hour=h) for h in range(4)])
    assert [b.height for b in ledger.recent_blocks_page(None, 2, 250) or []] == [2, 1]
    clock.advance(251)
    assert ledger.recent_blocks_page(None, 2, 250) is None
    assert [b.height for b in ledger.blocks_page(None, 2)] == [3, 2]


def test_verification_while_blocks_are_sealed_sees_one_consistent_chain(
    make_ledger: Callable[..., Ledger], clock: Clock
) -> None:
    """VerifyChain reads blocks and txs through two cursors (two connections on PostgreSQL): both
    must read one snapshot, or a block sealed between their statements looks like HEAD_MISMATCH."""
    ledger = make_ledger(block_max_txs=1000, block_max_ms=100)
    false_alarms: list[object] = []
    for n in range(40):
        ledger.append([settlement(f"hh-{n}", hour=k) for k in range(3)], request_id=f"r-{n}")
        clock.advance(200)  # the pending txs are due; seal them while verifications run
        sealer = threading.Timer(0.01 * (n % 5), ledger.seal_due)
        sealer.start()
        while sealer.is_alive():
            report = ledger.verify_chain()
            if not report.ok:
                false_alarms.append(report)
        sealer.join()
    assert false_alarms == []
    final = ledger.verify_chain()
    assert final.ok and final.txs_checked == 120
