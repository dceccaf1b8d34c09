"""Where token verification keys come from: a JWKS document, or a local key ring."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common.log import get_logger

__all__ = ["ALGORITHM", "KeySource", "StaticKeySource", "parse_jwks"]

log = get_logger(__name__)

ALGORITHM = "EdDSA"


def parse_jwks(keys: Iterable[Mapping[str, str]]) -> dict[str, Ed25519PublicKey]:
    """kid -> key for the Ed25519 signing keys of a JWKS; any other key is ignored."""
    found: dict[str, Ed25519PublicKey] = {}
    for key in keys:
        if key.get("kty") != "OKP" or key.get("crv") != "Ed25519" or not key.get("kid"):
            continue
        if key.get("alg", ALGORITHM) != ALGORITHM or key.get("use", "sig") != "sig":
            continue
        x = key.get("x", "")
        try:
            raw = jwt.utils.base64url_decode(x)
            found[key["kid"]] = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            log.warning("jwks_key_ignored", kid=key.get("kid"))
    return found


class KeySource(Protocol):
    """Where verification keys come from."""

    async def keys(self, *, refresh: bool = False) -> Mapping[str, Ed25519PublicKey]: ...


class StaticKeySource(KeySource):
    """Keys from a local callable: auth_svc uses its own key ring this way."""

    def __init__(self, provider: Callable[[], Mapping[str, Ed25519PublicKey]]) -> None:
        self._provider = provider

    async def keys(self, *, refresh: bool = False) -> Mapping[str, Ed25519PublicKey]:
        return self._provider()
