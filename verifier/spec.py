"""docs/ledger-spec.md re-implemented from the document: encodings, hashes, proofs, signatures."""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "CheckpointView",
    "NoteKey",
    "SpecError",
    "block_hash",
    "check_checkpoint",
    "check_consistency",
    "check_head_signature",
    "leaf_hash",
    "mth",
    "parse_vkey",
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
    if (
        "meterKey" in record
        or "correction" in record
        or "unbilledPeriod" in record
        or ("settlement" in record and int(record["settlement"].get("formatVersion") or 0) == 2)
    ):
        from verifier import metering  # format version 2 (spec §17)

        if "correction" in record:
            return metering.correction_bytes(record["correction"], salt)
        if "unbilledPeriod" in record:
            return metering.unbilled_bytes(record["unbilledPeriod"], salt)
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
    """RFC 9162 §2.1.3.2 (0 <= index < size; hashes are 32 bytes)."""
    if not 0 <= index < size:
        raise SpecError("leaf index outside the tree")
    if len(leaf) != 32 or any(len(p) != 32 for p in path):
        raise SpecError("leaf hash and proof nodes must be 32 bytes")
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
    """RFC 9162 §2.1.4.2, for 0 < size1 <= size2: nothing is consistent *from* the empty tree
    (a caller starting from size 0 has nothing to check, spec §7)."""
    if size1 > size2:
        raise SpecError("first head is newer than the second")
    if size1 <= 0:
        raise SpecError("a consistency proof from the empty tree is meaningless")
    if size1 == size2:
        if proof or root1 != root2:
            raise SpecError("same size, different roots")
        return
    if any(len(p) != 32 for p in proof):
        raise SpecError("proof nodes must be 32 bytes")
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


# §16 Checkpoints and cosignatures (C2SP signed-note, tlog-checkpoint, tlog-cosignature/v1) -------

_SIG_PREFIX = "\u2014 "  # em dash, space


@dataclass(frozen=True)
class NoteKey:
    """A verifier key "name+<key id hex>+<base64(type || Ed25519 key)>" (type 1: note, 4: cosignature/v1)."""

    name: str
    kind: int
    key: bytes

    @property
    def key_id(self) -> bytes:
        return _h(self.name.encode() + b"\n" + bytes([self.kind]) + self.key)[:4]


def parse_vkey(vkey: str) -> NoteKey:
    name, sep, rest = vkey.strip().partition("+")
    kid_hex, sep2, b64 = rest.partition("+")
    if not (sep and sep2 and name) or " " in name:
        raise SpecError("a verifier key is name+keyid+key")
    try:
        raw, kid = base64.b64decode(b64, validate=True), bytes.fromhex(kid_hex)
    except ValueError as exc:
        raise SpecError("a verifier key's id or key is not hex/base64") from exc
    if len(raw) != 33 or raw[0] not in (1, 4):
        raise SpecError("not an Ed25519 note or cosignature/v1 key")
    key = NoteKey(name, raw[0], raw[1:])
    if key.key_id != kid:
        raise SpecError("the verifier key's id does not match its name and key")
    return key


def _note_parts(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise SpecError("a signed note is text, an empty line and signature lines")
    sigs = []
    for line in note[cut + 2 : -1].split("\n"):
        if not line.startswith(_SIG_PREFIX) or line.count(" ") != 2:
            raise SpecError("malformed signature line")
        name, b64 = line[len(_SIG_PREFIX) :].split(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise SpecError("a note signature is not base64") from exc
        sigs.append((name, raw[:4], raw[4:]))
    return note[: cut + 1], sigs


def _ed25519_ok(key: bytes, sig: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(sig, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class CheckpointView:
    origin: str
    size: int
    root: bytes
    text: str
    cosigned_at: int | None  # the witness's cosignature time (seconds), when one was checked


def check_checkpoint(note: str, log_key: NoteKey, witness_key: NoteKey | None = None) -> CheckpointView:
    """The checkpoint in ``note``, once the log's signature (and the witness's cosignature/v1,
    when ``witness_key`` is given) verifies; the origin must be the log key's name."""
    if log_key.kind != 1 or (witness_key is not None and witness_key.kind != 4):
        raise SpecError("the log key must be a note key (type 1), the witness key a cosignature key (type 4)")
    text, sigs = _note_parts(note)
    lines = text[:-1].split("\n")
    if len(lines) < 3 or lines[0] != log_key.name or not re.fullmatch(r"0|[1-9]\d*", lines[1]):
        raise SpecError("not a checkpoint of this log")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError as exc:
        raise SpecError("the checkpoint's root line is not base64") from exc
    if len(root) != 32:
        raise SpecError("the checkpoint's root is not 32 bytes")
    if not any(
        n == log_key.name and kid == log_key.key_id and _ed25519_ok(log_key.key, s, text.encode())
        for n, kid, s in sigs
    ):
        raise SpecError("the checkpoint carries no valid signature of the pinned log key")
    cosigned_at = None
    if witness_key is not None:
        for n, kid, s in sigs:
            if n == witness_key.name and kid == witness_key.key_id and len(s) == 72:
                (ts,) = struct.unpack(">Q", s[:8])
                message = f"cosignature/v1\ntime {ts}\n".encode() + text.encode()
                if _ed25519_ok(witness_key.key, s[8:], message):
                    cosigned_at = ts
                    break
        if cosigned_at is None:
            raise SpecError("the checkpoint carries no valid cosignature of the pinned witness")
    return CheckpointView(lines[0], int(lines[1]), root, text, cosigned_at)
