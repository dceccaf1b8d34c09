"""This replica's copy of the Merkle tree over the committed transaction hashes, and its proofs.

The tree is a cache of the database: each replica catches up (``sync``) with what any replica
committed before it answers anything tree-shaped, and extends it in place after its own appends.
Thread-safe: the ledger's work runs on worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import Engine

from common.errors import InvalidArgument
from common.log import get_logger
from ledger_svc.merkle import MerkleTree, ProofError, leaf_hash
from ledger_svc.store import TXS

__all__ = ["LedgerTree"]

log = get_logger(__name__)


class LedgerTree:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._tree = MerkleTree()
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Leaves held now (lock-free: a stale value is at worst one sync behind)."""
        return self._tree.size

    def reset(self) -> None:
        """Forget every leaf: the next :meth:`sync` rebuilds the tree from the database."""
        with self._lock:
            self._tree = MerkleTree()

    def snapshot(self) -> MerkleTree:
        """The tree object as it stands (appends after this call may still grow it)."""
        with self._lock:
            return self._tree

    def sync(self) -> int:
        """Catch up with transactions other replicas committed; returns the size."""
        with self._lock:
            size = self._tree.size
            with self._engine.connect() as conn:
                result = conn.execute(
                    select(TXS.c.leaf_index, TXS.c.tx_hash)
                    .where(TXS.c.leaf_index >= size)
                    .order_by(TXS.c.leaf_index)
                )
                batch: list[bytes] = []
                for index, h in result:
                    if index != size + len(batch):
                        log.error("ledger_leaf_gap", expected=size + len(batch), found=index)
                        break
                    batch.append(leaf_hash(h))
            self._tree.append_leaf_hashes(batch)
            return self._tree.size

    def extend(self, first: int, tx_hashes: Sequence[bytes]) -> None:
        """Add this replica's just-committed transactions ``first..``; syncs if others came between."""
        with self._lock:
            if self._tree.size == first:
                self._tree.append_leaf_hashes(leaf_hash(h) for h in tx_hashes)
                return
        self.sync()

    def head(self) -> tuple[int, bytes]:
        """(size, root) after catching up: what a fresh signed head commits to."""
        self.sync()
        with self._lock:
            size = self._tree.size
            return size, self._tree.root(size)

    def root_at(self, size: int) -> bytes:
        with self._lock:
            try:
                return self._tree.root(size)
            except ProofError as exc:
                raise InvalidArgument("BAD_PROOF_RANGE", str(exc)) from exc

    def inclusion_proof(self, leaf_index: int, tree_size: int) -> tuple[bytes, list[bytes]]:
        """(leaf hash, audit path) of leaf ``leaf_index`` in the tree of ``tree_size`` leaves."""
        if tree_size > self._tree.size:  # only a head newer than ours needs a database round trip
            self.sync()
        with self._lock:
            try:
                path = self._tree.inclusion_proof(leaf_index, tree_size)
                return self._tree.leaf(leaf_index), path
            except ProofError as exc:
                raise InvalidArgument("BAD_PROOF_RANGE", str(exc)) from exc

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        if size2 > self._tree.size:
            self.sync()
        with self._lock:
            try:
                return self._tree.consistency_proof(size1, size2)
            except ProofError as exc:
                raise InvalidArgument("BAD_PROOF_RANGE", str(exc)) from exc
