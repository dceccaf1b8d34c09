"""Reads on SQLite and PostgreSQL: a household's settlements, blocks, and sealed pages from memory."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from common.errors import NotFound
from ledger_svc.ledger import Ledger
from tests.ledger_svc.ledger_records import Clock, prediction, settlement


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


def test_settlements_are_found_by_kind_not_by_a_households_predictions(ledger: Ledger) -> None:
    ledger.append([prediction("hh-1", hour=h) for h in range(3)] + [settlement("hh-1", hour=1)])
    assert [t.leaf_index for t in ledger.household_settlements("hh-1", 0, 2**62)] == [3]


def test_sealed_pages_once_read_are_served_from_memory_whatever_their_age(
    make_ledger: Callable[..., Ledger], clock: Clock
) -> None:
    ledger = make_ledger()  # block size 4
    assert ledger.blocks_page(None, 5) == []
    ledger.append([settlement(hour=h) for h in range(12)])  # blocks 0..2
    assert ledger.cached_blocks(2, 2) is None  # never read
    page = ledger.blocks_page(None, 2)
    assert [b.height for b in page] == [2, 1]
    assert ledger.cached_blocks(2, 2) == page
    assert ledger.cached_blocks(0, 2) is None  # block 0 was never read
    assert [b.height for b in ledger.blocks_page(0, 2)] == [0]
    clock.advance(10_000)  # sealed blocks never change: age does not matter
    older = ledger.cached_blocks(1, 2)
    assert older is not None and [b.height for b in older] == [1, 0]
    assert older[0] == ledger.get_block(1)[0]
    with pytest.raises(NotFound):
        ledger.get_block(3)
