"""RFC 9162 (Certificate Transparency v2) Merkle tree: hashing, proofs and proof verification.

``MerkleTree`` keeps, per level, the hashes of every *complete* subtree in one contiguous
``bytearray`` (level 0 = leaf hashes). Appending a leaf touches O(1) amortised nodes, and a
proof reads O(log n) stored nodes plus at most one right-edge subtree of O(log n) hashes, so
proofs never rehash the tree. The arrays cost 64 bytes per leaf (~64 MB for a million leaves)
and are rebuilt from the stored transaction hashes at start-up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from common.merkle_proofs import (
    HASH_LEN,
    ProofError,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "MerkleTree",
    "ProofError",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already leaf-hashed entries, without building a tree object."""
    if not leaf_hashes:
        return EMPTY_ROOT
    # Fold the RFC's left-balanced recursion bottom-up: pair neighbours level by level, and let a
    # lone right-most node rise unchanged -- that yields exactly MTH's shape.
    level = list(leaf_hashes)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


class MerkleTree:
    """An append-only RFC 9162 tree over leaf hashes with historical roots and proofs."""

    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self.size = 0

    def append_leaf_hashes(self, hashes: Iterable[bytes]) -> None:
        new = list(hashes)
        if any(len(h) != HASH_LEN for h in new):
            raise ValueError("leaf hash must be 32 bytes")  # before anything is appended
        levels = self._levels
        levels[0] += b"".join(new)
        self.size += len(new)
        # Level by level, hash the pairs completed by this batch; a level that gains no node
        # leaves every level above it unchanged.
        level = 0
        while True:
            row = levels[level]
            complete = len(row) // (2 * HASH_LEN)  # parents this level's nodes make
            if level + 1 == len(levels):
                if complete == 0:
                    return
                levels.append(bytearray())
            above = levels[level + 1]
            have = len(above) // HASH_LEN
            if have == complete:
                return
            above += b"".join(
                [
                    _sha256(b"\x01" + row[off : off + 2 * HASH_LEN]).digest()
                    for off in range(2 * HASH_LEN * have, 2 * HASH_LEN * complete, 2 * HASH_LEN)
                ]
            )
            level += 1

    def append_data(self, entries: Iterable[bytes]) -> None:
        self.append_leaf_hashes(leaf_hash(e) for e in entries)

    def leaf(self, index: int) -> bytes:
        return self._node(0, index)

    def _node(self, level: int, index: int) -> bytes:
        off = index * HASH_LEN
        return bytes(self._levels[level][off : off + HASH_LEN])

    def _mth(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) where start is aligned to the largest power of two <= end-start,
        which holds for every range the RFC recursion visits."""
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0:  # complete subtree: stored
            level = n.bit_length() - 1
            return self._node(level, start >> level)
        k = _split(n)
        return node_hash(self._mth(start, start + k), self._mth(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        self._check_size(size)
        return self._mth(0, size)

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ProofError(f"tree size {size} is beyond the current size {self.size}")

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf-side first."""
        self._check_size(size)
        if not 0 <= index < size:
            raise ProofError(f"leaf {index} is not in a tree of size {size}")
        proof: list[bytes] = []
        start, end, m = 0, size, index
        while end - start > 1:
            k = _split(end - start)
            if m < k:
                proof.append(self._mth(start + k, end))
                end = start + k
            else:
                proof.append(self._mth(start, start + k))
                start, m = start + k, m - k
        proof.reverse()
        return proof

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """PROOF(size1, D[0:size2]) of RFC 9162 §2.1.4.1."""
        self._check_size(size2)
        if not 0 <= size1 <= size2:
            raise ProofError(f"cannot prove size {size1} is a prefix of size {size2}")
        if size1 == 0 or size1 == size2:
            return []
        proof: list[bytes] = []
        start, end, m, complete = 0, size2, size1, True
        while m != end - start:
            k = _split(end - start)
            if m <= k:
                proof.append(self._mth(start + k, end))
                end = start + k
            else:
                proof.append(self._mth(start, start + k))
                start, m, complete = start + k, m - k, False
        if not complete:
            proof.append(self._mth(start, end))
        proof.reverse()
        return proof
