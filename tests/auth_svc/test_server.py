"""auth_svc end to end over native gRPC: a real server on port 0, called through real stubs."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import grpc
import jwt
import pytest
from google.protobuf import symbol_database
from grpc_health.v1 import health_pb2, health_pb2_grpc

from auth_svc.server import SERVICE
from auth_svc.servicer import TrustedProxies, client_address
from auth_svc.testing import TokenFactory, confusion_tokens
from common.auth.access import rules_from_services
from common.auth.credentials import ServiceCredentials
from common.auth.remote import CachedRevocations, remote_verifier
from common.errors import Unauthenticated, error_info
from energypulse.auth.v1 import auth_service_pb2 as pb
from energypulse.auth.v1 import auth_service_pb2_grpc, user_pb2
from energypulse.options.v1 import options_pb2
from tests.auth_svc.conftest import SERVICE_SECRETS, Clock, Server
from tests.demo_accounts import DEMO_ADMIN_PASSWORD, DEMO_USER_PASSWORD


def _auth(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def _status(call: Any) -> tuple[grpc.StatusCode, str, str]:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        info = error_info(error)
        return error.code(), info.reason if info else "", error.details() or ""
    return grpc.StatusCode.OK, "", ""


async def _login(server: Server, username: str, password: str, **kw: Any) -> pb.LoginResponse:
    response: pb.LoginResponse = await server.stub.Login(
        pb.LoginRequest(username=username, password=password), **kw
    )
    return response


async def test_login_and_current_user(server: Server) -> None:
    reply = await _login(server, "household-0001", DEMO_USER_PASSWORD)
    assert reply.user.role == user_pb2.ROLE_USER
    header = jwt.get_unverified_header(reply.tokens.access_token)
    assert header["alg"] == "EdDSA" and header["kid"]
    claims = jwt.decode(reply.tokens.access_token, options={"verify_signature": False})
    assert {"iss", "aud", "sub", "exp", "nbf", "iat", "jti", "role", "households"} <= set(claims)
    me = await server.stub.GetCurrentUser(
        pb.GetCurrentUserRequest(), metadata=_auth(reply.tokens.access_token)
    )
    assert me.user.username == "household-0001"
    assert list(me.user.household_ids) == ["sim-h000000"]


async def test_jwks_shape(server: Server) -> None:
    jwks = await server.stub.GetJwks(pb.GetJwksRequest())
    assert len(jwks.keys) == 1
    key = jwks.keys[0]
    assert (key.kty, key.crv, key.alg, key.use) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert len(base64.urlsafe_b64decode(key.x + "=")) == 32


async def test_user_calling_any_admin_rpc_is_denied(server: Server) -> None:
    token = (await _login(server, "household-0001", DEMO_USER_PASSWORD)).tokens.access_token
    rules = rules_from_services([SERVICE])
    admin_methods = [
        m
        for m in SERVICE.methods
        if rules[f"/{SERVICE.full_name}/{m.name}"].level == options_pb2.ACCESS_LEVEL_ADMIN
    ]
    assert {m.name for m in admin_methods} >= {
        "ListUsers",
        "CreateUser",
        "SetRole",
        "DisableUser",
        "ResetPassword",
        "LinkHousehold",
        "ListAuditEvents",
        "RotateSigningKey",
    }
    db = symbol_database.Default()
    for method in admin_methods:
        request_cls = db.GetSymbol(method.input_type.full_name)
        response_cls = db.GetSymbol(method.output_type.full_name)
        call = server.channel.unary_unary(
            f"/{SERVICE.full_name}/{method.name}",
            request_serializer=request_cls.SerializeToString,
            response_deserializer=response_cls.FromString,
        )
        code, reason, _ = await _status(call(request_cls(), metadata=_auth(token)))
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_PERMITTED"), method.name
        code, _, _ = await _status(call(request_cls()))
        assert code is grpc.StatusCode.UNAUTHENTICATED, method.name


async def test_admin_manages_users_and_reads_audit(server: Server) -> None:
    admin = _auth((await _login(server, "admin", DEMO_ADMIN_PASSWORD)).tokens.access_token)
    created = await server.stub.CreateUser(
        pb.CreateUserRequest(
            username="erin", password="tundra-Kv8-lake", role=user_pb2.ROLE_USER, household_ids=["h-7"]
        ),
        metadata=admin,
    )
    user_id = created.user.user_id
    assert (
        await _status(
            server.stub.CreateUser(
                pb.CreateUserRequest(username="erin", password="tundra-Kv8-lake", role=user_pb2.ROLE_USER),
                metadata=admin,
            )
        )
    )[:2] == (grpc.StatusCode.ALREADY_EXISTS, "USER_EXISTS")
    assert (
        await _status(
            server.stub.CreateUser(
                pb.CreateUserRequest(username="frank", password="fjord-Qx3-pine"), metadata=admin
            )
        )
    )[:2] == (grpc.StatusCode.INVALID_ARGUMENT, "ROLE_INVALID")
    linked = await server.stub.LinkHousehold(
        pb.LinkHouseholdRequest(user_id=user_id, household_id="h-8"), metadata=admin
    )
    assert list(linked.user.household_ids) == ["h-7", "h-8"]
    await server.stub.SetRole(pb.SetRoleRequest(user_id=user_id, role=user_pb2.ROLE_ADMIN), metadata=admin)
    await server.stub.ResetPassword(
        pb.ResetPasswordRequest(user_id=user_id, new_password="tundra-Kv8-lake-2"), metadata=admin
    )
    erin = await _login(server, "erin", "tundra-Kv8-lake-2")
    assert erin.user.role == user_pb2.ROLE_ADMIN
    users = await server.stub.ListUsers(pb.ListUsersRequest(page_size=500), metadata=admin)
    assert "erin" in [u.username for u in users.users]
    events = await server.stub.ListAuditEvents(pb.ListAuditEventsRequest(page_size=20), metadata=admin)
    actions = [e.action for e in events.events]
    for expected in ("USER_CREATED", "HOUSEHOLD_LINKED", "ROLE_SET", "PASSWORD_RESET", "LOGIN_SUCCEEDED"):
        assert expected in actions
    created_event = next(e for e in events.events if e.action == "USER_CREATED")
    assert created_event.actor == "admin" and created_event.target == "erin"
    assert created_event.client_address == "127.0.0.1"


async def test_bad_tokens_are_unauthenticated(server: Server, clock: Clock) -> None:
    reply = await _login(server, "household-0001", DEMO_USER_PASSWORD)
    published = json.loads(
        json.dumps(
            {
                f.name: getattr(k, f.name)
                for k in (await server.stub.GetJwks(pb.GetJwksRequest())).keys
                for f in k.DESCRIPTOR.fields
            }
        )
    )
    claims = jwt.decode(reply.tokens.access_token, options={"verify_signature": False})
    # Attacker-made tokens, including HS256 keyed with the server's own public key.
    forged = TokenFactory(kid=published["kid"])
    tokens = {**forged.bad(now=clock.now), **confusion_tokens(published, {**claims, "role": "admin"})}
    tokens["forged_with_real_kid"] = forged.token(now=clock.now, role="admin")
    for kind, token in tokens.items():
        code, reason, _ = await _status(
            server.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=_auth(token))
        )
        assert code is grpc.StatusCode.UNAUTHENTICATED, kind
        assert reason.startswith("TOKEN_"), kind


async def test_disabled_user_token_is_refused_here_and_at_other_services(
    server: Server, clock: Clock
) -> None:
    token = (await _login(server, "household-0001", DEMO_USER_PASSWORD)).tokens.access_token
    remote = remote_verifier(
        server.channel,
        issuer=server.app.config.issuer,
        audience=server.app.config.audience,
        revocations_max_age_s=0,  # the polled path (no push), read fresh
        clock=clock,
        watch=False,
    )
    assert (await remote.verify(token)).subject == "household-0001"
    admin = _auth((await _login(server, "admin", DEMO_ADMIN_PASSWORD)).tokens.access_token)
    await server.stub.DisableUser(
        pb.DisableUserRequest(user_id="household-0001", disabled=True), metadata=admin
    )
    code, reason, _ = await _status(
        server.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=_auth(token))
    )
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_REVOKED")
    with pytest.raises(Unauthenticated, match="revoked"):
        await remote.verify(token)
    code, reason, _ = await _status(_login(server, "household-0001", DEMO_USER_PASSWORD))
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_CREDENTIALS")


async def test_logout_revokes_the_sessions_access_tokens_at_other_services_by_push(
    server: Server, clock: Clock
) -> None:
    """Sign-out revokes the session (``sid``) everywhere: auth_svc pushes the new list over
    WatchRevocations, and a remote verifier that never polls (max age 1 h) sees it."""
    signed_in = (await _login(server, "household-0003", DEMO_USER_PASSWORD)).tokens
    other_session = (await _login(server, "household-0003", DEMO_USER_PASSWORD)).tokens
    remote = remote_verifier(
        server.channel,
        issuer=server.app.config.issuer,
        audience=server.app.config.audience,
        revocations_max_age_s=3600,
        clock=clock,
    )
    assert (await remote.verify(signed_in.access_token)).subject == "household-0003"
    refreshed = await server.stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=signed_in.refresh_token))
    await server.stub.Logout(pb.LogoutRequest(refresh_token=refreshed.tokens.refresh_token))
    revoked = False
    for _ in range(200):  # a wait for the push, not a timing assertion (bench/ measures that)
        try:
            await remote.verify(signed_in.access_token)
        except Unauthenticated as exc:
            assert exc.reason == "TOKEN_REVOKED"
            revoked = True
            break
        await asyncio.sleep(0.05)
    assert revoked
    # The refreshed token of the same session is revoked too; another session is not.
    with pytest.raises(Unauthenticated):
        await remote.verify(refreshed.tokens.access_token)
    assert (await remote.verify(other_session.access_token)).subject == "household-0003"
    code, reason, _ = await _status(
        server.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=_auth(signed_in.access_token))
    )
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_REVOKED")
    assert isinstance(remote._revocations, CachedRevocations)
    remote._revocations.close()


async def test_refresh_reuse_revokes_family_over_grpc(server: Server) -> None:
    first = (await _login(server, "household-0002", DEMO_USER_PASSWORD)).tokens
    second = (
        await server.stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=first.refresh_token))
    ).tokens
    assert second.access_token and second.refresh_token != first.refresh_token
    code, reason, _ = await _status(
        server.stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=first.refresh_token))
    )
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "REFRESH_TOKEN_REUSED")
    code, _, _ = await _status(
        server.stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=second.refresh_token))
    )
    assert code is grpc.StatusCode.UNAUTHENTICATED
    third = (await _login(server, "household-0002", DEMO_USER_PASSWORD)).tokens
    await server.stub.Logout(pb.LogoutRequest(refresh_token=third.refresh_token))
    code, _, _ = await _status(
        server.stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=third.refresh_token))
    )
    assert code is grpc.StatusCode.UNAUTHENTICATED


async def test_brute_force_is_resource_exhausted_without_enumeration(server: Server) -> None:
    messages = set()
    for username in ("household-0003", "household-0003", "household-0003"):
        code, reason, message = await _status(_login(server, username, "wrong-password"))
        assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_CREDENTIALS")
        messages.add(message)
    code, _, message = await _status(_login(server, "no-such-user", "wrong-password"))
    messages.add(message)
    assert len(messages) == 1
    code, reason, _ = await _status(_login(server, "household-0003", DEMO_USER_PASSWORD))
    assert (code, reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "LOGIN_RATE_LIMITED")


async def test_rotating_forwarding_headers_does_not_reset_the_limit(server: Server) -> None:
    # A direct caller is not the edge: neither x-forwarded-for nor the edge's client-address
    # header changes the address it is throttled under, however often it rotates them.
    outcomes = []
    for index in range(6):
        spoofed = (
            ("x-forwarded-for", f"198.51.100.{index}"),
            ("x-energypulse-client-address", f"203.0.113.{index}"),
        )
        code, _, _ = await _status(_login(server, "household-0002", f"guess-{index}", metadata=spoofed))
        outcomes.append(code)
    assert outcomes == [grpc.StatusCode.UNAUTHENTICATED] * 3 + [grpc.StatusCode.RESOURCE_EXHAUSTED] * 3


class _Context:
    def __init__(self, peer: str, metadata: tuple[tuple[str, str], ...]) -> None:
        self._peer, self._metadata = peer, metadata

    def peer(self) -> str:
        return self._peer

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata


def test_only_the_edge_names_the_client_address() -> None:
    edge = TrustedProxies("127.0.0.1, 10.1.0.0/16, localhost")
    header = (("x-forwarded-for", "6.6.6.6"), ("x-energypulse-client-address", "203.0.113.5"))
    assert client_address(_Context("ipv4:127.0.0.1:5000", header), edge) == "203.0.113.5"
    assert client_address(_Context("ipv4:10.1.2.3:5000", header), edge) == "203.0.113.5"
    assert client_address(_Context("ipv4:10.2.0.1:5000", header), edge) == "10.2.0.1"
    by_name = TrustedProxies("localhost")  # host names are resolved (compose: "envoy")
    assert client_address(_Context("ipv4:127.0.0.1:5000", header), by_name) == "203.0.113.5"
    assert client_address(_Context("ipv4:127.0.0.1:5000", header), TrustedProxies("")) == "127.0.0.1"
    assert client_address(_Context("ipv4:127.0.0.1:5000", ()), edge) == "127.0.0.1"


async def test_key_rotation_old_tokens_verify_until_expiry(server: Server, clock: Clock) -> None:
    old = (await _login(server, "household-0001", DEMO_USER_PASSWORD)).tokens.access_token
    old_kid = jwt.get_unverified_header(old)["kid"]
    admin = _auth((await _login(server, "admin", DEMO_ADMIN_PASSWORD)).tokens.access_token)
    clock.now += 10
    rotated = await server.stub.RotateSigningKey(pb.RotateSigningKeyRequest(), metadata=admin)
    assert rotated.kid != old_kid
    kids = {k.kid for k in (await server.stub.GetJwks(pb.GetJwksRequest())).keys}
    assert kids == {old_kid, rotated.kid}
    new = (await _login(server, "household-0001", DEMO_USER_PASSWORD)).tokens.access_token
    assert jwt.get_unverified_header(new)["kid"] == rotated.kid
    remote = remote_verifier(server.channel, issuer="energypulse-auth", audience="energypulse", clock=clock)
    for token in (old, new):
        me = await server.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=_auth(token))
        assert me.user.username == "household-0001"
        assert (await remote.verify(token)).subject == "household-0001"
    # Past the old token's expiry (+ leeway) it fails, and the retired key leaves the JWKS.
    clock.now += server.app.config.access_ttl_s + 61
    code, _, _ = await _status(server.stub.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=_auth(old)))
    assert code is grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(Unauthenticated):
        await remote.verify(old)
    kids = {k.kid for k in (await server.stub.GetJwks(pb.GetJwksRequest())).keys}
    assert kids == {rotated.kid}


async def test_service_credentials_log_in_and_call(server: Server) -> None:
    creds = ServiceCredentials.for_auth_service(server.channel, "meter_sim", SERVICE_SECRETS["meter_sim"])
    async with grpc.aio.insecure_channel(server.target, interceptors=creds.client_interceptors()) as channel:
        me = await auth_service_pb2_grpc.AuthServiceStub(channel).GetCurrentUser(pb.GetCurrentUserRequest())
    assert me.user.username == "meter_sim" and me.user.role == user_pb2.ROLE_SERVICE
    wrong = ServiceCredentials.for_auth_service(server.channel, "meter_sim", "not-the-secret")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await wrong.token()
    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_health_needs_no_token(server: Server) -> None:
    reply = await health_pb2_grpc.HealthStub(server.channel).Check(
        health_pb2.HealthCheckRequest(service=SERVICE.full_name)
    )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_another_service_enforces_auth_svc_tokens(server: Server) -> None:
    """A service wired like ledger/ingest: remote_auth_interceptor fetching auth_svc's JWKS."""
    from common.auth.interceptor import remote_auth_interceptor
    from common.server import GrpcService, ServerConfig, start_server
    from energypulse.telemetry.v1 import telemetry_service_pb2 as tpb
    from energypulse.telemetry.v1 import telemetry_service_pb2_grpc as tgrpc
    from tests.common.auth.helpers import TelemetryProbe

    descriptor = tpb.DESCRIPTOR.services_by_name["TelemetryService"]
    probe = TelemetryProbe()
    other = await start_server(
        ServerConfig(port=0),
        [GrpcService(descriptor, tgrpc.add_TelemetryServiceServicer_to_server, probe)],
        [remote_auth_interceptor([descriptor], server.channel)],
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{other.port}") as channel:
            stub = tgrpc.TelemetryServiceStub(channel)
            user = _auth((await _login(server, "household-0001", DEMO_USER_PASSWORD)).tokens.access_token)
            own = tpb.GetHouseholdSummaryRequest(household_id="sim-h000000")
            assert (await stub.GetHouseholdSummary(own, metadata=user)).household_id == "sim-h000000"
            other_household = tpb.GetHouseholdSummaryRequest(household_id="sim-h000001")
            code, reason, _ = await _status(stub.GetHouseholdSummary(other_household, metadata=user))
            assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "HOUSEHOLD_NOT_PERMITTED")
            code, _, _ = await _status(stub.GetGridStats(tpb.GetGridStatsRequest(), metadata=user))
            assert code is grpc.StatusCode.PERMISSION_DENIED
            service_creds = ServiceCredentials.for_auth_service(
                server.channel, "meter_sim", SERVICE_SECRETS["meter_sim"]
            )
            await stub.RegisterHouseholds(
                tpb.RegisterHouseholdsRequest(), metadata=await service_creds.metadata()
            )
            assert [c.subject for c in probe.seen] == ["household-0001", "meter_sim"]
    finally:
        await other.stop(None)


async def _service_stub(server: Server, name: str) -> tuple[auth_service_pb2_grpc.AuthServiceStub, Any]:
    creds = ServiceCredentials.for_auth_service(server.channel, name, SERVICE_SECRETS[name])
    channel = grpc.aio.insecure_channel(server.target, interceptors=creds.client_interceptors())
    return auth_service_pb2_grpc.AuthServiceStub(channel), channel


async def test_only_the_billing_service_reports_a_bill_correction_to_the_audit_log(server: Server) -> None:
    """RecordAuditEvent (spec §17.6): ingest may report BILL_CORRECTED and nothing else; no other
    service account and no administrator may write the audit log on another's behalf."""
    event = pb.RecordAuditEventRequest(
        actor="admin", action="BILL_CORRECTED", target="h-7", detail="amount_micro_eur=-25000 reason=x"
    )
    ingest, ingest_channel = await _service_stub(server, "ingest")
    sim, sim_channel = await _service_stub(server, "meter_sim")
    try:
        recorded = await ingest.RecordAuditEvent(event)
        assert recorded.event.actor == "admin" and recorded.event.action == "BILL_CORRECTED"
        assert "reported_by=ingest" in recorded.event.detail
        forged_login = pb.RecordAuditEventRequest(actor="admin", action="LOGIN_SUCCEEDED")
        assert (await _status(ingest.RecordAuditEvent(forged_login)))[:2] == (
            grpc.StatusCode.PERMISSION_DENIED,
            "AUDIT_WRITER_NOT_PERMITTED",
        )
        assert (await _status(sim.RecordAuditEvent(event)))[:2] == (
            grpc.StatusCode.PERMISSION_DENIED,
            "AUDIT_WRITER_NOT_PERMITTED",
        )
        no_actor = pb.RecordAuditEventRequest(action="BILL_CORRECTED", target="h-7")
        assert (await _status(ingest.RecordAuditEvent(no_actor)))[:2] == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "EMPTY_FIELD",
        )
        long_detail = pb.RecordAuditEventRequest(actor="admin", action="BILL_CORRECTED", detail="x" * 2049)
        assert (await _status(ingest.RecordAuditEvent(long_detail)))[1] == "FIELD_TOO_LONG"
    finally:
        await ingest_channel.close()
        await sim_channel.close()
    admin = _auth((await _login(server, "admin", DEMO_ADMIN_PASSWORD)).tokens.access_token)
    assert (await _status(server.stub.RecordAuditEvent(event, metadata=admin)))[:2] == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ROLE_NOT_PERMITTED",
    )
    events = await server.stub.ListAuditEvents(pb.ListAuditEventsRequest(page_size=50), metadata=admin)
    reported = [e for e in events.events if e.action == "BILL_CORRECTED"]
    assert len(reported) == 1 and reported[0].target == "h-7"


async def test_a_reported_event_with_an_idempotency_key_is_recorded_once(server: Server) -> None:
    """A retried RecordAuditEvent (same reporter, same key) returns the event recorded first and
    adds nothing; the same key for another event is refused; concurrent repeats add one row."""
    event = pb.RecordAuditEventRequest(
        actor="admin",
        action="BILL_CORRECTED",
        target="h-7",
        detail="replayed=false",
        idempotency_key="correction:r-1",
    )
    ingest, channel = await _service_stub(server, "ingest")
    try:
        first = await ingest.RecordAuditEvent(event)
        again = await ingest.RecordAuditEvent(
            pb.RecordAuditEventRequest(
                actor="admin",
                action="BILL_CORRECTED",
                target="h-7",
                detail="replayed=true",
                idempotency_key="correction:r-1",
            )
        )
        assert not first.replayed and again.replayed
        assert again.event == first.event  # the first report, detail included
        other_target = pb.RecordAuditEventRequest(
            actor="admin", action="BILL_CORRECTED", target="h-8", idempotency_key="correction:r-1"
        )
        assert (await _status(ingest.RecordAuditEvent(other_target)))[:2] == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "AUDIT_IDEMPOTENCY_KEY_REUSED",
        )
        too_long = pb.RecordAuditEventRequest(
            actor="admin", action="BILL_CORRECTED", target="h-7", idempotency_key="k" * 129
        )
        assert (await _status(ingest.RecordAuditEvent(too_long)))[1] == "FIELD_TOO_LONG"
        racing = pb.RecordAuditEventRequest(
            actor="admin", action="BILL_CORRECTED", target="h-9", idempotency_key="correction:r-2"
        )
        raced = await asyncio.gather(*(ingest.RecordAuditEvent(racing) for _ in range(4)))
        assert len({r.event.event_id for r in raced}) == 1
        assert sum(not r.replayed for r in raced) == 1
        # Without a key every report is its own event (the behaviour before keys existed).
        keyless = pb.RecordAuditEventRequest(actor="admin", action="BILL_CORRECTED", target="h-10")
        assert (await ingest.RecordAuditEvent(keyless)).event.event_id != (
            await ingest.RecordAuditEvent(keyless)
        ).event.event_id
    finally:
        await channel.close()
    admin = _auth((await _login(server, "admin", DEMO_ADMIN_PASSWORD)).tokens.access_token)
    events = await server.stub.ListAuditEvents(pb.ListAuditEventsRequest(page_size=50), metadata=admin)
    by_target: dict[str, int] = {}
    for e in events.events:
        if e.action == "BILL_CORRECTED":
            by_target[e.target] = by_target.get(e.target, 0) + 1
    assert by_target == {"h-7": 1, "h-9": 1, "h-10": 2}
