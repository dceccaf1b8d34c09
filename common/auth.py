"""Token verification and per-RPC authorisation shared by every service.

One ``grpc.aio`` server interceptor (:class:`AuthInterceptor`) protects every service, so native
gRPC clients that bypass Envoy meet the same checks as browsers behind it:

* the ``authorization: Bearer <jwt>`` metadata is verified by :class:`TokenVerifier`: only
  ``EdDSA`` is accepted (``none``, ``HS*`` and every other algorithm are refused before any key is
  touched, which rules out algorithm confusion), the ``kid`` must name a key of auth_svc's JWKS,
  and ``exp``, ``nbf``, ``iat``, ``iss``, ``aud`` and ``sub`` are required and checked;
* revocation: auth_svc publishes a revocation list (disabled accounts, and "tokens issued before
  T" after a password reset, role change or unlinked household). Services cache it for
  ``max_age_s`` (default 5 s): that is the window in which a disabled user's access token still
  works on a service other than auth_svc (auth_svc itself checks its database on every call).
  Access tokens live 5 minutes, bounding the window even if the list cannot be fetched;
* the rule of each RPC is read once, at construction, from the ``(energypulse.options.v1.access)``
  method option in the contract; an RPC without a rule is refused (fail closed);
* ``household_field``: a ``user`` may only name a household listed in their token; admins and
  service accounts may name any.

Servicers read the caller with :func:`caller`. Service accounts (ingest, meter_sim) get and renew
their token with :class:`ServiceCredentials`.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import inspect
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf.descriptor import ServiceDescriptor

from common.errors import EnergyPulseError, PermissionDenied, Unauthenticated, Unavailable, to_rpc_status
from common.log import get_logger

__all__ = [
    "ALGORITHM",
    "PUBLIC_SERVICES",
    "AccessLevel",
    "AccessRule",
    "AuthInterceptor",
    "CachedRevocations",
    "Caller",
    "IssuedToken",
    "JwksKeySource",
    "KeySource",
    "NoRevocations",
    "Revocation",
    "RevocationSource",
    "Role",
    "ServiceCredentials",
    "StaticKeySource",
    "TokenVerifier",
    "bearer_token",
    "caller",
    "current_caller",
    "parse_jwks",
    "remote_verifier",
    "rules_from_services",
    "subject_hash",
]

log = get_logger(__name__)

ALGORITHM = "EdDSA"
# auth_svc's defaults (EP_AUTH_ISSUER / EP_AUTH_AUDIENCE); every verifier must use the same.
DEFAULT_ISSUER = "energypulse-auth"
DEFAULT_AUDIENCE = "energypulse"
MAX_TOKEN_BYTES = 8192
# Reachable without a token: health checks and reflection (grpcurl list/describe).
PUBLIC_SERVICES = (
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)


class Role(enum.StrEnum):
    ADMIN = "admin"
    USER = "user"
    SERVICE = "service"


@dataclass(frozen=True)
class Caller:
    """The verified principal of the current RPC."""

    subject: str
    role: Role
    households: frozenset[str] = frozenset()
    token_id: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_access_household(self, household_id: str) -> bool:
        """Admins and service accounts act on any household, users on their own."""
        if self.role is Role.USER:
            return bool(household_id) and household_id in self.households
        return True

    def require_household(self, household_id: str) -> None:
        if not self.may_access_household(household_id):
            raise PermissionDenied("HOUSEHOLD_NOT_PERMITTED", "the caller may not act on this household")


_CALLER: ContextVar[Caller | None] = ContextVar("energypulse_caller", default=None)


def current_caller() -> Caller | None:
    """The caller of the RPC being handled, or None on a public RPC."""
    return _CALLER.get()


def caller(context: object | None = None) -> Caller:
    """The verified caller of the current RPC (set by :class:`AuthInterceptor`).

    ``context`` is accepted so servicers read naturally (``caller(context)``); the value comes
    from a context variable scoped to the RPC's task.
    """
    found = _CALLER.get()
    if found is None:
        raise Unauthenticated("AUTHENTICATION_REQUIRED", "this call needs a signed-in caller")
    return found


# --- access rules ---------------------------------------------------------------------------


class AccessLevel(enum.IntEnum):
    """Mirrors ``energypulse.options.v1.AccessLevel``."""

    UNSPECIFIED = 0
    PUBLIC = 1
    AUTHENTICATED = 2
    ADMIN = 3
    SERVICE = 4


@dataclass(frozen=True)
class AccessRule:
    level: AccessLevel
    household_field: str = ""

    def allows(self, role: Role) -> bool:
        if self.level is AccessLevel.AUTHENTICATED:
            return True
        if self.level is AccessLevel.ADMIN:
            return role is Role.ADMIN
        if self.level is AccessLevel.SERVICE:
            return role in (Role.ADMIN, Role.SERVICE)
        return False


def rules_from_services(services: Iterable[ServiceDescriptor]) -> dict[str, AccessRule]:
    """``/pkg.Service/Method`` -> rule, read from each method's ``access`` option."""
    from energypulse.options.v1 import options_pb2

    rules: dict[str, AccessRule] = {}
    for service in services:
        for method in service.methods:
            options = method.GetOptions()
            rule = AccessRule(AccessLevel.UNSPECIFIED)
            if options.HasExtension(options_pb2.access):
                declared = options.Extensions[options_pb2.access]
                rule = AccessRule(AccessLevel(declared.level), declared.household_field)
                if rule.household_field and rule.household_field not in method.input_type.fields_by_name:
                    raise ValueError(
                        f"{method.full_name}: household_field {rule.household_field!r} is not a "
                        f"field of {method.input_type.full_name}"
                    )
            rules[f"/{service.full_name}/{method.name}"] = rule
    return rules


# --- keys -----------------------------------------------------------------------------------


def subject_hash(subject: str) -> str:
    return hashlib.sha256(subject.encode()).hexdigest()


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


class KeySource:
    """Where verification keys come from."""

    async def keys(self, *, refresh: bool = False) -> Mapping[str, Ed25519PublicKey]:
        raise NotImplementedError


class StaticKeySource(KeySource):
    """Keys from a local callable: auth_svc uses its own key ring this way."""

    def __init__(self, provider: Callable[[], Mapping[str, Ed25519PublicKey]]) -> None:
        self._provider = provider

    async def keys(self, *, refresh: bool = False) -> Mapping[str, Ed25519PublicKey]:
        return self._provider()


class JwksKeySource(KeySource):
    """auth_svc's JWKS, cached; refetched when stale or when a token names an unknown kid.

    Refetching on an unknown kid is throttled (``min_refresh_s``) so a flood of tokens with made-up
    kids cannot turn into a flood of calls to auth_svc.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Sequence[Mapping[str, str]]]],
        *,
        max_age_s: float = 300.0,
        min_refresh_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age_s = max_age_s
        self._min_refresh_s = min_refresh_s
        self._clock = clock
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def keys(self, *, refresh: bool = False) -> Mapping[str, Ed25519PublicKey]:
        async with self._lock:
            age = self._clock() - self._fetched_at
            if age >= self._max_age_s or (refresh and age >= self._min_refresh_s):
                try:
                    self._keys = parse_jwks(await self._fetch())
                    self._fetched_at = self._clock()
                except (TimeoutError, grpc.RpcError, OSError) as exc:
                    log.warning("jwks_fetch_failed", error=str(exc))
                    if not self._keys:
                        raise Unavailable("AUTH_KEYS_UNAVAILABLE", "cannot fetch signing keys") from exc
            return self._keys


# --- revocations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Revocation:
    not_before: int
    disabled: bool = False


class RevocationSource:
    async def revocations(self) -> Mapping[str, Revocation]:
        """subject_hash -> revocation."""
        raise NotImplementedError


class NoRevocations(RevocationSource):
    async def revocations(self) -> Mapping[str, Revocation]:
        return {}


class CachedRevocations(RevocationSource):
    """A revocation list fetched at most every ``max_age_s``.

    If auth_svc cannot be reached the last list keeps being used for ``max_stale_s`` (an access
    token's lifetime); after that calls fail closed with UNAVAILABLE.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Mapping[str, Revocation]]],
        *,
        max_age_s: float = 5.0,
        max_stale_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age_s = max_age_s
        self._max_stale_s = max_stale_s
        self._clock = clock
        self._list: Mapping[str, Revocation] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def revocations(self) -> Mapping[str, Revocation]:
        async with self._lock:
            age = self._clock() - self._fetched_at
            if age >= self._max_age_s:
                try:
                    self._list = dict(await self._fetch())
                    self._fetched_at = self._clock()
                except (TimeoutError, grpc.RpcError, OSError) as exc:
                    log.warning("revocations_fetch_failed", error=str(exc))
                    if age >= self._max_stale_s:
                        raise Unavailable(
                            "AUTH_REVOCATIONS_UNAVAILABLE", "cannot fetch the revocation list"
                        ) from exc
            return self._list


# --- verification ---------------------------------------------------------------------------


def _reject(reason: str, message: str) -> Unauthenticated:
    return Unauthenticated(reason, message)


@dataclass(frozen=True, slots=True)
class _Verified:
    """What a verified token established (see TokenVerifier's cache)."""

    caller: Caller
    kid: str
    exp: float
    iat: int


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

    async def verify(self, token: str) -> Caller:
        cached = self._verified.get(token)
        if cached is not None:
            if self._clock() < cached.exp + self._leeway_s and cached.kid in await self._keys.keys():
                self._verified.move_to_end(token)
                await self._check_revoked(cached.caller.subject, cached.iat)
                return cached.caller
            self._verified.pop(token, None)  # expired or key withdrawn: the full path decides
        caller, verified = await self._verify_uncached(token)
        if self._cache_size > 0:
            self._verified[token] = verified
            while len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return caller

    async def _check_revoked(self, subject: str, iat: int) -> None:
        revoked = (await self._revocations.revocations()).get(subject_hash(subject))
        if revoked is not None and (revoked.disabled or iat < revoked.not_before):
            raise _reject("TOKEN_REVOKED", "the access token has been revoked")

    async def _verify_uncached(self, token: str) -> tuple[Caller, _Verified]:
        if not token or len(token) > MAX_TOKEN_BYTES:
            raise _reject("TOKEN_MALFORMED", "the access token is empty or too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise _reject("TOKEN_MALFORMED", "the access token is not a JWT") from exc
        # Checked before any key is looked up: "none", HS256 keyed with the public key and any
        # other algorithm never reach signature verification.
        if header.get("alg") != ALGORITHM:
            raise _reject("TOKEN_ALGORITHM_REJECTED", "only EdDSA-signed tokens are accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _reject("TOKEN_KID_MISSING", "the access token has no key id")
        keys = await self._keys.keys()
        if kid not in keys:
            keys = await self._keys.keys(refresh=True)
        key = keys.get(kid)
        if key is None:
            raise _reject("TOKEN_KID_UNKNOWN", "the access token's signing key is unknown")
        claims = self._decode(token, key)
        try:
            role = Role(str(claims.get("role", "")))
        except ValueError as exc:
            raise _reject("TOKEN_CLAIMS_INVALID", "the access token has no valid role") from exc
        households = claims.get("households", [])
        subject = claims["sub"]
        if (
            not isinstance(subject, str)
            or not subject
            or not isinstance(households, list)
            or not all(isinstance(h, str) for h in households)
        ):
            raise _reject("TOKEN_CLAIMS_INVALID", "the access token's claims are malformed")
        await self._check_revoked(subject, int(claims["iat"]))
        who = Caller(subject, role, frozenset(households), str(claims.get("jti", "")))
        return who, _Verified(who, kid, float(claims["exp"]), int(claims["iat"]))

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
            raise _reject("TOKEN_AUDIENCE_INVALID", "the access token is for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise _reject("TOKEN_ISSUER_INVALID", "the access token has an unknown issuer") from exc
        except jwt.InvalidSignatureError as exc:
            raise _reject("TOKEN_SIGNATURE_INVALID", "the access token's signature is invalid") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise _reject("TOKEN_CLAIMS_INVALID", f"the access token lacks {exc.claim!r}") from exc
        except jwt.InvalidTokenError as exc:
            raise _reject("TOKEN_INVALID", "the access token is invalid") from exc
        times = [claims[name] for name in ("exp", "nbf", "iat")]
        if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in times):
            raise _reject("TOKEN_CLAIMS_INVALID", "exp, nbf and iat must be numbers")
        exp, nbf, iat = times
        now = self._clock()
        if now >= exp + self._leeway_s:
            raise _reject("TOKEN_EXPIRED", "the access token has expired")
        if nbf > now + self._leeway_s or iat > now + self._leeway_s:
            raise _reject("TOKEN_NOT_YET_VALID", "the access token is not valid yet")
        return claims


def bearer_token(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | None:
    """The token of the single ``authorization: Bearer`` entry; None when absent."""
    values = [v for k, v in (metadata or ()) if k.lower() == "authorization"]
    if not values:
        return None
    if len(values) > 1:
        raise _reject("TOKEN_MALFORMED", "more than one authorization header")
    value = values[0].decode() if isinstance(values[0], bytes) else values[0]
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _reject("TOKEN_MALFORMED", "the authorization header is not 'Bearer <token>'")
    return token.strip()


def remote_verifier(
    channel: grpc.aio.Channel | str,
    *,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    revocations_max_age_s: float = 5.0,
    access_ttl_s: float = 300.0,
    clock: Callable[[], float] = time.time,
) -> TokenVerifier:
    """A verifier for services other than auth_svc: keys and revocations come from auth_svc.

    ``channel`` may be a target string ("host:port"): the channel is then made on first use,
    inside the server's event loop (a grpc.aio channel made before ``asyncio.run`` is bound to
    another loop and fails with "attached to a different loop").
    """
    from common.channels import make_channel
    from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc

    stubs: list[auth_service_pb2_grpc.AuthServiceStub] = []

    def stub_now() -> auth_service_pb2_grpc.AuthServiceStub:
        if not stubs:
            stubs.append(
                auth_service_pb2_grpc.AuthServiceStub(
                    make_channel(channel) if isinstance(channel, str) else channel
                )
            )
        return stubs[0]

    async def fetch_keys() -> list[dict[str, str]]:
        response = await stub_now().GetJwks(auth_service_pb2.GetJwksRequest(), timeout=5)
        return [
            {"kty": k.kty, "crv": k.crv, "x": k.x, "kid": k.kid, "alg": k.alg, "use": k.use}
            for k in response.keys
        ]

    async def fetch_revocations() -> dict[str, Revocation]:
        response = await stub_now().GetRevocations(auth_service_pb2.GetRevocationsRequest(), timeout=5)
        return {r.subject_sha256: Revocation(r.not_before, r.disabled) for r in response.revocations}

    return TokenVerifier(
        JwksKeySource(fetch_keys),
        issuer=issuer,
        audience=audience,
        revocations=CachedRevocations(
            fetch_revocations, max_age_s=revocations_max_age_s, max_stale_s=access_ttl_s
        ),
        clock=clock,
    )


# --- the server interceptor -----------------------------------------------------------------


async def _abort(context: grpc.aio.ServicerContext[Any, Any], error: EnergyPulseError) -> None:
    status = to_rpc_status(error)
    await context.abort(status.code, status.details, status.trailing_metadata)


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Authenticates and authorises every RPC according to its declared :class:`AccessRule`.

    Build it with ``AuthInterceptor(verifier, rules_from_services(descriptors))``.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        rules: Mapping[str, AccessRule],
        *,
        public_services: Sequence[str] = PUBLIC_SERVICES,
    ) -> None:
        self._verifier = verifier
        self._rules = dict(rules)
        self._public_prefixes = tuple(f"/{name}/" for name in public_services)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or method.startswith(self._public_prefixes):
            return handler
        rule = self._rules.get(method, AccessRule(AccessLevel.UNSPECIFIED))
        if rule.level is AccessLevel.PUBLIC:
            return handler
        metadata = tuple(details.invocation_metadata or ())
        return _wrap(handler, lambda: self._authenticate(rule, metadata), rule.household_field)

    async def _authenticate(self, rule: AccessRule, metadata: Sequence[tuple[str, Any]]) -> Caller:
        if rule.level is AccessLevel.UNSPECIFIED:
            raise PermissionDenied("METHOD_ACCESS_UNDECLARED", "this RPC declares no access rule")
        token = bearer_token(metadata)
        if token is None:
            raise Unauthenticated("AUTHENTICATION_REQUIRED", "this call needs a bearer token")
        who = await self._verifier.verify(token)
        if not rule.allows(who.role):
            raise PermissionDenied("ROLE_NOT_PERMITTED", "the caller's role may not call this RPC")
        return who


def remote_auth_interceptor(
    services: Iterable[ServiceDescriptor],
    auth_channel: grpc.aio.Channel | str,
    *,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
) -> AuthInterceptor:
    """The interceptor every service other than auth_svc installs.

    ``services`` are the descriptors the server registers (their access options are read now);
    ``auth_channel`` reaches auth_svc (``common.channels.make_channel(EP_<SVC>_AUTH_ADDR)``).
    """
    return AuthInterceptor(
        remote_verifier(auth_channel, issuer=issuer, audience=audience), rules_from_services(services)
    )


def _check_household(who: Caller, field_name: str, request: Any) -> None:
    if field_name:
        who.require_household(str(getattr(request, field_name, "")))


def _wrap(
    handler: grpc.RpcMethodHandler,
    authenticate: Callable[[], Awaitable[Caller]],
    household_field: str,
) -> grpc.RpcMethodHandler:
    """The same handler, running ``authenticate`` (and the household check) before the behaviour.

    Unary-request RPCs raise the typed error, which common.server's error interceptor maps to a
    status with ErrorInfo; stream-request RPCs (not wrapped by that interceptor) abort here.
    """

    async def admit(request: Any) -> Caller:
        who = await authenticate()
        if request is not None:
            _check_household(who, household_field, request)
        return who

    async def call(behavior: Callable[..., Any], request: Any, context: Any) -> Any:
        result = behavior(request, context)
        return await result if inspect.isawaitable(result) else result

    async def admit_stream(context: Any) -> Caller:
        try:
            return await admit(None)
        except EnergyPulseError as error:
            await _abort(context, error)
            raise  # unreachable: abort raises

    def checked(requests: AsyncIterator[Any], who: Caller, context: Any) -> AsyncIterator[Any]:
        async def gen() -> AsyncIterator[Any]:
            async for item in requests:
                try:
                    _check_household(who, household_field, item)
                except EnergyPulseError as error:
                    await _abort(context, error)
                yield item

        return gen()

    def unary_in(behavior: Callable[..., Any], streaming_out: bool) -> Callable[..., Any]:
        if streaming_out and inspect.isasyncgenfunction(behavior):

            async def stream_gen(request: Any, context: Any) -> AsyncIterator[Any]:
                token = _CALLER.set(await admit(request))
                try:
                    async for item in behavior(request, context):
                        yield item
                finally:
                    _CALLER.reset(token)

            return stream_gen

        async def unary(request: Any, context: Any) -> Any:
            token = _CALLER.set(await admit(request))
            try:
                return await call(behavior, request, context)
            finally:
                _CALLER.reset(token)

        return unary

    def stream_in(behavior: Callable[..., Any], streaming_out: bool) -> Callable[..., Any]:
        if streaming_out and inspect.isasyncgenfunction(behavior):

            async def stream_gen(requests: Any, context: Any) -> AsyncIterator[Any]:
                who = await admit_stream(context)
                token = _CALLER.set(who)
                try:
                    async for item in behavior(checked(requests, who, context), context):
                        yield item
                finally:
                    _CALLER.reset(token)

            return stream_gen

        async def unary(requests: Any, context: Any) -> Any:
            who = await admit_stream(context)
            token = _CALLER.set(who)
            try:
                return await call(behavior, checked(requests, who, context), context)
            finally:
                _CALLER.reset(token)

        return unary

    if handler.unary_unary is not None:
        return handler._replace(unary_unary=unary_in(handler.unary_unary, False))
    if handler.unary_stream is not None:
        return handler._replace(unary_stream=unary_in(handler.unary_stream, True))
    if handler.stream_unary is not None:
        return handler._replace(stream_unary=stream_in(handler.stream_unary, False))
    return handler._replace(stream_stream=stream_in(handler.stream_stream, True))


# --- client side: service accounts ----------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_at: float  # UNIX seconds


@dataclass
class ServiceCredentials:
    """A service account's access token, fetched on first use and renewed before it expires.

    ``fetch`` logs in (see :meth:`for_auth_service`). Use ``await creds.metadata()`` per call, or
    ``creds.client_interceptors()`` when creating an aio channel so every call carries the token.
    """

    fetch: Callable[[], Awaitable[IssuedToken]]
    renew_before_s: float = 60.0
    clock: Callable[[], float] = time.time
    _current: IssuedToken | None = field(default=None, init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    @classmethod
    def for_auth_service(
        cls, channel: grpc.aio.Channel | str, username: str, secret: str, **kwargs: Any
    ) -> ServiceCredentials:
        """Credentials that log in to auth_svc over ``channel`` with a client secret.

        A target string makes the channel on first use, inside the running event loop.
        """
        from common.channels import make_channel
        from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc

        stubs: list[auth_service_pb2_grpc.AuthServiceStub] = []

        async def fetch() -> IssuedToken:
            if not stubs:
                stubs.append(
                    auth_service_pb2_grpc.AuthServiceStub(
                        make_channel(channel) if isinstance(channel, str) else channel
                    )
                )
            response = await stubs[0].Login(
                auth_service_pb2.LoginRequest(username=username, password=secret), timeout=10
            )
            expires = response.tokens.access_token_expire_time
            return IssuedToken(response.tokens.access_token, expires.seconds + expires.nanos / 1e9)

        return cls(fetch, **kwargs)

    async def token(self) -> str:
        async with self._lock:
            current = self._current
            if current is None or current.expires_at - self.renew_before_s <= self.clock():
                current = self._current = await self.fetch()
            return current.access_token

    def invalidate(self) -> None:
        """Forget the token (e.g. after an UNAUTHENTICATED reply); the next call logs in again."""
        self._current = None

    async def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {await self.token()}"),)

    def client_interceptors(self) -> list[grpc.aio.ClientInterceptor]:
        return [
            _BearerUnaryUnary(self),
            _BearerUnaryStream(self),
            _BearerStreamUnary(self),
            _BearerStreamStream(self),
        ]


async def _with_token(creds: ServiceCredentials, details: grpc.aio.ClientCallDetails) -> Any:
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    metadata["authorization"] = f"Bearer {await creds.token()}"
    return details._replace(metadata=metadata)


class _BearerUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, creds: ServiceCredentials) -> None:
        self._creds = creds

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(await _with_token(self._creds, details), request)


class _BearerUnaryStream(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, creds: ServiceCredentials) -> None:
        self._creds = creds

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(await _with_token(self._creds, details), request)


class _BearerStreamUnary(grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, creds: ServiceCredentials) -> None:
        self._creds = creds

    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(await _with_token(self._creds, details), requests)


class _BearerStreamStream(grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, creds: ServiceCredentials) -> None:
        self._creds = creds

    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(await _with_token(self._creds, details), requests)
