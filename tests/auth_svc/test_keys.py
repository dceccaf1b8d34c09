"""Signing keys: encrypted at rest, JWK form, rotation and expiry from the JWKS."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth_svc.keys import KeyRing, decrypt_private_key, encrypt_private_key, jwk
from auth_svc.server import MIGRATIONS, VERSION_TABLE
from auth_svc.store import Store
from common.db import make_engine, make_session_factory, upgrade
from tests.auth_svc.conftest import Clock

KEK = os.urandom(32)


def test_private_key_encryption_round_trip_and_binding() -> None:
    key = Ed25519PrivateKey.generate()
    blob = encrypt_private_key(KEK, "kid-1", key)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert raw not in blob
    restored = decrypt_private_key(KEK, "kid-1", blob)
    assert restored.public_key().public_bytes_raw() == key.public_key().public_bytes_raw()
    with pytest.raises(InvalidTag):
        decrypt_private_key(KEK, "kid-2", blob)  # moved to another row
    with pytest.raises(InvalidTag):
        decrypt_private_key(os.urandom(32), "kid-1", blob)


def test_jwk_shape() -> None:
    key = Ed25519PrivateKey.generate().public_key()
    assert set(jwk("k", key)) == {"kty", "crv", "x", "kid", "alg", "use"}


def _ring(db_url: str, clock: Clock, **kwargs: int) -> tuple[KeyRing, Store]:
    upgrade(db_url, MIGRATIONS, version_table=VERSION_TABLE)
    store = Store(make_session_factory(make_engine(db_url)))
    ring = KeyRing(
        store,
        KEK,
        access_ttl_s=300,
        rotation_s=kwargs.get("rotation_s", 3600),
        leeway_s=60,
        reload_s=0,
        clock=clock,
    )
    return ring, store


def test_rotation_keeps_old_key_until_its_tokens_expire(db_url: str, clock: Clock) -> None:
    ring, store = _ring(db_url, clock)
    first = ring.ensure_signing_key()
    assert ring.ensure_signing_key().kid == first.kid
    clock.now += 100
    second = ring.rotate()
    assert ring.signing_key().kid == second.kid
    assert set(ring.public_keys()) == {first.kid, second.kid}
    clock.now += 300 + 60 + 1
    assert set(ring.public_keys()) == {second.kid}
    assert all(row.private_key_encrypted for row in store.signing_keys())


def test_automatic_rotation_by_age(db_url: str, clock: Clock) -> None:
    ring, _ = _ring(db_url, clock, rotation_s=3600)
    first = ring.ensure_signing_key()
    clock.now += 3601
    second = ring.ensure_signing_key()
    assert second.kid != first.kid


def test_a_second_replica_sees_the_rotated_key(tmp_path: Path, clock: Clock) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    one, _ = _ring(url, clock)
    two, _ = _ring(url, clock)
    key = one.ensure_signing_key()
    assert two.signing_key().kid == key.kid
    rotated = one.rotate()
    assert two.signing_key().kid == rotated.kid
    assert set(two.jwks()["keys"][0]) == {"kty", "crv", "x", "kid", "alg", "use"}
