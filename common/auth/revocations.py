"""Revocations: "tokens of this subject issued before T are void", or "this account is disabled".

auth_svc publishes the list (after a disable, password reset, role change or unlinked
household); subjects appear in it only as :func:`subject_hash`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["NoRevocations", "Revocation", "RevocationSource", "subject_hash"]


def subject_hash(subject: str) -> str:
    return hashlib.sha256(subject.encode()).hexdigest()


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
