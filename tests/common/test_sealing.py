"""Secrets sealed under a KEK: only the same key and context open them."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag

from common.config import ConfigError
from common.sealing import decode_kek, seal, unseal


def test_a_sealed_value_opens_with_its_key_and_context_only() -> None:
    kek = os.urandom(32)
    blob = seal(kek, b"webhook secret", b"alert-subscription:1")
    assert b"webhook secret" not in blob
    assert unseal(kek, blob, b"alert-subscription:1") == b"webhook secret"
    assert seal(kek, b"webhook secret", b"alert-subscription:1") != blob  # a fresh nonce each time
    with pytest.raises(InvalidTag):
        unseal(kek, blob, b"alert-subscription:2")  # moved to another row
    with pytest.raises(InvalidTag):
        unseal(os.urandom(32), blob, b"alert-subscription:1")
    with pytest.raises(InvalidTag):
        unseal(kek, blob[:-1] + bytes([blob[-1] ^ 1]), b"alert-subscription:1")


def test_kek_must_be_32_bytes_of_urlsafe_base64() -> None:
    good = base64.urlsafe_b64encode(os.urandom(32)).decode()
    assert len(decode_kek(good, "EP_X")) == 32
    for bad in ("not base64!!", base64.urlsafe_b64encode(b"short").decode()):
        with pytest.raises(ConfigError, match="EP_X"):
            decode_kek(bad, "EP_X")
