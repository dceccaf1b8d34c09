"""The append path on SQLite and PostgreSQL: hash chaining, sealing, idempotency, refusals, replicas."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import pytest

from common.errors import InvalidArgument, NotFound
from ledger_svc.canonical import ZERO_HASH, encode_record, tx_hash
from ledger_svc.ledger import Ledger
from ledger_svc.writes import MAX_REQUEST_ID_LEN
from tests.ledger_svc.ledger_records import Clock, settlement


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


def test_a_request_id_longer_than_its_column_is_refused(ledger: Ledger) -> None:
    ledger.append([settlement()], request_id="r" * MAX_REQUEST_ID_LEN)
    with pytest.raises(InvalidArgument) as err:
        ledger.append([settlement(hour=1)], request_id="r" * (MAX_REQUEST_ID_LEN + 1))
    assert err.value.reason == "REQUEST_ID_TOO_LONG"


def test_local_writes_count_this_replicas_appends_and_seals_only(
    make_ledger: Callable[..., Ledger], clock: Clock
) -> None:
    ledger, sibling = make_ledger(block_max_ms=500), make_ledger(block_max_ms=500)
    ledger.append([settlement(hour=0)])
    ledger.append([settlement(hour=1)], request_id="r-1")
    assert ledger.append([settlement(hour=1)], request_id="r-1").replayed  # wrote nothing new
    sibling.append([settlement("hh-2", hour=0)])
    assert ledger.local_writes == 2 and sibling.local_writes == 1
    assert ledger.seal_due() == 0 and ledger.local_writes == 2  # nothing due: no write
    clock.advance(500)
    assert ledger.seal_due() == 1 and ledger.local_writes == 3
