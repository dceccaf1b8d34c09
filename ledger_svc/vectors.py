"""Worked test vectors for docs/ledger-spec.md and docs/ledger-test-vectors.json.

``python -m ledger_svc.vectors > docs/ledger-test-vectors.json`` regenerates the file; the tests
check the file is current and an independent re-implementation (the verifier) reproduces it.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

from ledger_svc.canonical import ZERO_HASH, Prediction, Record, Settlement, encode_record, tx_hash
from ledger_svc.chain import encode_block_header, seal_block
from ledger_svc.merkle import MerkleTree, leaf_hash
from ledger_svc.signing import Signer, encode_tree_head

__all__ = ["build_vectors"]

# A published test key: never use it for a real log.
TEST_SEED = bytes(range(32))
HOUR = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _records() -> list[Record]:
    return [
        Settlement(
            bytes([0x11]) * 32, "hh-0001", HOUR, 1250, 85_000, 106_250, 50_000, 12_000, 3_000, 42_812, 214_062
        ),
        Prediction(
            bytes([0x22]) * 32,
            "hh-0001",
            "NO1",
            HOUR + 3_600_000,
            -5_000,
            85_000,
            120_000,
            900,
            76_500,
            "lgbm-2026.01",
            HOUR - 1_800_000,
        ),
        Prediction(
            bytes([0x33]) * 32,
            "",
            "NO1",
            HOUR + 3_600_000,
            60_000,
            85_000,
            120_000,
            0,
            0,
            "lgbm-2026.01",
            HOUR - 1_800_000,
        ),
        Settlement(
            bytes(range(32, 64)), "hh-ø-2", HOUR, -300, -12_000, 3_600, 0, 12_000, 3_000, 4_650, 23_250
        ),
    ]


def _fields(r: Record) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "PREDICTION" if isinstance(r, Prediction) else "SETTLEMENT"}
    for name in r.__dataclass_fields__:
        value = getattr(r, name)
        key = "household_id" if name == "household" else name  # same name as the spec for both kinds
        out[key] = value.hex() if isinstance(value, bytes) else value
    return out


def build_vectors() -> dict[str, Any]:
    signer = Signer.from_seed(TEST_SEED)
    prev, txs, hashes = ZERO_HASH, [], []
    for i, record in enumerate(_records()):
        body = encode_record(record)
        appended = HOUR + 7_200_000 + i
        h = tx_hash(body, appended, prev)
        txs.append(
            {
                "leaf_index": i,
                "record": _fields(record),
                "canonical_hex": body.hex(),
                "appended_at_ms": appended,
                "prev_tx_hash": prev.hex(),
                "tx_hash": h.hex(),
                "leaf_hash": leaf_hash(h).hex(),
            }
        )
        hashes.append(h)
        prev = h
    blocks, prev_block = [], ZERO_HASH
    for height, (first, count) in enumerate([(0, 3), (3, 1)]):
        header, bh = seal_block(
            height, prev_block, first, hashes[first : first + count], HOUR + 7_300_000 + height
        )
        blocks.append(
            {
                "height": height,
                "prev_block_hash": prev_block.hex(),
                "merkle_root": header.merkle_root.hex(),
                "first_tx_index": first,
                "tx_count": count,
                "sealed_at_ms": header.sealed_at_ms,
                "header_hex": encode_block_header(header).hex(),
                "block_hash": bh.hex(),
            }
        )
        prev_block = bh
    tree = MerkleTree()
    tree.append_leaf_hashes(leaf_hash(h) for h in hashes)
    heads = []
    for size in (3, 4):
        sth = signer.sign(size, tree.root(size), HOUR + 7_400_000 + size)
        heads.append(
            {
                "tree_size": size,
                "root_hash": sth.head.root_hash.hex(),
                "timestamp_ms": sth.head.timestamp_ms,
                "tree_head_hex": encode_tree_head(sth.head).hex(),
                "signature_b64": base64.b64encode(sth.signature).decode(),
            }
        )
    return {
        "description": "EnergyPulse ledger test vectors (docs/ledger-spec.md). All hashes SHA-256, hex.",
        "signing_key": {
            "warning": "published test key, never use it for a real log",
            "ed25519_seed_hex": TEST_SEED.hex(),
            "public_key_b64": base64.b64encode(signer.public_key).decode(),
            "key_id_hex": signer.log_id.hex(),
        },
        "transactions": txs,
        "blocks": blocks,
        "signed_heads": heads,
        "inclusion_proofs": [
            {"leaf_index": i, "tree_size": 4, "audit_path": [p.hex() for p in tree.inclusion_proof(i, 4)]}
            for i in range(4)
        ],
        "consistency_proofs": [
            {"first_size": 3, "second_size": 4, "proof": [p.hex() for p in tree.consistency_proof(3, 4)]}
        ],
    }


if __name__ == "__main__":
    json.dump(build_vectors(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
