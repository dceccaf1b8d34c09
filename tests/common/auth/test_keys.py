"""common.auth.keys: which JWKS entries become verification keys."""

from __future__ import annotations

from auth_svc.testing import TokenFactory
from common.auth.keys import parse_jwks


def test_parse_jwks_keeps_only_ed25519_signing_keys() -> None:
    factory = TokenFactory()
    good = factory.jwk()
    keys = parse_jwks(
        [
            good,
            {**good, "kid": "rsa", "kty": "RSA"},
            {**good, "kid": "hs", "alg": "HS256"},
            {**good, "kid": "enc", "use": "enc"},
            {**good, "kid": "short", "x": "AAAA"},
        ]
    )
    assert list(keys) == [factory.kid]
