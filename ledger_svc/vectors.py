"""Worked test vectors for docs/ledger-spec.md and docs/ledger-test-vectors.json.

``python -m ledger_svc.vectors > docs/ledger-test-vectors.json`` regenerates the file; the tests
check the file is current and an independent re-implementation (the verifier) reproduces it.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from contracts.mqtt.boundary import boundary_message, key_id
from ledger_svc.canonical import (
    ZERO_HASH,
    Correction,
    MeterKey,
    MeterPeriod,
    Prediction,
    Record,
    Settlement,
    SettlementV2,
    SignedValue,
    UnbilledPeriod,
    encode_record,
    tx_hash,
)
from ledger_svc.chain import encode_block_header, seal_block
from ledger_svc.merkle import MerkleTree, leaf_hash
from ledger_svc.signing import Signer, encode_tree_head

__all__ = ["build_vectors", "v2_correction", "v2_records", "v2_unbilled"]

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


# A published meter test key (spec §17): never use it for a real meter.
METER_SEED = bytes(range(64, 96))
QUARTER = 900_000


def _meter_key() -> tuple[Ed25519PrivateKey, bytes]:
    private = Ed25519PrivateKey.from_private_bytes(METER_SEED)
    return private, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _signed(meter: str, t: int, imp: int, exp: int, seq: int) -> SignedValue:
    private, _ = _meter_key()
    return SignedValue(t, imp, exp, seq, private.sign(boundary_message(meter, t, imp, exp, seq)))


def v2_records() -> list[Record]:
    """A meter-key record and two chained quarter-hours signed with the test meter key."""
    _, public = _meter_key()
    kid = key_id(public)
    b0, b1, b2 = (
        _signed("m-0001", HOUR + i * QUARTER, 1_000_000 + w, 2_000 + x, 90 + i * 90)
        for i, w, x in ((0, 0, 0), (1, 310, 0), (2, 650, 15))
    )
    first = MeterPeriod("m-0001", kid, b0, b1)
    second = MeterPeriod("m-0001", kid, b1, b2)
    return [
        MeterKey(bytes([0x44]) * 32, "hh-0001", HOUR - 86_400_000, "m-0001", kid, "ed25519", public),
        SettlementV2(
            bytes([0x55]) * 32,
            "hh-0001",
            HOUR,
            QUARTER,
            310,
            85_000,
            53_713,
            "EUR",
            (
                ("spot", 26_350),
                ("grid_energy", 12_400),
                ("capacity", 3_000),
                ("standing_charge", 1_220),
                ("vat", 10_743),
            ),
            (first,),
        ),
        SettlementV2(
            bytes([0x66]) * 32,
            "hh-0001",
            HOUR + QUARTER,
            QUARTER,
            325,
            85_000,
            56_000,
            "EUR",
            (
                ("spot", 27_625),
                ("grid_energy", 13_000),
                ("capacity", 3_000),
                ("standing_charge", 1_220),
                ("vat", 11_155),
            ),
            (second,),
        ),
    ]


def v2_correction() -> Correction:
    """An operator's credit of 0.012 EUR on the first quarter-hour of :func:`v2_records` (§17.6)."""
    return Correction(
        bytes([0x77]) * 32,
        "hh-0001",
        HOUR,
        QUARTER,
        -12_000,
        "EUR",
        "Meter m-0001 replaced: quarter-hour billed at the wrong grid tariff (ticket 4711)",
        "admin.ø",
    )


def v2_unbilled() -> UnbilledPeriod:
    """Two quarter-hours after :func:`v2_records` closed unbilled: the meter's end value at the
    second's end never arrived signed (§17.7)."""
    return UnbilledPeriod(
        bytes([0x55]) * 32,
        "hh-0001",
        HOUR + 2 * QUARTER,
        QUARTER,
        2,
        "m-0001",
        "NOT_SIGNED",
        "no signed value of m-0001 at the period end ø",
    )


def _fields(r: Record) -> dict[str, Any]:
    kinds = {
        Prediction: "PREDICTION",
        Settlement: "SETTLEMENT",
        SettlementV2: "SETTLEMENT",
        MeterKey: "METER_KEY",
        Correction: "CORRECTION",
        UnbilledPeriod: "UNBILLED_PERIOD",
    }
    out: dict[str, Any] = {"kind": kinds[type(r)]}
    if isinstance(r, SettlementV2 | MeterKey | Correction | UnbilledPeriod):
        out["format_version"] = r.version
    for name in r.__dataclass_fields__:
        value = getattr(r, name)
        key = "household_id" if name == "household" else name  # same name as the spec for both kinds
        if isinstance(value, bytes):
            out[key] = value.hex()
        elif name == "components":
            out[key] = [{"name": n, "amount_micro": a} for n, a in value]
        elif name == "meters":
            out[key] = [
                {
                    "meter_id": m.meter_id,
                    "key_id": m.key_id,
                    **{
                        side: {
                            "boundary_ms": v.boundary_ms,
                            "import_wh": v.import_wh,
                            "export_wh": v.export_wh,
                            "seq": v.seq,
                            "signature_hex": v.signature.hex(),
                            "signed_message_hex": boundary_message(
                                m.meter_id, v.boundary_ms, v.import_wh, v.export_wh, v.seq
                            ).hex(),
                        }
                        for side, v in (("start", m.start), ("end", m.end))
                    },
                }
                for m in value
            ]
        else:
            out[key] = value
    return out


def _v2_vectors() -> dict[str, Any]:
    records = v2_records()
    prev, txs = ZERO_HASH, []
    for i, record in enumerate(records):
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
        prev = h
    correction = v2_correction()
    body = encode_record(correction)
    appended = HOUR + 7_200_000 + len(records)
    h = tx_hash(body, appended, prev)
    corrected = {
        "description": "An operator correction (spec §17.6) of the first quarter-hour, chained after"
        " the transactions above; the settlement it corrects stays unchanged.",
        "transaction": {
            "leaf_index": len(records),
            "record": _fields(correction),
            "canonical_hex": body.hex(),
            "appended_at_ms": appended,
            "prev_tx_hash": prev.hex(),
            "tx_hash": h.hex(),
            "leaf_hash": leaf_hash(h).hex(),
        },
        "refused": [
            {
                "why": "a correction without a reason",
                "reason": "CORRECTION_REASON_REQUIRED",
                "record": _fields(Correction(**{**_as_dict(correction), "reason": "  "})),
            },
            {
                "why": "a reason longer than 256 UTF-8 bytes",
                "reason": "CORRECTION_REASON_TOO_LONG",
                "record": _fields(Correction(**{**_as_dict(correction), "reason": "ø" * 129})),
            },
            {
                "why": "a correction of nothing",
                "reason": "CORRECTION_INVALID",
                "record": _fields(Correction(**{**_as_dict(correction), "amount_ueur": 0})),
            },
        ],
    }
    unbilled = v2_unbilled()
    prev = h
    body = encode_record(unbilled)
    appended += 1
    h = tx_hash(body, appended, prev)
    unbilled_vector = {
        "description": "An unbilled-period record (spec §17.7): the next two quarter-hours closed"
        " without a bill, chained after the correction.",
        "transaction": {
            "leaf_index": len(records) + 1,
            "record": _fields(unbilled),
            "canonical_hex": body.hex(),
            "appended_at_ms": appended,
            "prev_tx_hash": prev.hex(),
            "tx_hash": h.hex(),
            "leaf_hash": leaf_hash(h).hex(),
        },
        "refused": [
            {
                "why": "a reason not in the list",
                "reason": "UNBILLED_PERIOD_INVALID",
                "record": _fields(UnbilledPeriod(**{**_as_dict(unbilled), "reason": "NOT_SETTLED"})),
            },
            {
                "why": "a run of no periods",
                "reason": "UNBILLED_PERIOD_INVALID",
                "record": _fields(UnbilledPeriod(**{**_as_dict(unbilled), "period_count": 0})),
            },
            {
                "why": "a run longer than a day",
                "reason": "UNBILLED_PERIOD_INVALID",
                "record": _fields(UnbilledPeriod(**{**_as_dict(unbilled), "period_count": 97})),
            },
        ],
    }
    settlement = records[1]
    assert isinstance(settlement, SettlementV2)
    _, public = _meter_key()
    return {
        "description": "Format version 2 (spec §17): a meter-key record and two chained meter-signed"
        " quarter-hours, a chain of its own starting from the zero hash.",
        "meter_key": {
            "warning": "published test key, never use it for a real meter",
            "ed25519_seed_hex": METER_SEED.hex(),
            "public_key_hex": public.hex(),
            "key_id": key_id(public),
        },
        "transactions": txs,
        "correction": corrected,
        "unbilled_period": unbilled_vector,
        "refused": [
            {
                "why": "metered_wh is not the signed register delta (310 Wh)",
                "reason": "ENERGY_NOT_SIGNED",
                "record": _fields(SettlementV2(**{**_as_dict(settlement), "metered_wh": 1310})),
            },
            {
                "why": "the end value is not the one the meter signed (its signature fails)",
                "reason": "BAD_METER_SIGNATURE",
                "record": _fields(
                    SettlementV2(
                        **{
                            **_as_dict(settlement),
                            "metered_wh": 1310,
                            "meters": (
                                MeterPeriod(
                                    "m-0001",
                                    key_id(public),
                                    settlement.meters[0].start,
                                    SignedValue(
                                        HOUR + QUARTER,
                                        1_001_310,
                                        2_000,
                                        180,
                                        settlement.meters[0].end.signature,
                                    ),
                                ),
                            ),
                        }
                    )
                ),
            },
        ],
    }


def _as_dict(r: SettlementV2 | Correction | UnbilledPeriod) -> dict[str, Any]:
    return {name: getattr(r, name) for name in r.__dataclass_fields__}


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
        "format_version_2": _v2_vectors(),
    }


if __name__ == "__main__":
    json.dump(build_vectors(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
