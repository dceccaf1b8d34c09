"""Ed25519 signing keys: generation, encryption at rest, JWK export and the rotating key ring.

Private keys are stored AES-256-GCM encrypted with the key-encryption key from configuration
(EP_AUTH_KEY_ENCRYPTION_KEY), with the kid as associated data so a ciphertext cannot be moved
to another row. Rotation: the newest key signs; a retired key keeps verifying until every token
it signed has expired (retired_at + access TTL + leeway), then it leaves the JWKS.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auth_svc.store import SigningKeyRow, Store
from common.sealing import seal, unseal

__all__ = ["KeyRing", "SigningKey", "b64url", "decrypt_private_key", "encrypt_private_key", "jwk"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def encrypt_private_key(kek: bytes, kid: str, key: Ed25519PrivateKey) -> bytes:
    return seal(kek, _raw_private(key), kid.encode())


def decrypt_private_key(kek: bytes, kid: str, blob: bytes) -> Ed25519PrivateKey:
    raw = unseal(kek, blob, kid.encode())
    return Ed25519PrivateKey.from_private_bytes(raw)


def jwk(kid: str, public_key: Ed25519PublicKey) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(_raw_public(public_key)),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    }


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey
    public_key: Ed25519PublicKey
    created_at: float
    retired_at: float | None
    verify_until: float | None


class KeyRing:
    """The key set persisted in the database, cached in memory.

    Several auth_svc replicas may share a database: each reloads the ring when it is older than
    ``reload_s`` so a key rotated by one replica is served and used by the others.
    """

    def __init__(
        self,
        store: Store,
        kek: bytes,
        *,
        access_ttl_s: int,
        rotation_s: int,
        leeway_s: int = 60,
        reload_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._kek = kek
        self._access_ttl_s = access_ttl_s
        self._rotation_s = rotation_s
        self._leeway_s = leeway_s
        self._reload_s = reload_s
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []
        self._loaded_at = float("-inf")

    def _load(self) -> None:
        now = self._clock()
        keys = []
        for row in self._store.signing_keys():
            if row.verify_until is not None and row.verify_until <= now:
                continue
            keys.append(
                SigningKey(
                    kid=row.kid,
                    private_key=decrypt_private_key(self._kek, row.kid, row.private_key_encrypted),
                    public_key=Ed25519PublicKey.from_public_bytes(row.public_key),
                    created_at=row.created_at,
                    retired_at=row.retired_at,
                    verify_until=row.verify_until,
                )
            )
        keys.sort(key=lambda k: k.created_at)
        self._keys = keys
        self._loaded_at = now

    def _current(self) -> list[SigningKey]:
        with self._lock:
            now = self._clock()
            stale = now - self._loaded_at >= self._reload_s
            expired = any(k.verify_until is not None and k.verify_until <= now for k in self._keys)
            if stale or expired or not self._keys:
                self._load()
            return list(self._keys)

    def ensure_signing_key(self) -> SigningKey:
        """The active key, rotating first when there is none or it is past its rotation age."""
        active = [k for k in self._current() if k.retired_at is None]
        if active and self._clock() - active[-1].created_at < self._rotation_s:
            return active[-1]
        return self.rotate()

    def signing_key(self) -> SigningKey:
        return self.ensure_signing_key()

    def rotate(self) -> SigningKey:
        """Make a new signing key; the previous ones verify until their tokens expire."""
        now = self._clock()
        private = Ed25519PrivateKey.generate()
        kid = f"{time.strftime('%Y%m%d', time.gmtime(now))}-{secrets.token_hex(6)}"
        row = SigningKeyRow(
            kid=kid,
            algorithm="EdDSA",
            public_key=_raw_public(private.public_key()),
            private_key_encrypted=encrypt_private_key(self._kek, kid, private),
            created_at=now,
        )
        self._store.add_signing_key(
            row, retire_others_at=now, verify_until=now + self._access_ttl_s + self._leeway_s
        )
        with self._lock:
            self._load()
        return next(k for k in self._keys if k.kid == kid)

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """kid -> public key for every key that may still have valid tokens."""
        return {k.kid: k.public_key for k in self._current()}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [jwk(k.kid, k.public_key) for k in self._current()]}
