"""The account domain: sign-in, refresh-token families, admin operations and the audit trail.

Synchronous on purpose (argon2 and the database block); the servicer runs these methods in a
worker thread. Every failure is a typed error from ``common.errors``.

Security properties kept here:
* a failed sign-in always says INVALID_CREDENTIALS, whether the user is unknown, disabled or the
  password is wrong, and always runs one password verification (a dummy hash for unknown users);
* refresh tokens are single use; presenting a spent one revokes its whole family (theft signal);
* disabling a user, resetting a password, changing a role or unlinking a household revokes the
  user's refresh families and, via ``tokens_valid_after``, its outstanding access tokens.
"""

from __future__ import annotations

import hmac
import math
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from auth_svc.keys import KeyRing
from auth_svc.passwords import DummyHashVerifier, PasswordHasher, check_new_password
from auth_svc.ratelimit import LoginThrottle, Throttled
from auth_svc.store import AuditEventRow, AuditFilter, DuplicateUser, Store, UserRecord
from auth_svc.tokens import AccessToken, TokenIssuer, hash_refresh_token, new_refresh_token
from common.auth.access import parse_role, role_name
from common.auth.revocations import session_hash, subject_hash
from common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
)
from common.log import get_logger
from common.paging import Pager
from energypulse.auth.v1 import user_pb2
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["Accounts", "LoginThrottled", "RevocationEntry", "Session", "TokenPair", "validate_username"]

log = get_logger(__name__)

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
MAX_USER_QUERY = 64
MAX_AUDIT_FILTER = 128
MAX_IDEMPOTENCY_KEY = 128  # RecordAuditEvent's; stored as "<reporter>:<key>" (200 characters)
_USERS_PAGES = Pager("energypulse.auth.v1.AuthService/ListUsers", default_size=50, max_size=500)
_AUDIT_PAGES = Pager("energypulse.auth.v1.AuthService/ListAuditEvents", default_size=50, max_size=500)
ANY_EVENT = AuditFilter()


@dataclass(frozen=True)
class TokenPair:
    access: AccessToken
    refresh_token: str  # empty for service accounts: they sign in again with their secret
    refresh_expires_at: float


@dataclass(frozen=True)
class Session:
    tokens: TokenPair
    user: UserRecord


@dataclass(frozen=True)
class RevocationEntry:
    subject_sha256: str
    not_before: int
    disabled: bool


def validate_username(username: str) -> str:
    if not _USERNAME.match(username):
        raise InvalidArgument(
            reasons.USERNAME_INVALID, "usernames are 1-64 letters, digits, '_', '.', '@' or '-'"
        )
    return username


def _validate_password(password: str, username: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidArgument(
            reasons.PASSWORD_INVALID, f"passwords are {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )
    check_new_password(password, username)


def _float_key(value: float | None) -> str | None:
    """A time bound as a page-token binding part (exact, JSON-safe)."""
    return None if value is None else repr(value)


def _role(value: str) -> str:
    """``value`` if it names a role (as tokens and the store spell it)."""
    try:
        return role_name(parse_role(value))
    except ValueError as exc:
        raise InvalidArgument(reasons.ROLE_INVALID, "role must be admin, user or service") from exc


class LoginThrottled(ResourceExhausted):
    """A throttled sign-in; ``throttled`` says what the edge may refuse by itself, and how long."""

    def __init__(self, throttled: Throttled) -> None:
        super().__init__(
            reasons.LOGIN_RATE_LIMITED,
            f"too many failed sign-in attempts; try again in {math.ceil(throttled.retry_after_s)} s",
        )
        self.throttled = throttled


class Accounts:
    def __init__(
        self,
        store: Store,
        keys: KeyRing,
        issuer: TokenIssuer,
        hasher: PasswordHasher,
        limiter: LoginThrottle,
        *,
        refresh_ttl_s: int,
        service_secrets: Mapping[str, str] | None = None,
        leeway_s: int = 60,
        password_reset_ttl_s: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.keys = keys
        self.issuer = issuer
        self.hasher = hasher
        self._verifier = DummyHashVerifier(hasher)
        self.limiter = limiter
        self._service_secrets = dict(service_secrets or {})
        self._refresh_ttl_s = refresh_ttl_s
        self._leeway_s = leeway_s
        self._password_reset_ttl_s = password_reset_ttl_s
        self._clock = clock

    # audit -------------------------------------------------------------------------------
    def audit(
        self, action: str, actor: str, outcome: str, *, target: str = "", client: str = "", detail: str = ""
    ) -> None:
        self.store.add_audit(self._clock(), action, actor, target, outcome, client, detail)
        log.info("audit", action=action, actor=actor, target=target, outcome=outcome, client=client)

    def record_reported(
        self,
        reporter: str,
        action: str,
        actor: str,
        target: str,
        detail: str,
        client: str,
        idempotency_key: str = "",
    ) -> tuple[AuditEventRow, bool]:
        """An event another service witnessed (RecordAuditEvent); ``reporter``, the calling service
        account, was checked against the actions it may report by the servicer and is kept in the
        detail beside what it reports.

        With an ``idempotency_key`` the report is recorded once: a repeat (the reporter's retry)
        returns the event stored first and True; a repeat naming another actor, action or target
        is refused. Keys are scoped to the reporter, so one service cannot claim another's."""
        if not actor.strip():
            raise InvalidArgument(reasons.EMPTY_FIELD, "a reported event names its actor")
        if len(actor) > 128 or len(target) > 128 or len(detail) > 2048:
            raise InvalidArgument(
                reasons.FIELD_TOO_LONG, "actor and target are at most 128 characters, detail 2048"
            )
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            raise InvalidArgument(
                reasons.FIELD_TOO_LONG, f"idempotency_key is at most {MAX_IDEMPOTENCY_KEY} characters"
            )
        row, replayed = self.store.add_audit(
            self._clock(),
            action,
            actor,
            target,
            "ok",
            client,
            f"reported_by={reporter}; {detail}",
            idempotency_key=f"{reporter}:{idempotency_key}" if idempotency_key else None,
        )
        if replayed and (row.action, row.actor, row.target) != (action[:64], actor, target):
            raise FailedPrecondition(
                reasons.AUDIT_IDEMPOTENCY_KEY_REUSED,
                f"idempotency_key {idempotency_key!r} was already used for event {row.id}"
                " with another actor, action or target",
            )
        if replayed:
            log.info("audit_replayed", action=action, actor=actor, target=target, reported_by=reporter)
        else:
            log.info("audit", action=action, actor=actor, target=target, reported_by=reporter)
        return row, replayed

    def list_audit(
        self, page_size: int, page_token: str, where: AuditFilter = ANY_EVENT
    ) -> tuple[list[AuditEventRow], str]:
        if len(where.actor) > MAX_AUDIT_FILTER or len(where.action) > MAX_AUDIT_FILTER:
            raise InvalidArgument(
                reasons.AUDIT_FILTER_INVALID,
                f"actor and action filters are at most {MAX_AUDIT_FILTER} characters",
            )
        if where.start is not None and where.end is not None and where.end <= where.start:
            raise InvalidArgument(reasons.INVALID_TIME_RANGE, "end_time must be after start_time")
        limit = _AUDIT_PAGES.size(page_size)
        bound = (where.actor, where.action, _float_key(where.start), _float_key(where.end))
        before_id = _AUDIT_PAGES.decode_int(page_token, bound)
        rows = self.store.list_audit(before_id, limit + 1, where)
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, _AUDIT_PAGES.encode(rows[-1].id, bound) if more else ""

    # sign-in -----------------------------------------------------------------------------
    def login(self, username: str, password: str, client: str) -> Session:
        invalid = Unauthenticated(reasons.INVALID_CREDENTIALS, "invalid username or password")
        if username in self._service_secrets:
            return self._service_login(username, password, client, invalid)
        self._refuse_if_throttled(self.limiter.check(username, client))
        if not username or len(username) > 64 or len(password) > MAX_PASSWORD:
            self.limiter.record_failure(username[:64], client)
            raise invalid
        user = self.store.get_user(username)
        matches = self._verifier.verify(user.password_hash if user else None, password)
        if user is None or not matches or user.disabled:
            self.limiter.record_failure(username, client)
            why = "unknown_user" if user is None else ("disabled" if matches else "bad_password")
            self.audit("LOGIN_FAILED", username, "denied", client=client, detail=why)
            raise invalid
        self.limiter.record_success(username, client)
        if self.hasher.needs_rehash(user.password_hash):
            self.store.update_user(user.id, password_hash=self.hasher.hash(password))
        self.audit("LOGIN_SUCCEEDED", username, "ok", client=client)
        refresh = user.role != role_name(user_pb2.ROLE_SERVICE)
        return Session(self._issue(user, str(uuid.uuid4()) if refresh else None), user)

    def refuse_if_remembered(self, username: str, client: str) -> None:
        """The throttle's local memo only: the servicer calls it on the event loop, so a flood of
        refused attempts costs neither a worker thread nor a database round trip."""
        if username not in self._service_secrets:
            self._refuse_if_throttled(self.limiter.remembered(username, client))

    @staticmethod
    def _refuse_if_throttled(throttled: Throttled | None) -> None:
        if throttled is not None:
            # Refused before any hashing; not audited per attempt (a flood would be a write per
            # attempt): the failures that started the delay are in the audit log.
            raise LoginThrottled(throttled)

    def _service_login(self, name: str, secret: str, client: str, invalid: Unauthenticated) -> Session:
        """A service account signs in with its configured client secret: a constant-time compare
        (the secret is random and long, so no slow hash is needed) that the password throttle never
        sees, so guesses at ``ingest`` cannot delay billing. A wrong secret is audited."""
        expected = self._service_secrets[name].encode()
        user = self.store.get_user(name)
        if (
            not hmac.compare_digest(expected, secret.encode()[: len(expected) + 1])
            or user is None
            or user.disabled
        ):
            self.audit("LOGIN_FAILED", name, "denied", client=client, detail="bad_client_secret")
            raise invalid
        return Session(self._issue(user, None), user)

    def _issue(self, user: UserRecord, family_id: str | None) -> TokenPair:
        access = self.issuer.issue(
            user.username,
            user.role,
            user.households,
            not_before=user.tokens_valid_after,
            session_id=family_id or "",
        )
        if family_id is None:
            return TokenPair(access, "", 0.0)
        now = self._clock()
        token = new_refresh_token()
        expires = now + self._refresh_ttl_s
        self.store.add_refresh_token(user.id, family_id, hash_refresh_token(token), now, expires)
        return TokenPair(access, token, expires)

    def refresh(self, refresh_token: str, client: str) -> TokenPair:
        invalid = Unauthenticated(reasons.REFRESH_TOKEN_INVALID, "the refresh token is invalid or expired")
        if not refresh_token or len(refresh_token) > 256:
            raise invalid
        row = self.store.find_refresh_token(hash_refresh_token(refresh_token))
        now = self._clock()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise invalid
        if row.used_at is not None or not self.store.mark_refresh_used(row.id, now):
            # A spent token came back: either the client or a thief holds a copy. Revoke the
            # family so both must sign in again.
            self.store.revoke_family(row.family_id, now)
            user = self.store.get_user_by_id(row.user_id)
            self.audit(
                "REFRESH_TOKEN_REUSED",
                user.username if user else row.user_id,
                "denied",
                client=client,
                detail=f"family {row.family_id} revoked",
            )
            raise Unauthenticated(reasons.REFRESH_TOKEN_REUSED, "the refresh token was already used")
        user = self.store.get_user_by_id(row.user_id)
        if user is None or user.disabled:
            self.store.revoke_family(row.family_id, now)
            raise invalid
        return self._issue(user, row.family_id)

    def logout(self, refresh_token: str, client: str) -> None:
        """Revoke the session's family. Unknown tokens succeed too: logout is idempotent."""
        if not refresh_token or len(refresh_token) > 256:
            return
        row = self.store.find_refresh_token(hash_refresh_token(refresh_token))
        if row is None:
            return
        self.store.revoke_family(row.family_id, self._clock())
        user = self.store.get_user_by_id(row.user_id)
        self.audit("LOGOUT", user.username if user else row.user_id, "ok", client=client)

    # queries -----------------------------------------------------------------------------
    def user_by_name(self, username: str) -> UserRecord:
        user = self.store.get_user(username)
        if user is None:
            raise NotFound(reasons.USER_NOT_FOUND, "no such user")
        return user

    def _user_ref(self, ref: str) -> UserRecord:
        """An admin names a user by id (the contract) or, for convenience, by username."""
        if not ref:
            raise InvalidArgument(reasons.USER_ID_REQUIRED, "user_id is required")
        user = self.store.get_user_by_id(ref) or self.store.get_user(ref)
        if user is None:
            raise NotFound(reasons.USER_NOT_FOUND, f"user {ref!r} does not exist")
        return user

    def list_users(
        self, page_size: int, page_token: str, query: str = ""
    ) -> tuple[list[UserRecord], str, int]:
        """One page of the accounts matching ``query``, the next page's token and the match count."""
        if len(query) > MAX_USER_QUERY:
            raise InvalidArgument(reasons.USER_QUERY_INVALID, f"query is at most {MAX_USER_QUERY} characters")
        query = query.strip()
        limit = _USERS_PAGES.size(page_size)
        after = _USERS_PAGES.decode_key(page_token, (query.lower(),)) or ""
        users = self.store.list_users(after, limit + 1, query)
        more = len(users) > limit
        users = users[:limit]
        token = _USERS_PAGES.encode(users[-1].username, (query.lower(),)) if more else ""
        return users, token, self.store.count_matching_users(query)

    def revocations(self) -> list[RevocationEntry]:
        # Older revocations cannot matter: every token they could hit has expired.
        since = self._clock() - self.issuer.ttl_s - self._leeway_s
        return [
            RevocationEntry(subject_hash(name), not_before, disabled)
            for name, not_before, disabled in self.store.revocations(since)
        ]

    def revoked_sessions(self) -> list[str]:
        """SHA-256 of the sessions (``sid``) revoked while their access tokens may still live."""
        since = self._clock() - self.issuer.ttl_s - self._leeway_s
        return sorted(session_hash(family) for family in self.store.revoked_families(since))

    # admin operations --------------------------------------------------------------------
    def _revoke_point(self) -> int:
        # Tokens issued in the current second are revoked too; new ones start at the next second.
        return int(self._clock()) + 1

    def create_user(
        self,
        actor: str,
        username: str,
        password: str,
        role: str,
        households: Sequence[str],
        client: str = "",
    ) -> UserRecord:
        validate_username(username)
        _validate_password(password, username)
        checked_role = _role(role)
        for household in households:
            if not household or len(household) > 64:
                raise InvalidArgument(reasons.INVALID_HOUSEHOLD_ID, "household ids are 1-64 characters")
        try:
            user = self.store.create_user(
                username, self.hasher.hash(password), checked_role, households, self._clock()
            )
        except DuplicateUser as exc:
            raise AlreadyExists(reasons.USER_EXISTS, f"user {username!r} already exists") from exc
        self.audit("USER_CREATED", actor, "ok", target=username, client=client, detail=role)
        return user

    def _not_self(self, actor: str, user: UserRecord, what: str) -> None:
        if actor == user.username:
            raise FailedPrecondition(reasons.SELF_CHANGE_REFUSED, f"admins cannot {what} themselves")

    def set_role(self, actor: str, ref: str, role: str, client: str = "") -> UserRecord:
        user = self._user_ref(ref)
        checked = _role(role)
        self._not_self(actor, user, "change the role of")
        # Ends every session: the access tokens (iat before now) and the refresh families, so the
        # account signs in again and gets tokens with its new role.
        updated = self.store.update_user(
            user.id,
            role=checked,
            revoke_tokens_before=self._revoke_point(),
            revoke_refresh_at=self._clock(),
        )
        assert updated is not None
        self.audit("ROLE_SET", actor, "ok", target=user.username, client=client, detail=checked)
        return updated

    def disable_user(self, actor: str, ref: str, disabled: bool, client: str = "") -> UserRecord:
        user = self._user_ref(ref)
        self._not_self(actor, user, "disable")
        now = self._clock()
        updated = self.store.update_user(
            user.id,
            disabled=disabled,
            revoke_tokens_before=self._revoke_point() if disabled else None,
            revoke_refresh_at=now if disabled else None,
        )
        assert updated is not None
        action = "USER_DISABLED" if disabled else "USER_ENABLED"
        self.audit(action, actor, "ok", target=user.username, client=client)
        return updated

    def reset_password(self, actor: str, ref: str, new_password: str, client: str = "") -> UserRecord:
        user = self._user_ref(ref)
        _validate_password(new_password, user.username)
        updated = self.store.update_user(
            user.id,
            password_hash=self.hasher.hash(new_password),
            revoke_tokens_before=self._revoke_point(),
            revoke_refresh_at=self._clock(),
        )
        assert updated is not None
        self.audit("PASSWORD_RESET", actor, "ok", target=user.username, client=client)
        return updated

    def issue_password_reset(self, actor: str, ref: str, client: str = "") -> tuple[str, float, UserRecord]:
        """A one-time reset token for the account (OWASP Forgot Password: random, single use,
        short-lived, stored hashed). The admin hands the link to the owner, who chooses the new
        password; nothing changes on the account until the token is used. Earlier tokens stop
        working."""
        user = self._user_ref(ref)
        if user.role == role_name(user_pb2.ROLE_SERVICE):
            raise FailedPrecondition(
                reasons.SELF_CHANGE_REFUSED, "service accounts sign in with their configured secret"
            )
        token = new_refresh_token()
        now = self._clock()
        expires = now + self._password_reset_ttl_s
        self.store.add_password_reset(user.id, hash_refresh_token(token), now, expires)
        self.audit("PASSWORD_RESET_ISSUED", actor, "ok", target=user.username, client=client)
        return token, expires, user

    def complete_password_reset(self, token: str, new_password: str, client: str = "") -> UserRecord:
        """Set the password with a live reset token, spending it, and end every session."""
        invalid = Unauthenticated(
            reasons.PASSWORD_RESET_TOKEN_INVALID, "the reset link is invalid, expired or already used"
        )
        if not token or len(token) > 256:
            raise invalid
        # The token is checked before the password, so a wrong guess costs no hashing; a password
        # the rules refuse leaves the token live for another try; spending it is one atomic UPDATE.
        token_hash = hash_refresh_token(token)
        user_id = self.store.live_password_reset(token_hash, self._clock())
        user = self.store.get_user_by_id(user_id) if user_id else None
        if user is None:
            raise invalid
        _validate_password(new_password, user.username)
        if not self.store.spend_password_reset(token_hash, self._clock()):
            raise invalid
        updated = self.store.update_user(
            user.id,
            password_hash=self.hasher.hash(new_password),
            revoke_tokens_before=self._revoke_point(),
            revoke_refresh_at=self._clock(),
        )
        assert updated is not None
        self.audit("PASSWORD_RESET_COMPLETED", user.username, "ok", target=user.username, client=client)
        return updated

    def link_household(
        self, actor: str, ref: str, household_id: str, unlink: bool, client: str = ""
    ) -> UserRecord:
        user = self._user_ref(ref)
        if not household_id or len(household_id) > 64:
            raise InvalidArgument(reasons.INVALID_HOUSEHOLD_ID, "household ids are 1-64 characters")
        updated = self.store.update_user(
            user.id,
            link=None if unlink else household_id,
            unlink=household_id if unlink else None,
            # Tokens list households: an unlinked household must stop working now, not at expiry.
            revoke_tokens_before=self._revoke_point() if unlink else None,
        )
        assert updated is not None
        action = "HOUSEHOLD_UNLINKED" if unlink else "HOUSEHOLD_LINKED"
        self.audit(action, actor, "ok", target=user.username, client=client, detail=household_id)
        return updated

    def rotate_signing_key(self, actor: str, client: str = "") -> str:
        key = self.keys.rotate()
        self.audit("SIGNING_KEY_ROTATED", actor, "ok", client=client, detail=key.kid)
        return key.kid
