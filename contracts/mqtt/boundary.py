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

Verification (:func:`verify_ed25519`) runs on libsodium (PyNaCl) when it is installed, else on
OpenSSL (``cryptography``); ``EP_ED25519_BACKEND`` (``sodium`` / ``openssl``) picks one. Ingest
verifies one signature per meter and boundary, and libsodium's verify takes about half the
instructions of OpenSSL's (BENCHMARKS.md). The two libraries differ on edge cases that RFC 8032
leaves open (OpenSSL accepts a small-order public key or R, for which a signature of any
message can be made without a private key), so both run behind the same strict checks first:
S < L, a canonically encoded A, and neither A nor R of small order (libsodium's own rules).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def _load_sodium() -> tuple[Callable[[bytes, bytes], bytes], type[Exception]] | None:
    """libsodium's verify (``crypto_sign_open``) and its refusal, when PyNaCl is installed."""
    try:
        from nacl.bindings import crypto_sign_open
        from nacl.exceptions import BadSignatureError
    except ImportError:  # pragma: no cover - PyNaCl is a declared dependency
        return None
    return crypto_sign_open, BadSignatureError


_SODIUM = _load_sodium()

__all__ = [
    "BACKENDS",
    "BOUNDARY_MAGIC",
    "KEY_ALGORITHM",
    "SIGNATURE_LEN",
    "BoundaryKey",
    "SignedBoundary",
    "b64url",
    "boundary_message",
    "key_id",
    "parse_b64url",
    "strong_public_key",
    "verify_boundary",
    "verify_ed25519",
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


# Ed25519 group order L and field prime p (RFC 8032 §5.1).
_L = 2**252 + 27742317777372353535851937790883648493
_P = 2**255 - 19
_Y_MASK = (1 << 255) - 1  # the encoding without its sign bit
# Encodings (sign bit cleared) of the points of order 1, 2, 4 and 8, canonical or not: libsodium's
# blocklist (ge25519_has_small_order): 0, 1, the two of order 8, p - 1, p, p + 1.
_SMALL_ORDER = frozenset(
    {
        0,
        1,
        0x05FC536D880238B13933C6D305ACDFD5F098EFF289F4C345B027B2C28F95E826,
        0x7A03AC9277FDC74EC6CC392CFA53202A0F67100D760B3CBA4FD84D3D706A17C7,
        _P - 1,
        _P,
        _P + 1,
    }
)
BACKENDS = ("sodium", "openssl") if _SODIUM is not None else ("openssl",)


def _default_backend() -> str:
    wanted = os.environ.get("EP_ED25519_BACKEND", "")
    if wanted and wanted not in ("sodium", "openssl"):
        raise ValueError(f"EP_ED25519_BACKEND must be sodium or openssl, got {wanted!r}")
    if wanted == "sodium" and _SODIUM is None:
        raise ValueError("EP_ED25519_BACKEND=sodium but PyNaCl is not installed")
    return wanted or BACKENDS[0]


_BACKEND = _default_backend()


def strong_public_key(public_key: bytes) -> bool:
    """True for a 32-byte key that is canonically encoded and not of small order: a key of small
    order 'verifies' signatures of any message (refused at registration too)."""
    if len(public_key) != PUBLIC_KEY_LEN:
        return False
    a = int.from_bytes(public_key, "little") & _Y_MASK
    return a < _P and a not in _SMALL_ORDER


def _strictly_valid(public_key: bytes, signature: bytes) -> bool:
    """The checks made before the curve arithmetic, the same whichever library verifies."""
    if len(signature) != SIGNATURE_LEN or not strong_public_key(public_key):
        return False
    if int.from_bytes(signature[32:], "little") >= _L:
        return False  # S not reduced: a second signature for the same message
    return int.from_bytes(signature[:32], "little") & _Y_MASK not in _SMALL_ORDER


def verify_ed25519(public_key: bytes, signature: bytes, message: bytes, backend: str | None = None) -> bool:
    """RFC 8032 Ed25519 verification with the strict checks above; never raises on bad input."""
    if not _strictly_valid(public_key, signature):
        return False
    chosen = backend or _BACKEND
    if chosen == "sodium":
        if _SODIUM is None:
            raise ValueError("the sodium backend needs PyNaCl")
        sodium_open, refused = _SODIUM
        try:
            sodium_open(signature + message, public_key)
        except refused:
            return False
        return True
    if chosen != "openssl":
        raise ValueError(f"unknown Ed25519 backend {chosen!r}")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class BoundaryKey:
    """A meter's registered public key, ready to verify its boundaries (cached by ingest)."""

    raw: bytes
    backend: str = ""  # "" = the process default (EP_ED25519_BACKEND, else sodium if installed)


def load_public_key(public_key: bytes, backend: str = "") -> BoundaryKey:
    if len(public_key) != PUBLIC_KEY_LEN:
        raise ValueError(f"an Ed25519 public key is {PUBLIC_KEY_LEN} bytes, got {len(public_key)}")
    return BoundaryKey(bytes(public_key), backend)


def verify_boundary(public_key: BoundaryKey, boundary: SignedBoundary) -> bool:
    return verify_ed25519(public_key.raw, boundary.signature, boundary.message(), public_key.backend or None)
