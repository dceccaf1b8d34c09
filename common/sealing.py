"""Secrets at rest under a key-encryption key (KEK): AES-256-GCM, one random 96-bit nonce per
value, the value's context (a key id, a row id) as associated data so a ciphertext cannot be moved
to another row. Stored form: ``nonce || ciphertext || tag``.

Used by auth_svc (its JWT signing keys, EP_AUTH_KEY_ENCRYPTION_KEY) and alert_svc (households'
webhook signing secrets and MQTT passwords, EP_ALERT_KEY_ENCRYPTION_KEY). Each service has its own
KEK; the installation generates them (devstack/secrets.py).
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from common.config import ConfigError

__all__ = ["decode_kek", "seal", "unseal"]

_NONCE = 12


def decode_kek(value: str, variable: str) -> bytes:
    """The 32 bytes of a KEK given as urlsafe base64 in ``variable``; ConfigError otherwise."""
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{variable} is not urlsafe base64") from exc
    if len(raw) != 32:
        raise ConfigError(f"{variable} must decode to 32 bytes")
    return raw


def seal(kek: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(kek).encrypt(nonce, plaintext, context)


def unseal(kek: bytes, blob: bytes, context: bytes) -> bytes:
    """The plaintext; ``cryptography.exceptions.InvalidTag`` for a wrong key, context or a changed blob."""
    return AESGCM(kek).decrypt(blob[:_NONCE], blob[_NONCE:], context)
