"""Signed meter values: the register values a meter signs at each settlement-period boundary.

The contract (docs/telemetry-payload.md, "Signed boundary values"; docs/ledger-spec.md §16): at
every boundary ``t`` (a multiple of the settlement period, UTC) the meter latches its cumulative
import and export registers in whole Wh and signs, with its Ed25519 key, the bytes

    "EPMV" || 0x01 || u32 len(meter_id) || meter_id (UTF-8)
           || i64 boundary_ms || i64 import_wh || i64 export_wh || i64 seq        (big-endian)

``seq`` is the sequence number of the reading that carries the values. The reading's optional
``boundary`` object holds ``t_ms``, ``import_wh``, ``export_wh``, ``key_id`` and ``sig`` (base64url,
no padding, of the 64-byte signature). ``key_id`` is the hex of the first 16 bytes of SHA-256 of
the 32-byte raw public key. The same bytes are verified by ingest, by the ledger (a version-2
settlement carries both ends of its period) and, re-implemented, by ``verifier/`` and the browser.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "BOUNDARY_MAGIC",
    "KEY_ALGORITHM",
    "SIGNATURE_LEN",
    "SignedBoundary",
    "b64url",
    "boundary_message",
    "key_id",
    "parse_b64url",
    "verify_boundary",
]

BOUNDARY_MAGIC = b"EPMV\x01"
KEY_ALGORITHM = "ed25519"
SIGNATURE_LEN = 64
PUBLIC_KEY_LEN = 32
_TAIL = struct.Struct(">qqqq")
_U32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class SignedBoundary:
    """One meter's signed register values at one boundary."""

    meter_id: str
    boundary_ms: int
    import_wh: int
    export_wh: int
    seq: int
    key_id: str
    signature: bytes

    def message(self) -> bytes:
        return boundary_message(self.meter_id, self.boundary_ms, self.import_wh, self.export_wh, self.seq)


def boundary_message(meter_id: str, boundary_ms: int, import_wh: int, export_wh: int, seq: int) -> bytes:
    raw = meter_id.encode("utf-8")
    return BOUNDARY_MAGIC + _U32.pack(len(raw)) + raw + _TAIL.pack(boundary_ms, import_wh, export_wh, seq)


def key_id(public_key: bytes) -> str:
    """Hex of the first 16 bytes of SHA-256(raw public key)."""
    return hashlib.sha256(public_key).digest()[:16].hex()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse_b64url(text: str) -> bytes | None:
    """The bytes of unpadded base64url ``text``; None when it is not that."""
    if not isinstance(text, str) or len(text) > 200:
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def load_public_key(public_key: bytes) -> Ed25519PublicKey:
    if len(public_key) != PUBLIC_KEY_LEN:
        raise ValueError(f"an Ed25519 public key is {PUBLIC_KEY_LEN} bytes, got {len(public_key)}")
    return Ed25519PublicKey.from_public_bytes(public_key)


def verify_boundary(public_key: Ed25519PublicKey, boundary: SignedBoundary) -> bool:
    if len(boundary.signature) != SIGNATURE_LEN:
        return False
    try:
        public_key.verify(boundary.signature, boundary.message())
    except InvalidSignature:
        return False
    return True
