"""Persistence for auth_svc: users, household links, signing keys, refresh tokens, audit events.

Times are UNIX seconds (float) so SQLite and PostgreSQL behave the same. Tables carry an
``auth_`` prefix so auth_svc can share one PostgreSQL database with the other services.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    case,
    delete,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

__all__ = [
    "AuditEventRow",
    "AuditFilter",
    "Base",
    "DuplicateUser",
    "LoginThrottleRow",
    "PasswordResetRow",
    "RefreshTokenRow",
    "SigningKeyRow",
    "Store",
    "UserHouseholdRow",
    "UserRecord",
    "UserRow",
]


def _rowcount(result: object) -> int:
    """Rows an UPDATE matched (Session.execute is typed as returning a plain Result)."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "auth_users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    # Access tokens issued (iat) before this second are revoked: bumped by disable, password
    # reset, role change and unlinking a household.
    tokens_valid_after: Mapped[int] = mapped_column(Integer, default=0)
    households: Mapped[list[UserHouseholdRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserHouseholdRow.household_id"
    )


class UserHouseholdRow(Base):
    __tablename__ = "auth_user_households"

    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("auth_users.id", ondelete="CASCADE"), primary_key=True
    )
    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class SigningKeyRow(Base):
    __tablename__ = "auth_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Float)
    retired_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    verify_until: Mapped[float | None] = mapped_column(Float, nullable=True)


class RefreshTokenRow(Base):
    __tablename__ = "auth_refresh_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("auth_users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class LoginThrottleRow(Base):
    """Failed sign-ins per throttle key (auth_svc.ratelimit), shared by every replica."""

    __tablename__ = "auth_login_throttle"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[float] = mapped_column(Float, index=True)


class PasswordResetRow(Base):
    """A one-time password-reset token (only its SHA-256 is stored), issued by an admin."""

    __tablename__ = "auth_password_resets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("auth_users.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    # Set when used or replaced by a newer token: a spent token never works again.
    spent_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class AuditEventRow(Base):
    __tablename__ = "auth_audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    action: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    target: Mapped[str] = mapped_column(String(128), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    client: Mapped[str] = mapped_column(String(128), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    # A reported event's "<reporter>:<key>" (RecordAuditEvent.idempotency_key); NULL otherwise.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_auth_audit_events_idempotency_key"),)


@dataclass(frozen=True)
class UserRecord:
    """A detached view of a user row, safe to pass across threads."""

    id: str
    username: str
    password_hash: str
    role: str
    disabled: bool
    created_at: float
    tokens_valid_after: int
    households: tuple[str, ...]

    @classmethod
    def of(cls, row: UserRow) -> UserRecord:
        return cls(
            id=row.id,
            username=row.username,
            password_hash=row.password_hash,
            role=row.role,
            disabled=row.disabled,
            created_at=row.created_at,
            tokens_valid_after=row.tokens_valid_after,
            households=tuple(h.household_id for h in row.households),
        )


@dataclass(frozen=True)
class AuditFilter:
    """What ListAuditEvents narrows to; empty strings and None mean "any"."""

    actor: str = ""
    action: str = ""
    start: float | None = None
    end: float | None = None


def _like(text: str) -> str:
    """A case-insensitive LIKE pattern that matches ``text`` literally anywhere."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class DuplicateUser(Exception):
    pass


class Store:
    """Small, explicit queries; each method is one transaction."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    # users -----------------------------------------------------------------------------
    def count_users(self, role: str | None = None) -> int:
        with self._tx() as s:
            query = select(func.count()).select_from(UserRow)
            if role is not None:
                query = query.where(UserRow.role == role)
            return int(s.scalar(query) or 0)

    def get_user(self, username: str) -> UserRecord | None:
        with self._tx() as s:
            row = s.scalar(select(UserRow).where(UserRow.username == username))
            return UserRecord.of(row) if row else None

    def get_user_by_id(self, user_id: str) -> UserRecord | None:
        with self._tx() as s:
            row = s.get(UserRow, user_id)
            return UserRecord.of(row) if row else None

    def create_user(
        self, username: str, password_hash: str, role: str, households: Sequence[str], now: float
    ) -> UserRecord:
        row = _new_user_row(username, password_hash, role, households, now)
        try:
            with self._tx() as s:
                s.add(row)
                s.flush()
                return UserRecord.of(row)
        except IntegrityError as exc:
            raise DuplicateUser(username) from exc

    def create_missing_users(
        self, accounts: Sequence[tuple[str, str, str, Sequence[str]]], now: float
    ) -> int:
        """Create each (username, password_hash, role, households) not there yet, in one transaction.

        For seeding thousands of demo accounts: one commit instead of one per account. Raises
        DuplicateUser if another replica created one of them meanwhile (call again: the rest remain).
        """
        created = 0
        try:
            with self._tx() as s:
                existing: set[str] = set()
                names = [a[0] for a in accounts]
                for start in range(0, len(names), 500):  # bounded IN lists
                    chunk = names[start : start + 500]
                    existing.update(s.scalars(select(UserRow.username).where(UserRow.username.in_(chunk))))
                for username, password_hash, role, households in accounts:
                    if username in existing:
                        continue
                    s.add(_new_user_row(username, password_hash, role, households, now))
                    created += 1
                s.flush()
        except IntegrityError as exc:
            raise DuplicateUser("(seeding)") from exc
        return created

    @staticmethod
    def _matching(query: str) -> ColumnElement[bool]:
        """Accounts whose username or a household id contains ``query`` (any case)."""
        if not query:
            return true()
        pattern = _like(query)
        in_households = (
            select(UserHouseholdRow.user_id)
            .where(func.lower(UserHouseholdRow.household_id).like(pattern, escape="\\"))
            .scalar_subquery()
        )
        return or_(func.lower(UserRow.username).like(pattern, escape="\\"), UserRow.id.in_(in_households))

    def list_users(self, after: str, limit: int, query: str = "") -> list[UserRecord]:
        with self._tx() as s:
            rows = s.scalars(
                select(UserRow)
                .where(UserRow.username > after, self._matching(query))
                .order_by(UserRow.username)
                .limit(limit)
            )
            return [UserRecord.of(r) for r in rows]

    def count_matching_users(self, query: str = "") -> int:
        with self._tx() as s:
            return int(s.scalar(select(func.count()).select_from(UserRow).where(self._matching(query))) or 0)

    def update_user(
        self,
        user_id: str,
        *,
        role: str | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
        link: str | None = None,
        unlink: str | None = None,
        revoke_tokens_before: int | None = None,
        revoke_refresh_at: float | None = None,
    ) -> UserRecord | None:
        """Change one user; optionally revoke its access tokens and refresh families too."""
        with self._tx() as s:
            row = s.scalar(select(UserRow).where(UserRow.id == user_id).with_for_update())
            if row is None:
                return None
            if role is not None:
                row.role = role
            if disabled is not None:
                row.disabled = disabled
            if password_hash is not None:
                row.password_hash = password_hash
            linked = {h.household_id for h in row.households}
            if link is not None and link not in linked:
                row.households.append(UserHouseholdRow(household_id=link))
            if unlink is not None:
                row.households = [h for h in row.households if h.household_id != unlink]
            if revoke_tokens_before is not None:
                # Tokens may already carry iat == tokens_valid_after (issued after an earlier
                # revocation in this same second), so a new revocation must move past it.
                row.tokens_valid_after = max(row.tokens_valid_after + 1, revoke_tokens_before)
            if revoke_refresh_at is not None:
                s.execute(
                    update(RefreshTokenRow)
                    .where(RefreshTokenRow.user_id == row.id, RefreshTokenRow.revoked_at.is_(None))
                    .values(revoked_at=revoke_refresh_at)
                )
            s.flush()
            return UserRecord.of(row)

    def revocations(self, since: float) -> list[tuple[str, int, bool]]:
        """(username, tokens_valid_after, disabled) for users whose tokens may be revoked."""
        with self._tx() as s:
            rows = s.execute(
                select(UserRow.username, UserRow.tokens_valid_after, UserRow.disabled).where(
                    (UserRow.disabled.is_(True)) | (UserRow.tokens_valid_after > since)
                )
            )
            return [(u, int(v), bool(d)) for u, v, d in rows]

    # signing keys ----------------------------------------------------------------------
    def signing_keys(self) -> list[SigningKeyRow]:
        with self._tx() as s:
            rows = list(s.scalars(select(SigningKeyRow).order_by(SigningKeyRow.created_at)))
            s.expunge_all()
            return rows

    def add_signing_key(self, row: SigningKeyRow, retire_others_at: float, verify_until: float) -> None:
        with self._tx() as s:
            s.execute(
                update(SigningKeyRow)
                .where(SigningKeyRow.retired_at.is_(None))
                .values(retired_at=retire_others_at, verify_until=verify_until)
            )
            s.add(row)

    # refresh tokens --------------------------------------------------------------------
    def add_refresh_token(
        self, user_id: str, family_id: str, token_hash: str, now: float, expires_at: float
    ) -> None:
        with self._tx() as s:
            s.add(
                RefreshTokenRow(
                    id=str(uuid.uuid4()),
                    family_id=family_id,
                    user_id=user_id,
                    token_hash=token_hash,
                    issued_at=now,
                    expires_at=expires_at,
                )
            )

    def find_refresh_token(self, token_hash: str) -> RefreshTokenRow | None:
        with self._tx() as s:
            row = s.scalar(select(RefreshTokenRow).where(RefreshTokenRow.token_hash == token_hash))
            if row is not None:
                s.expunge(row)
            return row

    def mark_refresh_used(self, token_id: str, now: float) -> bool:
        """Atomically consume a refresh token; False when it was already used or revoked."""
        with self._tx() as s:
            result = s.execute(
                update(RefreshTokenRow)
                .where(
                    RefreshTokenRow.id == token_id,
                    RefreshTokenRow.used_at.is_(None),
                    RefreshTokenRow.revoked_at.is_(None),
                )
                .values(used_at=now)
            )
            return _rowcount(result) == 1

    def revoked_families(self, since: float) -> list[str]:
        """Refresh-token families (sessions) revoked after ``since``."""
        with self._tx() as s:
            rows = s.execute(
                select(RefreshTokenRow.family_id).where(RefreshTokenRow.revoked_at > since).distinct()
            )
            return [str(family) for (family,) in rows]

    def revoke_family(self, family_id: str, now: float) -> int:
        with self._tx() as s:
            result = s.execute(
                update(RefreshTokenRow)
                .where(RefreshTokenRow.family_id == family_id, RefreshTokenRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            return _rowcount(result)

    # audit -----------------------------------------------------------------------------
    # sign-in throttling (auth_svc.ratelimit) --------------------------------------------------
    def throttle_counts(self, keys: Sequence[str], since: float) -> dict[str, tuple[int, float]]:
        with self._tx() as s:
            rows = s.execute(
                select(LoginThrottleRow.key, LoginThrottleRow.failures, LoginThrottleRow.last_failure_at)
                .where(LoginThrottleRow.key.in_(list(keys)))
                .where(LoginThrottleRow.last_failure_at > since)
            ).all()
            return {key: (int(failures), float(last)) for key, failures, last in rows}

    def add_throttle_failure(self, keys: Sequence[str], now: float, stale_before: float) -> None:
        """One atomic upsert per key, so concurrent replicas never lose a failure."""
        with self._tx() as s:
            dialect = s.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            for key in keys:
                stmt = insert(LoginThrottleRow).values(key=key, failures=1, last_failure_at=now)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[LoginThrottleRow.key],
                    set_={
                        "failures": case(
                            (LoginThrottleRow.last_failure_at < stale_before, 1),
                            else_=LoginThrottleRow.failures + 1,
                        ),
                        "last_failure_at": now,
                    },
                )
                s.execute(stmt)
            # Keep the table to live keys: a spray of made-up usernames must not grow it forever.
            if secrets.randbelow(64) == 0:
                s.execute(delete(LoginThrottleRow).where(LoginThrottleRow.last_failure_at < stale_before))

    def clear_throttle(self, keys: Sequence[str]) -> None:
        with self._tx() as s:
            s.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key.in_(list(keys))))

    def add_audit(
        self,
        at: float,
        action: str,
        actor: str,
        target: str,
        outcome: str,
        client: str,
        detail: str,
        idempotency_key: str | None = None,
    ) -> tuple[AuditEventRow, bool]:
        """Insert an event; with a key already stored, insert nothing and return the stored event.

        The second item is True when the event was there already (a repeat). Two concurrent
        writers of one key: the unique constraint lets one insert, the other reads its row.
        """
        if idempotency_key is not None:
            existing = self._audit_by_key(idempotency_key)
            if existing is not None:
                return existing, True
        row = AuditEventRow(
            at=at,
            action=action[:64],
            actor=actor[:128],
            target=target[:128],
            outcome=outcome[:16],
            client=client[:128],
            detail=detail,
            idempotency_key=idempotency_key,
        )
        try:
            with self._tx() as s:
                s.add(row)
                s.flush()
                s.expunge(row)
        except IntegrityError:
            existing = self._audit_by_key(idempotency_key) if idempotency_key is not None else None
            if existing is None:
                raise
            return existing, True
        return row, False

    def _audit_by_key(self, idempotency_key: str) -> AuditEventRow | None:
        with self._tx() as s:
            row = s.scalar(select(AuditEventRow).where(AuditEventRow.idempotency_key == idempotency_key))
            if row is not None:
                s.expunge(row)
            return row

    def list_audit(
        self, before_id: int | None, limit: int, where: AuditFilter | None = None
    ) -> list[AuditEventRow]:
        where = where or AuditFilter()
        with self._tx() as s:
            query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
            if before_id is not None:
                query = query.where(AuditEventRow.id < before_id)
            if where.actor:
                query = query.where(AuditEventRow.actor == where.actor)
            if where.action:
                query = query.where(AuditEventRow.action == where.action)
            if where.start is not None:
                query = query.where(AuditEventRow.at >= where.start)
            if where.end is not None:
                query = query.where(AuditEventRow.at < where.end)
            rows = list(s.scalars(query))
            s.expunge_all()
            return rows

    # password resets -----------------------------------------------------------------------
    def add_password_reset(self, user_id: str, token_hash: str, now: float, expires_at: float) -> None:
        """Store a new reset token and spend every earlier unused one of the same account."""
        with self._tx() as s:
            s.execute(
                update(PasswordResetRow)
                .where(PasswordResetRow.user_id == user_id, PasswordResetRow.spent_at.is_(None))
                .values(spent_at=now)
            )
            s.add(
                PasswordResetRow(token_hash=token_hash, user_id=user_id, issued_at=now, expires_at=expires_at)
            )

    def live_password_reset(self, token_hash: str, now: float) -> str | None:
        """The account id of a live (unspent, unexpired) reset token, or None."""
        with self._tx() as s:
            row = s.get(PasswordResetRow, token_hash)
            if row is None or row.spent_at is not None or row.expires_at <= now:
                return None
            return row.user_id

    def spend_password_reset(self, token_hash: str, now: float) -> bool:
        """Spend a live token; False if it was not live. One UPDATE, so of two concurrent uses
        only one succeeds."""
        with self._tx() as s:
            spent = s.execute(
                update(PasswordResetRow)
                .where(
                    PasswordResetRow.token_hash == token_hash,
                    PasswordResetRow.spent_at.is_(None),
                    PasswordResetRow.expires_at > now,
                )
                .values(spent_at=now)
            )
            return _rowcount(spent) == 1


def _new_user_row(
    username: str, password_hash: str, role: str, households: Sequence[str], now: float
) -> UserRow:
    return UserRow(
        id=str(uuid.uuid4()),
        username=username,
        password_hash=password_hash,
        role=role,
        disabled=False,
        created_at=now,
        tokens_valid_after=0,
        households=[UserHouseholdRow(household_id=h) for h in dict.fromkeys(households)],
    )
