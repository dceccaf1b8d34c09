"""The ledger one replica serves: the append path, its copy of the Merkle tree, the reads, and
signed heads and whole-chain checks that need all of them.

Each part lives in its own module (writes.py, tree.py, reads.py); this class wires them over one
engine, signer and clock and is what the servicer, the server and the benchmarks hold. The reuse
of recent answers (signed heads, newest blocks) is freshness.py's, on the event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Engine

from common.log import get_logger
from ledger_svc.canonical import Record
from ledger_svc.reads import Block, Reads, StoredTx
from ledger_svc.signing import SignedTreeHead, Signer
from ledger_svc.tree import LedgerTree
from ledger_svc.verify import ChainReport, check_checkpoints, verify_chain
from ledger_svc.writes import AppendResult, Writer

__all__ = ["Ledger", "now_ms"]

log = get_logger(__name__)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Ledger:
    def __init__(
        self,
        engine: Engine,
        signer: Signer,
        block_max_txs: int = 1000,
        block_max_ms: int = 1000,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.engine = engine
        self.signer = signer
        self.clock = clock
        self.tree = LedgerTree(engine)
        self.writes = Writer(engine, signer, self.tree, block_max_txs, block_max_ms, clock)
        self.reads = Reads(engine)

    # ---------------------------------------------------------------- writes
    def append(self, records: Sequence[Record], request_id: str = "") -> AppendResult:
        """Append ``records`` in order, atomically; a repeated ``request_id`` returns the first receipts."""
        return self.writes.append(records, request_id)

    def seal_due(self) -> int:
        """Seal every pending transaction if the oldest waited ``block_max_ms``; blocks sealed."""
        return self.writes.seal_due()

    @property
    def local_writes(self) -> int:
        """Appends and seals this replica made (see Writer.local_writes)."""
        return self.writes.local_writes

    # ---------------------------------------------------------------- tree
    def load(self) -> None:
        """Rebuild the in-memory tree from the stored transaction hashes (start-up)."""
        self.tree.reset()
        self.tree.sync()
        log.info("ledger_tree_loaded", tree_size=self.tree.size)
        report = self.verify_checkpoints()
        if not report.ok:  # keep serving (reads, proofs of intact parts), but say it loudly
            log.error("ledger_checkpoint_mismatch", reason=report.reason, detail=report.detail)

    def tree_size(self) -> int:
        """The tree's size after catching up with every replica's commits."""
        return self.tree.sync()

    def signed_head(self) -> SignedTreeHead:
        """A freshly signed head over every transaction committed so far (by any replica)."""
        size, root = self.tree.head()
        return self.signer.sign(size, root, self.clock())

    def inclusion_proof(self, leaf_index: int, tree_size: int) -> tuple[bytes, list[bytes]]:
        return self.tree.inclusion_proof(leaf_index, tree_size)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        return self.tree.consistency_proof(size1, size2)

    # ---------------------------------------------------------------- reads
    def get_block(self, height: int) -> tuple[Block, list[bytes]]:
        return self.reads.get_block(height)

    def blocks_page(self, start_height: int | None, limit: int) -> list[Block]:
        return self.reads.blocks_page(start_height, limit)

    def cached_blocks(self, start_height: int, limit: int) -> list[Block] | None:
        return self.reads.cached_blocks(start_height, limit)

    def block_count(self) -> int:
        return self.reads.block_count()

    def get_transaction(self, leaf_index: int | None = None, tx_hash: bytes | None = None) -> StoredTx:
        return self.reads.get_transaction(leaf_index, tx_hash)

    def transactions_range(self, first: int, count: int) -> list[StoredTx]:
        return self.reads.transactions_range(first, count)

    def household_settlements(self, household_id: str, start_ms: int, end_ms: int) -> list[StoredTx]:
        return self.reads.household_settlements(household_id, start_ms, end_ms)

    def household_corrections(self, household_id: str, start_ms: int, end_ms: int) -> list[StoredTx]:
        return self.reads.household_corrections(household_id, start_ms, end_ms)

    def household_unbilled(self, household_id: str, start_ms: int, end_ms: int) -> list[StoredTx]:
        return self.reads.household_unbilled(household_id, start_ms, end_ms)

    def household_meter_keys(self, household_id: str) -> list[StoredTx]:
        return self.reads.household_meter_keys(household_id)

    # ---------------------------------------------------------------- checks
    def verify_checkpoints(self) -> ChainReport:
        """Check the stored signed checkpoints against the tree rebuilt from the stored hashes."""
        with self.engine.connect() as conn:
            return check_checkpoints(conn, self.tree.snapshot(), self.signer.public_key)

    def verify_chain(self, from_height: int = 0, to_height: int | None = None) -> ChainReport:
        self.tree.sync()
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # One snapshot for the whole walk; verify.py shares it with its second connection,
                # so blocks sealed meanwhile can't make a sound chain look broken.
                conn.execution_options(isolation_level="REPEATABLE READ")
            return verify_chain(conn, from_height, to_height, self.tree.snapshot(), self.signer.public_key)
