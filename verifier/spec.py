"""docs/ledger-spec.md re-implemented from the document: encodings, hashes, proofs, signatures."""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping, Sequence
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "SpecError",
    "block_hash",
    "check_consistency",
    "check_head_signature",
    "leaf_hash",
    "mth",
    "record_bytes_from_json",
    "rfc3339_to_ms",
    "root_from_inclusion",
    "tree_head_bytes",
    "tx_hash",
]


class SpecError(ValueError):
    """Something does not verify."""


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _str(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack(">I", len(raw)) + raw


def _i64(value: str | int | None) -> bytes:
    return struct.pack(">q", int(value or 0))  # proto3 JSON writes int64 as strings, omits zeros


def rfc3339_to_ms(value: str) -> int:
    """'2026-01-01T00:00:00.123Z' -> Unix ms (the canonical form keeps milliseconds)."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", value)
    if m is None:
        raise SpecError(f"not an RFC 3339 timestamp: {value!r}")
    frac_ns = int((m[2] or "0").ljust(9, "0"))
    text = m[1] + ("+00:00" if m[3] == "Z" else m[3])
    seconds = int(datetime.fromisoformat(text).timestamp())
    if frac_ns % 1_000_000:
        raise SpecError(f"timestamp {value} is finer than milliseconds")
    return seconds * 1000 + frac_ns // 1_000_000


def record_bytes_from_json(record: Mapping[str, Mapping[str, str]], salt_hex: str) -> bytes:
    """Canonical record bytes (spec §2) from the API's JSON record (lowerCamelCase) and salt."""
    salt = bytes.fromhex(salt_hex)
    if len(salt) != 32:
        raise SpecError("salt must be 32 bytes")
    if "meterKey" in record or (
        "settlement" in record and int(record["settlement"].get("formatVersion") or 0) == 2
    ):
        from verifier import metering  # format version 2 (spec §16)

        if "meterKey" in record:
            return metering.meter_key_bytes(record["meterKey"], salt)
        return metering.settlement_v2_bytes(record["settlement"], salt)
    if "settlement" in record:
        s = record["settlement"]
        return b"".join(
            [b"EPRC\x01\x02", salt, _str(s.get("householdId", "")), _i64(rfc3339_to_ms(s["hourStart"]))]
            + [
                _i64(s.get(k))
                for k in (
                    "meteredWh",
                    "spotPriceMicroEurPerKwh",
                    "spotCostMicroEur",
                    "gridEnergyCostMicroEur",
                    "capacityCostMicroEur",
                    "standingChargeMicroEur",
                    "vatMicroEur",
                    "totalCostMicroEur",
                )
            ]
        )
    if "prediction" in record:
        p = record["prediction"]
        return b"".join(
            [
                b"EPRC\x01\x01",
                salt,
                _str(p.get("householdId", "")),
                _str(p.get("zone", "")),
                _i64(rfc3339_to_ms(p["targetHour"])),
            ]
            + [
                _i64(p.get(k))
                for k in (
                    "priceP10MicroEurPerKwh",
                    "priceP50MicroEurPerKwh",
                    "priceP90MicroEurPerKwh",
                    "consumptionWh",
                    "costMicroEur",
                )
            ]
            + [_str(p.get("modelVersion", "")), _i64(rfc3339_to_ms(p["createTime"]))]
        )
    raise SpecError("record is neither a settlement nor a prediction")


def tx_hash(record: bytes, appended_at_ms: int, prev_tx_hash: bytes) -> bytes:
    """Spec §3."""
    return _h(b"EPTX\x01" + struct.pack(">qI", appended_at_ms, len(record)) + record + prev_tx_hash)


def leaf_hash(tx: bytes) -> bytes:
    return _h(b"\x00" + tx)


def _node(left: bytes, right: bytes) -> bytes:
    return _h(b"\x01" + left + right)


def mth(tx_hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 MTH over transaction hashes (leaf input = tx hash), straight from the definition."""
    n = len(tx_hashes)
    if n == 0:
        return _h(b"")
    if n == 1:
        return leaf_hash(tx_hashes[0])
    k = 1 << ((n - 1).bit_length() - 1)
    return _node(mth(tx_hashes[:k]), mth(tx_hashes[k:]))


def block_hash(height: int, prev: bytes, root: bytes, first: int, count: int, sealed_at_ms: int) -> bytes:
    """Spec §5."""
    return _h(
        b"EPBK\x01"
        + struct.pack(">Q", height)
        + prev
        + root
        + struct.pack(">QIq", first, count, sealed_at_ms)
    )


def tree_head_bytes(key_id: bytes, tree_size: int, root: bytes, timestamp_ms: int) -> bytes:
    """Spec §6."""
    return b"EPTH\x01" + key_id + struct.pack(">Q", tree_size) + root + struct.pack(">q", timestamp_ms)


def check_head_signature(
    public_key: bytes, key_id: bytes, tree_size: int, root: bytes, timestamp_ms: int, signature: bytes
) -> None:
    if _h(public_key) != key_id:
        raise SpecError("the head's key id is not the hash of the trusted public key")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            signature, tree_head_bytes(key_id, tree_size, root, timestamp_ms)
        )
    except (InvalidSignature, ValueError) as exc:
        raise SpecError("tree head signature does not verify") from exc


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        raise SpecError("leaf index outside the tree")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise SpecError("inclusion proof too long")
        if fn % 2 == 1 or fn == sn:
            r = _node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise SpecError("inclusion proof too short")
    return r


def check_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2."""
    if size1 > size2:
        raise SpecError("first head is newer than the second")
    if size1 == size2:
        if proof or root1 != root2:
            raise SpecError("same size, different roots")
        return
    if size1 == 0:
        return
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path = [root1, *path]
    if not path:
        raise SpecError("empty consistency proof")
    fn, sn = size1 - 1, size2 - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise SpecError("consistency proof too long")
        if fn % 2 == 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != root1 or sr != root2:
        raise SpecError("consistency proof does not verify")
