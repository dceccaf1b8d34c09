"""Helpers that mint good and deliberately bad access tokens, for this service's tests and for
the Envoy edge tests (``from auth_svc.testing import TokenFactory``).

A :class:`TokenFactory` holds an Ed25519 key whose JWK can be served or trusted; its ``bad()``
returns one token per attack the verifiers must refuse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auth_svc.keys import jwk

__all__ = ["BAD_TOKEN_KINDS", "TokenFactory", "confusion_tokens"]

BAD_TOKEN_KINDS = (
    "alg_none",
    "hs256_public_key",
    "hs256_public_key_raw",
    "expired",
    "not_yet_valid",
    "wrong_audience",
    "wrong_issuer",
    "unknown_kid",
    "no_kid",
    "tampered_payload",
    "signed_by_other_key",
    "missing_exp",
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, object]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


@dataclass
class TokenFactory:
    issuer: str = "energypulse-auth"
    audience: str = "energypulse"
    private_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    kid: str = field(default_factory=lambda: f"test-{secrets.token_hex(4)}")

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def jwk(self) -> dict[str, str]:
        return jwk(self.kid, self.public_key)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.jwk()]}

    def claims(
        self,
        subject: str = "household-0001",
        role: str = "user",
        households: Sequence[str] = ("household-0001",),
        ttl_s: int = 300,
        now: float | None = None,
        **extra: object,
    ) -> dict[str, object]:
        issued = int(time.time() if now is None else now)
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl_s,
            "jti": str(uuid.uuid4()),
            "role": role,
            "households": list(households),
        }
        claims.update(extra)
        return claims

    def sign(self, claims: dict[str, object], kid: str | None = None) -> str:
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": kid or self.kid})

    def token(self, **kwargs: Any) -> str:
        """A valid token (see :meth:`claims` for the arguments)."""
        return self.sign(self.claims(**kwargs))

    def bad(self, **kwargs: Any) -> dict[str, str]:
        """kind -> a token every verifier must refuse with UNAUTHENTICATED."""
        claims = self.claims(**kwargs)
        now = claims["iat"]
        assert isinstance(now, int)
        public_pem = self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        public_raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        tokens: dict[str, str] = {}
        tokens["alg_none"] = f"{_segment({'alg': 'none', 'typ': 'JWT', 'kid': self.kid})}.{_segment(claims)}."
        # Algorithm confusion: HMAC keyed with the public key a verifier holds (PEM and raw).
        signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': self.kid})}.{_segment(claims)}"
        tag = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        tokens["hs256_public_key"] = f"{signing_input}.{_b64(tag)}"
        raw_tag = hmac.new(public_raw, signing_input.encode(), hashlib.sha256).digest()
        tokens["hs256_public_key_raw"] = f"{signing_input}.{_b64(raw_tag)}"
        tokens["expired"] = self.sign({**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600})
        tokens["not_yet_valid"] = self.sign({**claims, "nbf": now + 3600, "exp": now + 7200})
        tokens["wrong_audience"] = self.sign({**claims, "aud": "someone-else"})
        tokens["wrong_issuer"] = self.sign({**claims, "iss": "https://evil.example"})
        tokens["unknown_kid"] = self.sign(claims, kid="no-such-key")
        tokens["no_kid"] = jwt.encode(claims, self.private_key, algorithm="EdDSA")
        header, _payload, signature = self.sign(claims).split(".")
        tokens["tampered_payload"] = f"{header}.{_segment({**claims, 'role': 'admin'})}.{signature}"
        other = Ed25519PrivateKey.generate()
        tokens["signed_by_other_key"] = jwt.encode(
            claims, other, algorithm="EdDSA", headers={"kid": self.kid}
        )
        tokens["missing_exp"] = self.sign({k: v for k, v in claims.items() if k != "exp"})
        return tokens


def confusion_tokens(published: dict[str, str], claims: dict[str, object]) -> dict[str, str]:
    """HS256 tokens keyed with a real server's published Ed25519 key (raw, PEM and JWK JSON):
    the classic algorithm-confusion forgeries against a verifier that trusts the header's alg."""
    raw = base64.urlsafe_b64decode(published["x"] + "=" * (-len(published["x"]) % 4))
    pem = Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _segment({"alg": "HS256", "typ": "JWT", "kid": published["kid"]})
    signing_input = f"{header}.{_segment(claims)}"
    secrets_by_kind = {
        "hs256_raw": raw,
        "hs256_pem": pem,
        "hs256_jwk_json": json.dumps(published).encode(),
        "hs256_x": published["x"].encode(),
    }
    return {
        kind: f"{signing_input}.{_b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"
        for kind, key in secrets_by_kind.items()
    }
