"""Password hashing (argon2id) behind a small protocol so tests can inject a counting hasher.

``verify_or_dummy`` is the only way the login path checks a password: for an unknown user it
verifies against a dummy hash made at start-up, so unknown-user and wrong-password requests do
the same (expensive) work and cannot be told apart by timing.
"""

from __future__ import annotations

import functools
import secrets
from importlib import resources
from typing import Protocol

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from common.errors import InvalidArgument
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["Argon2Hasher", "DummyHashVerifier", "PasswordHasher", "check_new_password", "common_passwords"]

MIN_LENGTH = 10
MIN_DISTINCT = 5


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list (common/data/common-passwords.txt), lower-cased."""
    text = resources.files("common.data").joinpath("common-passwords.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_new_password(password: str, username: str) -> None:
    """Refuse a password an admin sets (CreateUser, ResetPassword), for every role, unless it has
    at least 10 characters of which 5 distinct (not all whitespace); is not on the common-password
    list (also with trailing digits and punctuation removed, and with spaces removed); and neither
    is nor contains the username."""
    if len(password) < MIN_LENGTH or len(set(password)) < MIN_DISTINCT or not password.strip():
        raise InvalidArgument(
            reasons.PASSWORD_TOO_WEAK,
            f"passwords need at least {MIN_LENGTH} characters, {MIN_DISTINCT} of them different",
        )
    lowered = password.lower()
    stem = lowered.rstrip("0123456789!?.,;:-_#*@$%&+= ")
    compact = "".join(lowered.split())
    listed = common_passwords()
    if lowered in listed or stem in listed or compact in listed or len(stem) < 4:
        raise InvalidArgument(reasons.PASSWORD_TOO_COMMON, "this password is on the list of common passwords")
    name = username.strip().lower()
    if name and (name in lowered or lowered in name):
        raise InvalidArgument(
            reasons.PASSWORD_CONTAINS_USERNAME, "the password must not contain the username"
        )


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class Argon2Hasher:
    """argon2id with configurable cost (tests use a cheap setting, production the defaults)."""

    def __init__(self, time_cost: int = 3, memory_cost_kib: int = 65536, parallelism: int = 1):
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        # argon2-cffi compares digests in constant time inside libargon2.
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


class DummyHashVerifier:
    """Runs a real verify for every login attempt, against a dummy hash when there is no user."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        # A hash of a random password nobody knows, with the same cost as real hashes.
        self._dummy = hasher.hash(secrets.token_urlsafe(24))

    def verify(self, password_hash: str | None, password: str) -> bool:
        if password_hash is None:
            self.hasher.verify(self._dummy, password)
            return False
        return self.hasher.verify(password_hash, password)
