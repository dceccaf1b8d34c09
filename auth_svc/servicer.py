"""AuthService RPC handlers: thin translation between protobuf and :class:`Accounts`.

Blocking work (argon2, database) runs in worker threads so the event loop keeps serving.
Access rules are declared in the contract and enforced by ``common.auth.interceptor.AuthInterceptor``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, NoReturn, ParamSpec, Protocol, TypeVar

import grpc
from sqlalchemy.exc import SQLAlchemyError

from auth_svc.accounts import Accounts, LoginThrottled, TokenPair
from auth_svc.session_cookie import SessionRequest
from auth_svc.store import AuditEventRow, AuditFilter, UserRecord
from common import timestamps
from common.auth.access import parse_role, role_name
from common.auth.caller import caller
from common.drain import Drain
from common.errors import EnergyPulseError, InvalidArgument, PermissionDenied, to_rpc_status
from common.log import get_logger
from energypulse.auth.v1 import auth_service_pb2 as pb
from energypulse.auth.v1 import auth_service_pb2_grpc, user_pb2
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["AuthServicer", "TrustedProxies", "client_address"]

log = get_logger(__name__)
T = TypeVar("T")
P = ParamSpec("P")


def _role_from_pb(value: user_pb2.Role.ValueType) -> str:
    if value not in (user_pb2.ROLE_USER, user_pb2.ROLE_ADMIN, user_pb2.ROLE_SERVICE):
        raise InvalidArgument(reasons.ROLE_INVALID, "role must be ROLE_USER, ROLE_ADMIN or ROLE_SERVICE")
    return role_name(value)


def user_message(user: UserRecord) -> user_pb2.User:
    return user_pb2.User(
        user_id=user.id,
        username=user.username,
        role=parse_role(user.role),
        household_ids=list(user.households),
        disabled=user.disabled,
        create_time=timestamps.from_seconds(user.created_at),
    )


def _tokens(pair: TokenPair) -> pb.TokenPair:
    message = pb.TokenPair(
        access_token=pair.access.token,
        access_token_expire_time=timestamps.from_seconds(pair.access.expires_at),
        refresh_token=pair.refresh_token,
    )
    if pair.refresh_token:
        message.refresh_token_expire_time.CopyFrom(timestamps.from_seconds(pair.refresh_expires_at))
    return message


async def _abort(
    context: grpc.aio.ServicerContext[Any, Any], error: EnergyPulseError, *extra: tuple[str, str]
) -> NoReturn:
    """Refuse with ``error``'s rich status plus ``extra`` metadata (a cookie, the edge's hint)."""
    status = to_rpc_status(error)
    await context.abort(status.code, status.details, (*status.trailing_metadata, *extra))
    raise AssertionError("abort returned")  # context.abort always raises


async def _deliver(
    context: grpc.aio.ServicerContext[Any, Any], cookies: SessionRequest, pair: TokenPair
) -> pb.TokenPair:
    """The tokens for the response; in cookie mode the refresh token goes into Set-Cookie only."""
    message = _tokens(pair)
    if cookies.cookie_mode and pair.refresh_token:
        max_age = max(0, int(pair.refresh_expires_at - time.time()))
        await context.send_initial_metadata((cookies.set_cookie(pair.refresh_token, max_age),))
        message.refresh_token = ""
    return message


def _audit_message(row: AuditEventRow) -> user_pb2.AuditEvent:
    return user_pb2.AuditEvent(
        event_id=str(row.id),
        event_time=timestamps.from_seconds(row.at),
        actor=row.actor,
        action=row.action,
        target=row.target,
        client_address=row.client,
        detail=f"{row.outcome}: {row.detail}" if row.detail else row.outcome,
    )


def _peer_host(peer: str) -> str:
    """``ipv4:1.2.3.4:5678`` -> ``1.2.3.4``; ``ipv6:[::1]:5678`` -> ``::1``."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6" and rest.startswith("["):
        return rest[1:].partition("]")[0]
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    return peer


class _Peer(Protocol):
    """What client_address reads of a servicer context (any RPC's)."""

    def invocation_metadata(self) -> grpc.aio.Metadata | None: ...

    def peer(self) -> str: ...


CLIENT_ADDRESS_HEADER = "x-energypulse-client-address"  # set by Envoy (envoy/edge_policy.py)
# Sent with a throttled sign-in's status (``client=12,pair=30``): the edge's login guard remembers
# it and refuses that address (or pair) itself until then (envoy/edge_policy.py), so a flood of
# refused attempts stops reaching auth_svc. Envoy removes it before the reply leaves the edge.
LOGIN_THROTTLE_HEADER = "x-energypulse-login-throttle"


class TrustedProxies:
    """The peers whose ``x-energypulse-client-address`` is believed: the edge, nobody else.

    Entries are IP addresses, CIDR networks or host names (resolved once, at start: compose's
    ``envoy``). Envoy writes the header itself (overwriting a client's) with the address it
    determined from its own trusted hops (EP_EDGE_TRUSTED_HOPS); x-forwarded-for is never read.
    """

    def __init__(self, spec: str, resolve_every_s: float = 30.0) -> None:
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self._names: list[str] = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            try:
                self._networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self._names.append(item)
        self._resolve_every_s = resolve_every_s
        self._resolved: set[str] = set()
        self._resolved_at = float("-inf")

    def _named(self) -> set[str]:
        """The host names' addresses, re-resolved now and then (the edge may start later)."""
        if self._names and time.monotonic() - self._resolved_at >= self._resolve_every_s:
            addresses: set[str] = set()
            for name in self._names:
                try:
                    addresses.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
                except OSError:
                    continue
            self._resolved, self._resolved_at = addresses, time.monotonic()
        return self._resolved

    def trusts(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._networks) or host in self._named()


def client_address(context: _Peer, proxies: TrustedProxies) -> str:
    """The client the throttle and audit log key on: Envoy's header when the peer is the edge,
    else the peer address itself (a direct caller cannot choose its key by sending headers)."""
    peer = _peer_host(context.peer() or "")
    if proxies.trusts(peer):
        for key, value in context.invocation_metadata() or ():
            if key.lower() == CLIENT_ADDRESS_HEADER and str(value).strip():
                return str(value).strip()[:64]
    return peer[:64]


class RevocationFeed:
    """One reader of the revocation list for all WatchRevocations streams of this replica.

    While anyone watches, the list is read from the database every ``interval_s`` (the replicas
    share the database, so a sign-out on another replica shows up too) and pushed to every stream
    when it changed, and at least every ``heartbeat_s`` (so a watcher can tell a quiet list from a
    dead connection).
    """

    def __init__(
        self,
        read: Callable[[], Awaitable[pb.GetRevocationsResponse]],
        interval_s: float,
        heartbeat_s: float = 10.0,
    ) -> None:
        self._read = read
        self._interval_s = interval_s
        self._heartbeat_s = heartbeat_s
        self._latest: pb.GetRevocationsResponse | None = None
        self._version = 0
        self._changed = asyncio.Event()
        self._watchers = 0
        self._task: asyncio.Task[None] | None = None
        self.drain = Drain()

    async def _poll(self) -> None:
        sent_at = 0.0
        try:
            while self._watchers:
                try:
                    current = await self._read()
                except (SQLAlchemyError, OSError) as exc:  # a database hiccup: keep the last list
                    log.warning("revocations_read_failed", error=str(exc))
                    await asyncio.sleep(self._interval_s)
                    continue
                now = time.monotonic()
                if current != self._latest or now - sent_at >= self._heartbeat_s:
                    self._latest, self._version, sent_at = current, self._version + 1, now
                    changed, self._changed = self._changed, asyncio.Event()
                    changed.set()
                await asyncio.sleep(self._interval_s)
        finally:
            self._task = None

    async def watch(self) -> AsyncIterator[pb.GetRevocationsResponse]:
        self._watchers += 1
        if self._task is None:
            self._task = asyncio.create_task(self._poll())
        seen = -1
        try:
            while not self.drain.draining:
                changed = self._changed
                if self._latest is not None and self._version != seen:
                    seen = self._version
                    yield self._latest
                    continue
                if await self.drain.until(changed.wait()):
                    return
        finally:
            self._watchers -= 1


class AuthServicer(auth_service_pb2_grpc.AuthServiceServicer):
    def __init__(
        self,
        accounts: Accounts,
        *,
        proxies: TrustedProxies,
        watch_interval_s: float = 0.25,
        audit_reporters: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self._accounts = accounts
        self._proxies = proxies
        self._audit_reporters = dict(audit_reporters or {})
        self._feed = RevocationFeed(lambda: self._run(self._revocation_list), watch_interval_s)
        self.drain = self._feed.drain  # closed at shutdown: the watches end (common/drain.py)

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    def _client(self, context: _Peer) -> str:
        return client_address(context, self._proxies)

    async def Login(
        self, request: pb.LoginRequest, context: grpc.aio.ServicerContext[pb.LoginRequest, pb.LoginResponse]
    ) -> pb.LoginResponse:
        client = self._client(context)
        try:
            self._accounts.refuse_if_remembered(request.username, client)
            session = await self._run(self._accounts.login, request.username, request.password, client)
        except LoginThrottled as refused:
            await _abort(context, refused, (LOGIN_THROTTLE_HEADER, refused.throttled.edge_hint()))
        tokens = await _deliver(context, SessionRequest(context.invocation_metadata() or ()), session.tokens)
        return pb.LoginResponse(tokens=tokens, user=user_message(session.user))

    async def RefreshToken(
        self,
        request: pb.RefreshTokenRequest,
        context: grpc.aio.ServicerContext[pb.RefreshTokenRequest, pb.RefreshTokenResponse],
    ) -> pb.RefreshTokenResponse:
        cookies = SessionRequest(context.invocation_metadata() or ())
        token = cookies.token(request.refresh_token)
        try:
            pair = await self._run(self._accounts.refresh, token, self._client(context))
        except EnergyPulseError as error:
            if cookies.cookie_mode:  # a spent, reused or revoked cookie is of no further use
                await _abort(context, error, cookies.clear_cookie())
            raise
        return pb.RefreshTokenResponse(tokens=await _deliver(context, cookies, pair))

    async def Logout(
        self,
        request: pb.LogoutRequest,
        context: grpc.aio.ServicerContext[pb.LogoutRequest, pb.LogoutResponse],
    ) -> pb.LogoutResponse:
        cookies = SessionRequest(context.invocation_metadata() or ())
        token = cookies.token(request.refresh_token)
        await self._run(self._accounts.logout, token, self._client(context))
        if cookies.cookie_mode:
            await context.send_initial_metadata((cookies.clear_cookie(),))
        return pb.LogoutResponse()

    async def GetJwks(
        self,
        request: pb.GetJwksRequest,
        context: grpc.aio.ServicerContext[pb.GetJwksRequest, pb.GetJwksResponse],
    ) -> pb.GetJwksResponse:
        jwks = await self._run(self._accounts.keys.jwks)
        return pb.GetJwksResponse(keys=[user_pb2.Jwk(**key) for key in jwks["keys"]])

    def _revocation_list(self) -> pb.GetRevocationsResponse:
        entries = self._accounts.revocations()
        return pb.GetRevocationsResponse(
            revocations=[
                pb.Revocation(subject_sha256=e.subject_sha256, not_before=e.not_before, disabled=e.disabled)
                for e in entries
            ],
            revoked_session_sha256=self._accounts.revoked_sessions(),
        )

    async def GetRevocations(
        self,
        request: pb.GetRevocationsRequest,
        context: grpc.aio.ServicerContext[pb.GetRevocationsRequest, pb.GetRevocationsResponse],
    ) -> pb.GetRevocationsResponse:
        return await self._run(self._revocation_list)

    async def WatchRevocations(
        self,
        request: pb.WatchRevocationsRequest,
        context: grpc.aio.ServicerContext[pb.WatchRevocationsRequest, pb.WatchRevocationsResponse],
    ) -> AsyncIterator[pb.WatchRevocationsResponse]:
        async for listed in self._feed.watch():
            yield pb.WatchRevocationsResponse(
                revocations=listed.revocations, revoked_session_sha256=listed.revoked_session_sha256
            )

    async def RotateSigningKey(
        self,
        request: pb.RotateSigningKeyRequest,
        context: grpc.aio.ServicerContext[pb.RotateSigningKeyRequest, pb.RotateSigningKeyResponse],
    ) -> pb.RotateSigningKeyResponse:
        kid = await self._run(
            self._accounts.rotate_signing_key, caller(context).subject, self._client(context)
        )
        return pb.RotateSigningKeyResponse(kid=kid)

    async def GetCurrentUser(
        self,
        request: pb.GetCurrentUserRequest,
        context: grpc.aio.ServicerContext[pb.GetCurrentUserRequest, pb.GetCurrentUserResponse],
    ) -> pb.GetCurrentUserResponse:
        user = await self._run(self._accounts.user_by_name, caller(context).subject)
        return pb.GetCurrentUserResponse(user=user_message(user))

    async def ListUsers(
        self,
        request: pb.ListUsersRequest,
        context: grpc.aio.ServicerContext[pb.ListUsersRequest, pb.ListUsersResponse],
    ) -> pb.ListUsersResponse:
        users, token, total = await self._run(
            self._accounts.list_users, request.page_size, request.page_token, request.query
        )
        return pb.ListUsersResponse(
            users=[user_message(u) for u in users], next_page_token=token, total_size=total
        )

    async def CreateUser(
        self,
        request: pb.CreateUserRequest,
        context: grpc.aio.ServicerContext[pb.CreateUserRequest, pb.CreateUserResponse],
    ) -> pb.CreateUserResponse:
        user = await self._run(
            self._accounts.create_user,
            caller(context).subject,
            request.username,
            request.password,
            _role_from_pb(request.role),
            list(request.household_ids),
            self._client(context),
        )
        return pb.CreateUserResponse(user=user_message(user))

    async def SetRole(
        self,
        request: pb.SetRoleRequest,
        context: grpc.aio.ServicerContext[pb.SetRoleRequest, pb.SetRoleResponse],
    ) -> pb.SetRoleResponse:
        user = await self._run(
            self._accounts.set_role,
            caller(context).subject,
            request.user_id,
            _role_from_pb(request.role),
            self._client(context),
        )
        return pb.SetRoleResponse(user=user_message(user))

    async def DisableUser(
        self,
        request: pb.DisableUserRequest,
        context: grpc.aio.ServicerContext[pb.DisableUserRequest, pb.DisableUserResponse],
    ) -> pb.DisableUserResponse:
        user = await self._run(
            self._accounts.disable_user,
            caller(context).subject,
            request.user_id,
            request.disabled,
            self._client(context),
        )
        return pb.DisableUserResponse(user=user_message(user))

    async def ResetPassword(
        self,
        request: pb.ResetPasswordRequest,
        context: grpc.aio.ServicerContext[pb.ResetPasswordRequest, pb.ResetPasswordResponse],
    ) -> pb.ResetPasswordResponse:
        user = await self._run(
            self._accounts.reset_password,
            caller(context).subject,
            request.user_id,
            request.new_password,
            self._client(context),
        )
        return pb.ResetPasswordResponse(user=user_message(user))

    async def IssuePasswordReset(
        self,
        request: pb.IssuePasswordResetRequest,
        context: grpc.aio.ServicerContext[pb.IssuePasswordResetRequest, pb.IssuePasswordResetResponse],
    ) -> pb.IssuePasswordResetResponse:
        token, expires, user = await self._run(
            self._accounts.issue_password_reset,
            caller(context).subject,
            request.user_id,
            self._client(context),
        )
        return pb.IssuePasswordResetResponse(
            reset_token=token, expire_time=timestamps.from_seconds(expires), user=user_message(user)
        )

    async def CompletePasswordReset(
        self,
        request: pb.CompletePasswordResetRequest,
        context: grpc.aio.ServicerContext[pb.CompletePasswordResetRequest, pb.CompletePasswordResetResponse],
    ) -> pb.CompletePasswordResetResponse:
        user = await self._run(
            self._accounts.complete_password_reset,
            request.reset_token,
            request.new_password,
            self._client(context),
        )
        return pb.CompletePasswordResetResponse(username=user.username)

    async def LinkHousehold(
        self,
        request: pb.LinkHouseholdRequest,
        context: grpc.aio.ServicerContext[pb.LinkHouseholdRequest, pb.LinkHouseholdResponse],
    ) -> pb.LinkHouseholdResponse:
        user = await self._run(
            self._accounts.link_household,
            caller(context).subject,
            request.user_id,
            request.household_id,
            request.unlink,
            self._client(context),
        )
        return pb.LinkHouseholdResponse(user=user_message(user))

    async def RecordAuditEvent(
        self,
        request: pb.RecordAuditEventRequest,
        context: grpc.aio.ServicerContext[pb.RecordAuditEventRequest, pb.RecordAuditEventResponse],
    ) -> pb.RecordAuditEventResponse:
        reporter = caller(context).subject  # a service account (the RPC is SERVICE_ONLY)
        if request.action not in self._audit_reporters.get(reporter, frozenset()):
            raise PermissionDenied(
                reasons.AUDIT_WRITER_NOT_PERMITTED,
                f"service account {reporter!r} may not report {request.action[:64]!r} (EP_AUTH_AUDIT_REPORTERS)",
            )
        row, replayed = await self._run(
            self._accounts.record_reported,
            reporter,
            request.action,
            request.actor,
            request.target,
            request.detail,
            self._client(context),
            request.idempotency_key,
        )
        return pb.RecordAuditEventResponse(event=_audit_message(row), replayed=replayed)

    async def ListAuditEvents(
        self,
        request: pb.ListAuditEventsRequest,
        context: grpc.aio.ServicerContext[pb.ListAuditEventsRequest, pb.ListAuditEventsResponse],
    ) -> pb.ListAuditEventsResponse:
        where = AuditFilter(
            actor=request.actor,
            action=request.action,
            start=timestamps.to_ms(request.start_time) / 1000 if request.HasField("start_time") else None,
            end=timestamps.to_ms(request.end_time) / 1000 if request.HasField("end_time") else None,
        )
        rows, token = await self._run(self._accounts.list_audit, request.page_size, request.page_token, where)
        return pb.ListAuditEventsResponse(events=[_audit_message(r) for r in rows], next_page_token=token)
