"""argon2id hashing and the dummy-hash verifier used for unknown users."""

from __future__ import annotations

from auth_svc.passwords import Argon2Hasher, DummyHashVerifier
from tests.auth_svc.conftest import CountingHasher


def test_argon2id_hash_and_verify() -> None:
    hasher = Argon2Hasher(time_cost=1, memory_cost_kib=1024)
    hashed = hasher.hash("correct horse")
    assert hashed.startswith("$argon2id$")
    assert hasher.verify(hashed, "correct horse")
    assert not hasher.verify(hashed, "correct horsE")
    assert not hasher.verify("not-a-hash", "correct horse")


def test_needs_rehash_when_cost_grows() -> None:
    cheap = Argon2Hasher(time_cost=1, memory_cost_kib=1024)
    dearer = Argon2Hasher(time_cost=2, memory_cost_kib=1024)
    hashed = cheap.hash("pw")
    assert not cheap.needs_rehash(hashed)
    assert dearer.needs_rehash(hashed)
    assert dearer.needs_rehash("garbage")


def test_unknown_user_still_costs_one_verification() -> None:
    hasher = CountingHasher()
    verifier = DummyHashVerifier(hasher)
    assert not verifier.verify(None, "anything")
    assert hasher.verifications == 1
    real = hasher.hash("secret-pass")
    assert verifier.verify(real, "secret-pass")
    assert not verifier.verify(real, "wrong")
    assert hasher.verifications == 3
