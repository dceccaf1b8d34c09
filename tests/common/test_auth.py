"""common.auth: token verification, the shared interceptor (via a real gRPC server) and the
service-account client helper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from auth_svc.testing import BAD_TOKEN_KINDS, TokenFactory
from common.auth import (
    AccessLevel,
    AuthInterceptor,
    CachedRevocations,
    Caller,
    IssuedToken,
    JwksKeySource,
    Revocation,
    Role,
    ServiceCredentials,
    StaticKeySource,
    TokenVerifier,
    bearer_token,
    caller,
    parse_jwks,
    rules_from_services,
    subject_hash,
)
from common.errors import EnergyPulseError, Unauthenticated, error_info
from common.server import GrpcService, ServerConfig, start_server
from energypulse.auth.v1 import auth_service_pb2
from energypulse.telemetry.v1 import telemetry_service_pb2 as tpb
from energypulse.telemetry.v1 import telemetry_service_pb2_grpc as tgrpc

NOW = 1_750_000_000.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FixedRevocations(CachedRevocations):
    def __init__(self, entries: Mapping[str, Revocation]) -> None:
        async def fetch() -> Mapping[str, Revocation]:
            return entries

        super().__init__(fetch, max_age_s=0)


def make_verifier(factory: TokenFactory, clock: Clock, **kwargs: object) -> TokenVerifier:
    return TokenVerifier(
        StaticKeySource(lambda: {factory.kid: factory.public_key}),
        issuer=factory.issuer,
        audience=factory.audience,
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


# --- TokenVerifier --------------------------------------------------------------------------


async def test_valid_token_yields_caller() -> None:
    factory, clock = TokenFactory(), Clock()
    token = factory.token(subject="household-0001", households=["h1", "h2"], now=clock.now)
    who = await make_verifier(factory, clock).verify(token)
    assert who.subject == "household-0001"
    assert who.role is Role.USER
    assert who.households == frozenset({"h1", "h2"})
    assert who.token_id


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
async def test_bad_tokens_are_unauthenticated(kind: str) -> None:
    factory, clock = TokenFactory(), Clock()
    token = factory.bad(now=clock.now)[kind]
    with pytest.raises(Unauthenticated) as raised:
        await make_verifier(factory, clock).verify(token)
    expected = {
        "alg_none": "TOKEN_ALGORITHM_REJECTED",
        "hs256_public_key": "TOKEN_ALGORITHM_REJECTED",
        "hs256_public_key_raw": "TOKEN_ALGORITHM_REJECTED",
        "expired": "TOKEN_EXPIRED",
        "not_yet_valid": "TOKEN_NOT_YET_VALID",
        "wrong_audience": "TOKEN_AUDIENCE_INVALID",
        "wrong_issuer": "TOKEN_ISSUER_INVALID",
        "unknown_kid": "TOKEN_KID_UNKNOWN",
        "no_kid": "TOKEN_KID_MISSING",
        "tampered_payload": "TOKEN_SIGNATURE_INVALID",
        "signed_by_other_key": "TOKEN_SIGNATURE_INVALID",
        "missing_exp": "TOKEN_CLAIMS_INVALID",
    }
    assert raised.value.reason == expected[kind]


async def test_expiry_follows_the_injected_clock_with_leeway() -> None:
    factory, clock = TokenFactory(), Clock()
    token = factory.token(now=clock.now, ttl_s=300)
    verifier = make_verifier(factory, clock, leeway_s=30)
    clock.now += 300 + 29
    assert (await verifier.verify(token)).subject == "household-0001"
    clock.now += 1
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier.verify(token)


async def test_verified_tokens_are_cached_but_expiry_keys_and_revocation_still_apply() -> None:
    factory, clock = TokenFactory(), Clock()
    keys = {factory.kid: factory.public_key}
    entries: dict[str, Revocation] = {}
    verifier = TokenVerifier(
        StaticKeySource(lambda: keys),
        issuer=factory.issuer,
        audience=factory.audience,
        clock=clock,
        revocations=FixedRevocations(entries),
        leeway_s=30,
        cache_size=2,
    )
    token = factory.token(subject="alice", now=clock.now, ttl_s=300)
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first  # served from the cache
    entries[subject_hash("alice")] = Revocation(not_before=int(clock.now) + 1)
    with pytest.raises(Unauthenticated, match="revoked"):
        await verifier.verify(token)  # revocation is checked on every call, cached or not
    entries.clear()
    keys.clear()  # the signing key was withdrawn: a cached token must not outlive it
    with pytest.raises(Unauthenticated) as raised:
        await verifier.verify(token)
    assert raised.value.reason == "TOKEN_KID_UNKNOWN"
    keys[factory.kid] = factory.public_key
    assert (await verifier.verify(token)).subject == "alice"
    clock.now += 300 + 30
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier.verify(token)  # expiry is checked on a cache hit too
    # Bounded: the least recently used entry goes first; an evicted token still verifies.
    tokens = [factory.token(subject=f"user-{i}", now=clock.now) for i in range(3)]
    for t in tokens:
        await verifier.verify(t)
    assert len(verifier._verified) == 2 and tokens[0] not in verifier._verified
    assert (await verifier.verify(tokens[0])).subject == "user-0"


async def test_garbage_and_oversized_tokens_are_malformed() -> None:
    factory, clock = TokenFactory(), Clock()
    verifier = make_verifier(factory, clock)
    for token in ("", "not-a-jwt", "a.b.c", "x" * 9000):
        with pytest.raises(Unauthenticated) as raised:
            await verifier.verify(token)
        assert raised.value.reason == "TOKEN_MALFORMED"


async def test_unknown_role_claim_is_rejected() -> None:
    factory, clock = TokenFactory(), Clock()
    token = factory.token(role="root", now=clock.now)
    with pytest.raises(Unauthenticated) as raised:
        await make_verifier(factory, clock).verify(token)
    assert raised.value.reason == "TOKEN_CLAIMS_INVALID"


async def test_revoked_and_disabled_subjects_are_rejected() -> None:
    factory, clock = TokenFactory(), Clock()
    old = factory.token(subject="alice", now=clock.now)
    fresh = factory.token(subject="alice", now=clock.now + 5)
    other = factory.token(subject="bob", now=clock.now)
    revocations = {subject_hash("alice"): Revocation(not_before=int(clock.now) + 1)}
    verifier = make_verifier(factory, clock, revocations=FixedRevocations(revocations))
    clock.now += 10
    with pytest.raises(Unauthenticated, match="revoked"):
        await verifier.verify(old)
    assert (await verifier.verify(fresh)).subject == "alice"
    assert (await verifier.verify(other)).subject == "bob"
    disabled = make_verifier(
        factory, clock, revocations=FixedRevocations({subject_hash("alice"): Revocation(0, True)})
    )
    with pytest.raises(Unauthenticated, match="revoked"):
        await disabled.verify(fresh)


async def test_jwks_source_refetches_on_unknown_kid_but_throttled() -> None:
    first, second = TokenFactory(), TokenFactory()
    published = [first.jwk()]
    fetches = 0

    async def fetch() -> list[dict[str, str]]:
        nonlocal fetches
        fetches += 1
        return list(published)

    mono = Clock(0.0)
    source = JwksKeySource(fetch, max_age_s=300, min_refresh_s=5, clock=mono)
    wall = Clock()
    verifier = TokenVerifier(source, issuer=first.issuer, audience=first.audience, clock=wall)
    await verifier.verify(first.token(now=wall.now))
    assert fetches == 1
    # A new key appears (rotation): the unknown kid triggers one refetch once throttling allows.
    published.append(second.jwk())
    mono.now = 1.0
    with pytest.raises(Unauthenticated, match="unknown"):
        await verifier.verify(second.token(now=wall.now))
    assert fetches == 1  # throttled: a flood of unknown kids does not hammer auth_svc
    mono.now = 6.0
    await verifier.verify(second.token(now=wall.now))
    assert fetches == 2


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


def test_bearer_token_parsing() -> None:
    assert bearer_token([("authorization", "Bearer abc")]) == "abc"
    assert bearer_token([("authorization", "bearer  abc ")]) == "abc"
    assert bearer_token([("x-other", "1")]) is None
    for bad in ([("authorization", "Basic abc")], [("authorization", "Bearer ")]):
        with pytest.raises(Unauthenticated):
            bearer_token(bad)
    with pytest.raises(Unauthenticated):
        bearer_token([("authorization", "Bearer a"), ("authorization", "Bearer b")])


def test_rules_are_read_from_the_contract() -> None:
    telemetry = tpb.DESCRIPTOR.services_by_name["TelemetryService"]
    auth = auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"]
    rules = rules_from_services([telemetry, auth])
    summary = rules["/energypulse.telemetry.v1.TelemetryService/GetHouseholdSummary"]
    assert summary.level is AccessLevel.AUTHENTICATED
    assert summary.household_field == "household_id"
    assert rules["/energypulse.telemetry.v1.TelemetryService/GetGridStats"].level is AccessLevel.ADMIN
    assert rules["/energypulse.auth.v1.AuthService/Login"].level is AccessLevel.PUBLIC
    assert rules["/energypulse.auth.v1.AuthService/ListUsers"].level is AccessLevel.ADMIN


def test_caller_household_rules() -> None:
    user = Caller("u", Role.USER, frozenset({"h1"}))
    assert user.may_access_household("h1")
    assert not user.may_access_household("h2")
    assert not user.may_access_household("")
    assert Caller("a", Role.ADMIN).may_access_household("h2")
    assert Caller("s", Role.SERVICE).may_access_household("h2")


# --- the interceptor on a real server -------------------------------------------------------


class TelemetryProbe(tgrpc.TelemetryServiceServicer):
    """Records which caller each handler saw."""

    def __init__(self) -> None:
        self.seen: list[Caller] = []

    async def GetHouseholdSummary(
        self, request: tpb.GetHouseholdSummaryRequest, context: object
    ) -> tpb.GetHouseholdSummaryResponse:
        self.seen.append(caller(context))
        return tpb.GetHouseholdSummaryResponse(household_id=request.household_id)

    async def StreamReadings(
        self, request: tpb.StreamReadingsRequest, context: object
    ) -> AsyncIterator[tpb.StreamReadingsResponse]:
        for _ in range(2):
            self.seen.append(caller(context))
            yield tpb.StreamReadingsResponse()

    async def GetGridStats(
        self, request: tpb.GetGridStatsRequest, context: object
    ) -> tpb.GetGridStatsResponse:
        self.seen.append(caller(context))
        return tpb.GetGridStatsResponse(readings_stored=7)

    async def RegisterHouseholds(
        self, request: tpb.RegisterHouseholdsRequest, context: object
    ) -> tpb.RegisterHouseholdsResponse:
        self.seen.append(caller(context))
        return tpb.RegisterHouseholdsResponse()


@pytest.fixture
async def telemetry() -> AsyncIterator[tuple[TokenFactory, TelemetryProbe, grpc.aio.Channel]]:
    factory = TokenFactory()
    probe = TelemetryProbe()
    descriptor = tpb.DESCRIPTOR.services_by_name["TelemetryService"]
    verifier = TokenVerifier(
        StaticKeySource(lambda: {factory.kid: factory.public_key}),
        issuer=factory.issuer,
        audience=factory.audience,
    )
    running = await start_server(
        ServerConfig(port=0),
        [GrpcService(descriptor, tgrpc.add_TelemetryServiceServicer_to_server, probe)],
        [AuthInterceptor(verifier, rules_from_services([descriptor]))],
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    yield factory, probe, channel
    await channel.close()
    await running.stop(None)


def _auth(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def _code(call: object) -> tuple[grpc.StatusCode, str]:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        info = error_info(error)
        return error.code(), info.reason if info else ""
    return grpc.StatusCode.OK, ""


async def test_interceptor_admits_owner_and_sets_caller(telemetry) -> None:  # type: ignore[no-untyped-def]
    factory, probe, channel = telemetry
    stub = tgrpc.TelemetryServiceStub(channel)
    token = factory.token(subject="household-0001", households=["h1"])
    reply = await stub.GetHouseholdSummary(
        tpb.GetHouseholdSummaryRequest(household_id="h1"), metadata=_auth(token)
    )
    assert reply.household_id == "h1"
    assert probe.seen[-1].subject == "household-0001"


async def test_interceptor_rejects_missing_and_bad_tokens(telemetry) -> None:  # type: ignore[no-untyped-def]
    factory, probe, channel = telemetry
    stub = tgrpc.TelemetryServiceStub(channel)
    request = tpb.GetHouseholdSummaryRequest(household_id="household-0001")
    assert await _code(stub.GetHouseholdSummary(request)) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "AUTHENTICATION_REQUIRED",
    )
    for kind, token in factory.bad().items():
        code, reason = await _code(stub.GetHouseholdSummary(request, metadata=_auth(token)))
        assert code is grpc.StatusCode.UNAUTHENTICATED, kind
        assert reason.startswith("TOKEN_"), kind
    assert probe.seen == []


async def test_user_on_other_household_and_admin_rpc_is_denied(telemetry) -> None:  # type: ignore[no-untyped-def]
    factory, probe, channel = telemetry
    stub = tgrpc.TelemetryServiceStub(channel)
    user = _auth(factory.token(households=["h1"]))
    assert await _code(
        stub.GetHouseholdSummary(tpb.GetHouseholdSummaryRequest(household_id="h2"), metadata=user)
    ) == (grpc.StatusCode.PERMISSION_DENIED, "HOUSEHOLD_NOT_PERMITTED")
    assert await _code(
        stub.GetHouseholdSummary(tpb.GetHouseholdSummaryRequest(household_id=""), metadata=user)
    ) == (grpc.StatusCode.PERMISSION_DENIED, "HOUSEHOLD_NOT_PERMITTED")
    assert await _code(stub.GetGridStats(tpb.GetGridStatsRequest(), metadata=user)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ROLE_NOT_PERMITTED",
    )
    assert await _code(stub.RegisterHouseholds(tpb.RegisterHouseholdsRequest(), metadata=user)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ROLE_NOT_PERMITTED",
    )
    # A streaming RPC is checked before its first message.
    stream = stub.StreamReadings(tpb.StreamReadingsRequest(household_id="h2"), metadata=user)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for _ in stream:
            pass
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert probe.seen == []


async def test_admin_and_service_roles(telemetry) -> None:  # type: ignore[no-untyped-def]
    factory, probe, channel = telemetry
    stub = tgrpc.TelemetryServiceStub(channel)
    admin = _auth(factory.token(subject="admin", role="admin", households=[]))
    service = _auth(factory.token(subject="meter_sim", role="service", households=[]))
    assert (await stub.GetGridStats(tpb.GetGridStatsRequest(), metadata=admin)).readings_stored == 7
    await stub.GetHouseholdSummary(tpb.GetHouseholdSummaryRequest(household_id="any"), metadata=admin)
    await stub.RegisterHouseholds(tpb.RegisterHouseholdsRequest(), metadata=service)
    assert await _code(stub.GetGridStats(tpb.GetGridStatsRequest(), metadata=service)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ROLE_NOT_PERMITTED",
    )
    assert [c.subject for c in probe.seen] == ["admin", "admin", "meter_sim"]


async def test_streaming_handler_sees_caller(telemetry) -> None:  # type: ignore[no-untyped-def]
    factory, probe, channel = telemetry
    stub = tgrpc.TelemetryServiceStub(channel)
    token = factory.token(subject="household-0001", households=["h1"])
    replies = [
        r
        async for r in stub.StreamReadings(
            tpb.StreamReadingsRequest(household_id="h1"), metadata=_auth(token)
        )
    ]
    assert len(replies) == 2
    assert [c.subject for c in probe.seen] == ["household-0001", "household-0001"]


async def test_health_and_reflection_need_no_token(telemetry) -> None:  # type: ignore[no-untyped-def]
    _factory, _probe, channel = telemetry
    health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = [s.name async for r in responses for s in r.list_services_response.service]
    assert "energypulse.telemetry.v1.TelemetryService" in names


async def test_undeclared_rpc_fails_closed() -> None:
    factory = TokenFactory()
    descriptor = tpb.DESCRIPTOR.services_by_name["TelemetryService"]
    verifier = TokenVerifier(
        StaticKeySource(lambda: {factory.kid: factory.public_key}),
        issuer=factory.issuer,
        audience=factory.audience,
    )
    rules = rules_from_services([descriptor])
    del rules["/energypulse.telemetry.v1.TelemetryService/GetGridStats"]
    running = await start_server(
        ServerConfig(port=0),
        [GrpcService(descriptor, tgrpc.add_TelemetryServiceServicer_to_server, TelemetryProbe())],
        [AuthInterceptor(verifier, rules)],
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = tgrpc.TelemetryServiceStub(channel)
            admin = _auth(factory.token(role="admin"))
            assert await _code(stub.GetGridStats(tpb.GetGridStatsRequest(), metadata=admin)) == (
                grpc.StatusCode.PERMISSION_DENIED,
                "METHOD_ACCESS_UNDECLARED",
            )
    finally:
        await running.stop(None)


def test_caller_outside_an_rpc_is_unauthenticated() -> None:
    with pytest.raises(EnergyPulseError) as raised:
        caller(None)
    assert raised.value.code is grpc.StatusCode.UNAUTHENTICATED


# --- ServiceCredentials ---------------------------------------------------------------------


async def test_service_credentials_cache_and_renew_before_expiry() -> None:
    clock = Clock()
    issued: list[str] = []

    async def fetch() -> IssuedToken:
        issued.append(f"token-{len(issued)}")
        return IssuedToken(issued[-1], clock.now + 300)

    creds = ServiceCredentials(fetch, renew_before_s=60, clock=clock)
    assert await creds.metadata() == (("authorization", "Bearer token-0"),)
    clock.now += 200
    assert await creds.token() == "token-0"
    clock.now += 41  # inside the renewal margin
    assert await creds.token() == "token-1"
    creds.invalidate()
    assert await creds.token() == "token-2"
    results = await asyncio.gather(*(creds.token() for _ in range(5)))
    assert set(results) == {"token-2"}  # concurrent callers share one fetch
