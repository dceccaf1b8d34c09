"""The ledger of one replica on SQLite and PostgreSQL: signed heads and proofs over its parts, and
whole-chain verification while blocks are sealed."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from common.errors import InvalidArgument
from ledger_svc.ledger import Ledger
from ledger_svc.merkle import leaf_hash, verify_consistency, verify_inclusion
from ledger_svc.signing import verify_signed_head
from tests.ledger_svc.ledger_records import Clock, prediction, settlement


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
