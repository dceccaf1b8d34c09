"""Blocks: header encoding, block hash, and sealing a batch of transactions (spec §5)."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from ledger_svc.merkle import leaf_hash, root_of

__all__ = [
    "BLOCK_MAGIC",
    "BlockHeader",
    "block_hash",
    "block_merkle_root",
    "encode_block_header",
    "seal_block",
]

BLOCK_MAGIC = b"EPBK"
_HEADER = struct.Struct(">4sBQ32s32sQIq")


@dataclass(frozen=True, slots=True)
class BlockHeader:
    height: int
    prev_block_hash: bytes
    merkle_root: bytes
    first_tx_index: int
    tx_count: int
    sealed_at_ms: int


def encode_block_header(h: BlockHeader) -> bytes:
    """ "EPBK" || 0x01 || u64 height || prev[32] || root[32] || u64 first_tx_index || u32 count || i64 ms."""
    return _HEADER.pack(
        BLOCK_MAGIC,
        1,
        h.height,
        h.prev_block_hash,
        h.merkle_root,
        h.first_tx_index,
        h.tx_count,
        h.sealed_at_ms,
    )


def block_hash(h: BlockHeader) -> bytes:
    return hashlib.sha256(encode_block_header(h)).digest()


def block_merkle_root(tx_hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 MTH over the block's transactions, each leaf input being a transaction hash."""
    return root_of([leaf_hash(t) for t in tx_hashes])


def seal_block(
    height: int, prev_block_hash: bytes, first_tx_index: int, tx_hashes: Sequence[bytes], sealed_at_ms: int
) -> tuple[BlockHeader, bytes]:
    if not tx_hashes:
        raise ValueError("a block seals at least one transaction")
    header = BlockHeader(
        height, prev_block_hash, block_merkle_root(tx_hashes), first_tx_index, len(tx_hashes), sealed_at_ms
    )
    return header, block_hash(header)
