"""Issuing access JWTs (EdDSA) and opaque refresh tokens.

Access tokens: header ``alg=EdDSA``, ``typ=JWT``, ``kid``; claims ``iss aud sub iat nbf exp jti
role households``. ``sub`` is the username (unique and never renamed). Refresh tokens are 256
random bits; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jwt

from auth_svc.keys import KeyRing

__all__ = ["AccessToken", "TokenIssuer", "hash_refresh_token", "new_refresh_token"]


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: int
    kid: str


class TokenIssuer:
    def __init__(
        self,
        keys: KeyRing,
        *,
        issuer: str,
        audience: str,
        ttl_s: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self.issuer = issuer
        self.audience = audience
        self.ttl_s = ttl_s
        self._clock = clock

    def issue(
        self,
        subject: str,
        role: str,
        households: Sequence[str],
        not_before: int = 0,
        session_id: str = "",
    ) -> AccessToken:
        """Sign an access token; ``iat``/``nbf`` are never before ``not_before`` (see revocation).
        ``session_id`` (the refresh-token family) becomes the ``sid`` claim: signing out revokes it."""
        key = self._keys.signing_key()
        issued = max(int(self._clock()), not_before)
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.ttl_s,
            "jti": str(uuid.uuid4()),
            "role": role,
            "households": list(households),
        }
        if session_id:
            claims["sid"] = session_id
        token = jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})
        return AccessToken(token, issued + self.ttl_s, key.kid)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
