"""Verification of auth_svc's access JWTs, turning a token into a :class:`Caller`.

Only ``EdDSA`` is accepted (``none``, ``HS*`` and every other algorithm are refused before any key
is touched, which rules out algorithm confusion); the ``kid`` must name a published key; ``exp``,
``nbf``, ``iat``, ``iss``, ``aud`` and ``sub`` are required and checked; then the revocation list
applies. Access tokens live 5 minutes, bounding the revocation window even if the list cannot be
fetched.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common.auth.access import parse_role
from common.auth.caller import Caller
from common.auth.keys import ALGORITHM, KeySource
from common.auth.revocations import NoRevocations, RevocationSource, session_hash, session_key, subject_hash
from common.errors import Unauthenticated
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["DEFAULT_AUDIENCE", "DEFAULT_ISSUER", "MAX_TOKEN_BYTES", "TokenVerifier", "bearer_token"]

# auth_svc's defaults (EP_AUTH_ISSUER / EP_AUTH_AUDIENCE); every verifier must use the same.
DEFAULT_ISSUER = "energypulse-auth"
DEFAULT_AUDIENCE = "energypulse"
MAX_TOKEN_BYTES = 8192


@dataclass(frozen=True, slots=True)
class _Verified:
    """What a verified token established (see TokenVerifier's cache)."""

    caller: Caller
    kid: str
    exp: float
    iat: int
    sid: str = ""


class TokenVerifier:
    """Verifies access JWTs issued by auth_svc and turns them into a :class:`Caller`."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        revocations: RevocationSource | None = None,
        leeway_s: int = 30,
        clock: Callable[[], float] = time.time,
        cache_size: int = 4096,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._revocations = revocations or NoRevocations()
        self._leeway_s = leeway_s
        self._clock = clock
        # Tokens already verified, by their exact string (performance: the Ed25519 check and JWT
        # parsing were most of the per-call cost of every authenticated RPC, and a client sends
        # the same token on every call until it expires). A hit skips only what cannot change
        # for the same bytes (signature, issuer, audience, claim shapes); expiry, the signing key
        # still being published and revocation are checked again on every call. Bounded LRU.
        self._verified: OrderedDict[str, _Verified] = OrderedDict()
        self._cache_size = cache_size

    def now(self) -> float:
        """The verifier's clock (seconds since the epoch), the one ``Caller.valid_until`` is on."""
        return self._clock()

    async def verify(self, token: str) -> Caller:
        cached = self._verified.get(token)
        if cached is not None:
            if self._clock() < cached.exp + self._leeway_s and cached.kid in await self._keys.keys():
                self._verified.move_to_end(token)
                await self._check_revoked(cached.caller.subject, cached.iat, cached.sid)
                return cached.caller
            self._verified.pop(token, None)  # expired or key withdrawn: the full path decides
        caller, verified = await self._verify_uncached(token)
        if self._cache_size > 0:
            self._verified[token] = verified
            while len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return caller

    async def _check_revoked(self, subject: str, iat: int, sid: str) -> None:
        listed = await self._revocations.revocations()
        revoked = listed.get(subject_hash(subject))
        if revoked is not None and (revoked.disabled or iat < revoked.not_before):
            raise Unauthenticated(reasons.TOKEN_REVOKED, "the access token has been revoked")
        if sid and session_key(session_hash(sid)) in listed:
            raise Unauthenticated(reasons.TOKEN_REVOKED, "the session of this access token was signed out")

    async def _verify_uncached(self, token: str) -> tuple[Caller, _Verified]:
        if not token or len(token) > MAX_TOKEN_BYTES:
            raise Unauthenticated(reasons.TOKEN_MALFORMED, "the access token is empty or too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise Unauthenticated(reasons.TOKEN_MALFORMED, "the access token is not a JWT") from exc
        # Checked before any key is looked up: "none", HS256 keyed with the public key and any
        # other algorithm never reach signature verification.
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated(reasons.TOKEN_ALGORITHM_REJECTED, "only EdDSA-signed tokens are accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated(reasons.TOKEN_KID_MISSING, "the access token has no key id")
        keys = await self._keys.keys()
        if kid not in keys:
            keys = await self._keys.keys(refresh=True)
        key = keys.get(kid)
        if key is None:
            raise Unauthenticated(reasons.TOKEN_KID_UNKNOWN, "the access token's signing key is unknown")
        claims = self._decode(token, key)
        try:
            role = parse_role(str(claims.get("role", "")))
        except ValueError as exc:
            raise Unauthenticated(reasons.TOKEN_CLAIMS_INVALID, "the access token has no valid role") from exc
        households = claims.get("households", [])
        subject = claims["sub"]
        if (
            not isinstance(subject, str)
            or not subject
            or not isinstance(households, list)
            or not all(isinstance(h, str) for h in households)
        ):
            raise Unauthenticated(reasons.TOKEN_CLAIMS_INVALID, "the access token's claims are malformed")
        sid = claims.get("sid", "")
        if not isinstance(sid, str):
            raise Unauthenticated(reasons.TOKEN_CLAIMS_INVALID, "the access token's sid is not a string")
        await self._check_revoked(subject, int(claims["iat"]), sid)
        who = Caller(
            subject,
            role,
            frozenset(households),
            str(claims.get("jti", "")),
            valid_until=float(claims["exp"]) + self._leeway_s,
        )
        return who, _Verified(who, kid, float(claims["exp"]), int(claims["iat"]), sid)

    def _decode(self, token: str, key: Ed25519PublicKey) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                # Times are checked below against the injected clock (testable, one leeway).
                options={
                    "require": ["exp", "nbf", "iat", "iss", "aud", "sub"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "strict_aud": True,
                },
            )
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated(
                reasons.TOKEN_AUDIENCE_INVALID, "the access token is for another audience"
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated(
                reasons.TOKEN_ISSUER_INVALID, "the access token has an unknown issuer"
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthenticated(
                reasons.TOKEN_SIGNATURE_INVALID, "the access token's signature is invalid"
            ) from exc
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(
                reasons.TOKEN_CLAIMS_INVALID, f"the access token lacks {exc.claim!r}"
            ) from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(reasons.TOKEN_INVALID, "the access token is invalid") from exc
        times = [claims[name] for name in ("exp", "nbf", "iat")]
        if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in times):
            raise Unauthenticated(reasons.TOKEN_CLAIMS_INVALID, "exp, nbf and iat must be numbers")
        exp, nbf, iat = times
        now = self._clock()
        if now >= exp + self._leeway_s:
            raise Unauthenticated(reasons.TOKEN_EXPIRED, "the access token has expired")
        if nbf > now + self._leeway_s or iat > now + self._leeway_s:
            raise Unauthenticated(reasons.TOKEN_NOT_YET_VALID, "the access token is not valid yet")
        return claims


def bearer_token(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | None:
    """The token of the single ``authorization: Bearer`` entry; None when absent."""
    values = [v for k, v in (metadata or ()) if k.lower() == "authorization"]
    if not values:
        return None
    if len(values) > 1:
        raise Unauthenticated(reasons.TOKEN_MALFORMED, "more than one authorization header")
    value = values[0].decode() if isinstance(values[0], bytes) else values[0]
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(reasons.TOKEN_MALFORMED, "the authorization header is not 'Bearer <token>'")
    return token.strip()
