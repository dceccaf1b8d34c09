"""Revocations: "tokens of this subject issued before T are void", or "this account is disabled".

auth_svc publishes the list (after a disable, password reset, role change or unlinked
household); subjects appear in it only as :func:`subject_hash`. Signed-out sessions are in the
same mapping under :func:`session_key` (``session:`` + SHA-256 of the tokens' ``sid`` claim):
every token of such a session is revoked. auth_svc pushes the list to every verifier as it
changes (WatchRevocations; common/auth/remote.py), so a sign-out holds everywhere within a second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["NoRevocations", "Revocation", "RevocationSource", "session_hash", "session_key", "subject_hash"]


def subject_hash(subject: str) -> str:
    return hashlib.sha256(subject.encode()).hexdigest()


SESSION_PREFIX = "session:"


def session_key(session_sha256: str) -> str:
    """The revocation-mapping key of a session, from the SHA-256 hex of its ``sid``."""
    return SESSION_PREFIX + session_sha256


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Revocation:
    not_before: int
    disabled: bool = False


class RevocationSource(Protocol):
    async def revocations(self) -> Mapping[str, Revocation]:
        """subject_hash -> revocation."""
        ...


class NoRevocations(RevocationSource):
    async def revocations(self) -> Mapping[str, Revocation]:
        return {}
