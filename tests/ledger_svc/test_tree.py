"""LedgerTree on SQLite and PostgreSQL: a replica's tree catches up with every replica's commits
and answers proofs only over leaves it holds."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from common.errors import InvalidArgument
from ledger_svc.ledger import Ledger
from ledger_svc.merkle import leaf_hash, verify_inclusion
from tests.ledger_svc.ledger_records import settlement


def test_a_replica_catches_up_with_another_replicas_commits(make_ledger: Callable[..., Ledger]) -> None:
    ledger, sibling = make_ledger(), make_ledger()
    ledger.append([settlement(hour=h) for h in range(3)])
    receipts = sibling.append([settlement("hh-2", hour=h) for h in range(2)]).receipts
    assert ledger.tree.size == 3  # not synced yet
    # Its own next append finds the tree behind the database and catches up instead of extending.
    ledger.append([settlement("hh-3", hour=0)])
    assert ledger.tree.size == 6
    assert ledger.tree.root_at(6) == sibling.tree.head()[1]
    leaf, path = ledger.tree.inclusion_proof(receipts[1].leaf_index, 6)
    assert leaf == leaf_hash(receipts[1].tx_hash)
    verify_inclusion(receipts[1].leaf_index, 6, leaf, path, ledger.tree.root_at(6))


def test_a_proof_for_a_newer_head_syncs_first(make_ledger: Callable[..., Ledger]) -> None:
    ledger, sibling = make_ledger(), make_ledger()
    sibling.append([settlement(hour=h) for h in range(5)])
    assert ledger.tree.size == 0
    assert len(ledger.tree.consistency_proof(2, 5)) > 0 and ledger.tree.size == 5


def test_reset_and_sync_rebuild_the_same_tree(ledger: Ledger) -> None:
    ledger.append([settlement(hour=h) for h in range(7)])
    size, root = ledger.tree.head()
    ledger.tree.reset()
    assert ledger.tree.size == 0
    assert ledger.tree.head() == (size, root)


def test_sizes_beyond_the_tree_are_refused(ledger: Ledger) -> None:
    ledger.append([settlement(hour=h) for h in range(3)])
    for call in (lambda: ledger.tree.root_at(4), lambda: ledger.tree.consistency_proof(1, 4)):
        with pytest.raises(InvalidArgument) as err:
            call()
        assert err.value.reason == "BAD_PROOF_RANGE"
