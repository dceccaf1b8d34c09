"""alert_svc's tables and the queries on them (SQLAlchemy 2; sync: call from a worker thread).

* ``alert_rules``: a household's conditions (the condition as protobuf JSON);
* ``alert_subscriptions``: delivery channels; the non-secret part as JSON, the webhook signing
  secret or MQTT password sealed with the service's KEK (common/sealing.py, the row id as context);
* ``alerts``: raised alerts, unique per (rule, period): the same alert for the same period is never
  stored (or delivered) twice, however often a round finds it;
* ``alert_deliveries``: one row per alert and channel ("app" or a subscription id), unique, with
  its state (pending, sent, failed, rate_limited), attempts and next attempt time;
* ``alert_leases``: named leases (an evaluation shard) held by one replica until a time.

Several replicas share one database (PostgreSQL). Work is claimed with compare-and-set updates,
which are atomic in PostgreSQL (a concurrent UPDATE of the same row waits for the first to commit
and then re-checks its WHERE against the new row) and in SQLite (one writer at a time):

* a due delivery is claimed by moving its ``next_attempt_ms`` from the value read to a lease end
  (``UPDATE ... WHERE id = ? AND status = 'pending' AND next_attempt_ms = <read>``: one replica's
  update matches, the others' match no row); the outcome is written only while that lease is
  still the row's (``finish``), and a replica that died mid-delivery leaves the row to be retried
  when the lease ends;
* a lease row is claimed by ``UPDATE ... WHERE name = ? AND expires_ms <= now`` (or by inserting
  it, once).

Raising and acknowledging alerts on PostgreSQL also ``pg_notify`` the household on
:data:`NOTIFY_CHANNEL` (sent at commit), which wakes the WatchAlerts streams of every replica
(alert_svc/signals.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

__all__ = [
    "APP_CHANNEL",
    "NOTIFY_CHANNEL",
    "AlertRow",
    "AlertStore",
    "Base",
    "DeliveryRow",
    "LeaseRow",
    "NewAlert",
    "RuleRow",
    "SubscriptionRow",
]

APP_CHANNEL = "app"
NOTIFY_CHANNEL = "energypulse_alerts"
_PK_INT = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class RuleRow(Base):
    __tablename__ = "alert_rules"

    rule_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    household_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[int] = mapped_column(Integer)
    condition_json: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(String(80))
    create_ms: Mapped[int] = mapped_column(BigInteger)


class SubscriptionRow(Base):
    __tablename__ = "alert_subscriptions"

    subscription_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    household_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # webhook | mqtt
    target_json: Mapped[str] = mapped_column(Text)  # without secrets
    secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    create_ms: Mapped[int] = mapped_column(BigInteger)


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("rule_id", "period_key", name="uq_alerts_rule_period"),
        Index("ix_alerts_household_id", "household_id", "id"),
    )

    id: Mapped[int] = mapped_column(_PK_INT, primary_key=True, autoincrement=True)
    household_id: Mapped[str] = mapped_column(String(128))
    rule_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[int] = mapped_column(Integer)
    period_key: Mapped[str] = mapped_column(String(64))
    period_start_ms: Mapped[int] = mapped_column(BigInteger)
    period_end_ms: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    # Price alerts: the figure in the installation's currency (µ/kWh), and that currency.
    spot_micro_per_kwh: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), default="", server_default="")
    # The serialized pb.AlertFacts (the figures behind title and message); empty before 0004.
    facts: Mapped[bytes] = mapped_column(LargeBinary, default=b"", server_default="")
    create_ms: Mapped[int] = mapped_column(BigInteger)
    read_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DeliveryRow(Base):
    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", name="uq_alert_deliveries_alert_channel"),
        Index("ix_alert_deliveries_due", "status", "next_attempt_ms"),
        Index("ix_alert_deliveries_channel", "channel", "create_ms"),
    )

    id: Mapped[int] = mapped_column(_PK_INT, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(BigInteger)
    household_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32))  # "app" or a subscription id
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed | rate_limited
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_ms: Mapped[int] = mapped_column(BigInteger)
    last_error: Mapped[str] = mapped_column(String(300))
    create_ms: Mapped[int] = mapped_column(BigInteger)


class LeaseRow(Base):
    __tablename__ = "alert_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_ms: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True)
class NewAlert:
    """An alert a round found (stored only if its rule has none for the period yet)."""

    household_id: str
    rule_id: str
    kind: int
    period_key: str
    period_start_ms: int
    period_end_ms: int
    title: str
    message: str
    value: float
    spot_micro_per_kwh: int = 0  # price alerts: ``value`` in µ of ``currency`` per kWh
    currency: str = ""  # the installation's
    facts: bytes = b""  # a serialized pb.AlertFacts


class AlertStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.notifies = engine.dialect.name == "postgresql"

    def _notify(self, conn: Session | Connection, household_id: str) -> None:
        if self.notifies:
            conn.execute(
                text("SELECT pg_notify(:channel, :hh)"), {"channel": NOTIFY_CHANNEL, "hh": household_id}
            )

    # --- leases ---------------------------------------------------------------------------------
    def claim_lease(self, name: str, holder: str, now_ms: int, until_ms: int) -> bool:
        """True when ``holder`` now holds lease ``name`` until ``until_ms`` (it had expired, or
        did not exist); False while another holder's lease runs."""
        with Session(self.engine) as s, s.begin():
            result = s.execute(
                update(LeaseRow)
                .where(LeaseRow.name == name, LeaseRow.expires_ms <= now_ms)
                .values(holder=holder, expires_ms=until_ms)
            )
        if getattr(result, "rowcount", 0) == 1:
            return True
        try:
            with Session(self.engine) as s, s.begin():
                s.execute(insert(LeaseRow).values(name=name, holder=holder, expires_ms=until_ms))
        except IntegrityError:
            return False  # it exists and runs: another replica has it
        return True

    # --- rules ----------------------------------------------------------------------------------
    def add_rule(self, row: RuleRow, limit: int) -> bool:
        """False when the household already has ``limit`` rules."""
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            count = s.scalar(select(func.count()).where(RuleRow.household_id == row.household_id))
            if (count or 0) >= limit:
                return False
            s.add(row)
        return True

    def rules(self, household_id: str | None = None) -> list[RuleRow]:
        query = select(RuleRow).order_by(RuleRow.create_ms, RuleRow.rule_id)
        if household_id is not None:
            query = query.where(RuleRow.household_id == household_id)
        with Session(self.engine, expire_on_commit=False) as s:
            return list(s.scalars(query))

    def delete_rule(self, household_id: str, rule_id: str) -> bool:
        with Session(self.engine) as s, s.begin():
            result = s.execute(
                delete(RuleRow).where(RuleRow.household_id == household_id, RuleRow.rule_id == rule_id)
            )
        return bool(getattr(result, "rowcount", 0))

    # --- subscriptions --------------------------------------------------------------------------
    def add_subscription(self, row: SubscriptionRow, limit: int) -> bool:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            count = s.scalar(select(func.count()).where(SubscriptionRow.household_id == row.household_id))
            if (count or 0) >= limit:
                return False
            s.add(row)
        return True

    def subscriptions(self, household_id: str) -> list[SubscriptionRow]:
        query = (
            select(SubscriptionRow)
            .where(SubscriptionRow.household_id == household_id)
            .order_by(SubscriptionRow.create_ms, SubscriptionRow.subscription_id)
        )
        with Session(self.engine, expire_on_commit=False) as s:
            return list(s.scalars(query))

    def subscription(self, subscription_id: str) -> SubscriptionRow | None:
        with Session(self.engine, expire_on_commit=False) as s:
            return s.get(SubscriptionRow, subscription_id)

    def delete_subscription(self, household_id: str, subscription_id: str) -> bool:
        with Session(self.engine) as s, s.begin():
            result = s.execute(
                delete(SubscriptionRow).where(
                    SubscriptionRow.household_id == household_id,
                    SubscriptionRow.subscription_id == subscription_id,
                )
            )
            # Deliveries still owed to it are dropped with it.
            s.execute(
                delete(DeliveryRow).where(
                    DeliveryRow.channel == subscription_id, DeliveryRow.status == "pending"
                )
            )
        return bool(getattr(result, "rowcount", 0))

    # --- alerts ---------------------------------------------------------------------------------
    def raise_alert(self, new: NewAlert, now_ms: int, per_hour: int) -> AlertRow | None:
        """Store ``new`` with one delivery per channel, unless its rule already has an alert for the
        period (then None). A channel that delivered ``per_hour`` alerts of the household in the
        last hour gets its delivery recorded as rate_limited instead of pending."""
        try:
            with Session(self.engine, expire_on_commit=False) as s, s.begin():
                row = AlertRow(
                    household_id=new.household_id,
                    rule_id=new.rule_id,
                    kind=new.kind,
                    period_key=new.period_key,
                    period_start_ms=new.period_start_ms,
                    period_end_ms=new.period_end_ms,
                    title=new.title[:200],
                    message=new.message,
                    value=new.value,
                    spot_micro_per_kwh=new.spot_micro_per_kwh,
                    currency=new.currency,
                    facts=new.facts,
                    create_ms=now_ms,
                    read_ms=None,
                )
                s.add(row)
                s.flush()
                channels = [
                    APP_CHANNEL,
                    *list(
                        s.scalars(
                            select(SubscriptionRow.subscription_id).where(
                                SubscriptionRow.household_id == new.household_id
                            )
                        )
                    ),
                ]
                for channel in channels:
                    recent = s.scalar(
                        select(func.count()).where(
                            DeliveryRow.household_id == new.household_id,
                            DeliveryRow.channel == channel,
                            DeliveryRow.status != "rate_limited",
                            DeliveryRow.create_ms > now_ms - 3_600_000,
                        )
                    )
                    limited = (recent or 0) >= per_hour
                    s.add(
                        DeliveryRow(
                            alert_id=row.id,
                            household_id=new.household_id,
                            channel=channel,
                            # The app's list always has the alert; "sent" there means it was pushed.
                            status="rate_limited"
                            if limited
                            else ("sent" if channel == APP_CHANNEL else "pending"),
                            attempts=0,
                            next_attempt_ms=now_ms,
                            last_error="",
                            create_ms=now_ms,
                        )
                    )
                self._notify(s, new.household_id)
            return row
        except IntegrityError:
            return None  # this rule already alerted for this period

    def alerts(
        self, household_id: str, before_id: int | None, limit: int, unread_only: bool
    ) -> list[AlertRow]:
        query = select(AlertRow).where(AlertRow.household_id == household_id)
        if before_id is not None:
            query = query.where(AlertRow.id < before_id)
        if unread_only:
            query = query.where(AlertRow.read_ms.is_(None))
        with Session(self.engine, expire_on_commit=False) as s:
            return list(s.scalars(query.order_by(AlertRow.id.desc()).limit(limit)))

    def pushed_after(self, household_id: str, after_id: int) -> list[AlertRow]:
        """Alerts newer than ``after_id`` whose app delivery was not rate limited, oldest first."""
        query = (
            select(AlertRow)
            .join(DeliveryRow, (DeliveryRow.alert_id == AlertRow.id) & (DeliveryRow.channel == APP_CHANNEL))
            .where(
                AlertRow.household_id == household_id, AlertRow.id > after_id, DeliveryRow.status == "sent"
            )
            .order_by(AlertRow.id)
        )
        with Session(self.engine, expire_on_commit=False) as s:
            return list(s.scalars(query))

    def newest_id(self, household_id: str) -> int:
        with Session(self.engine) as s:
            return int(
                s.scalar(select(func.max(AlertRow.id)).where(AlertRow.household_id == household_id)) or 0
            )

    def unread_count(self, household_id: str) -> int:
        with Session(self.engine) as s:
            return int(
                s.scalar(
                    select(func.count()).where(
                        AlertRow.household_id == household_id, AlertRow.read_ms.is_(None)
                    )
                )
                or 0
            )

    def known_ids(self, household_id: str, ids: Sequence[int]) -> set[int]:
        with Session(self.engine) as s:
            return set(
                s.scalars(
                    select(AlertRow.id).where(AlertRow.household_id == household_id, AlertRow.id.in_(ids))
                )
            )

    def acknowledge(self, household_id: str, ids: Sequence[int] | None, now_ms: int) -> None:
        query = update(AlertRow).where(AlertRow.household_id == household_id, AlertRow.read_ms.is_(None))
        if ids is not None:
            query = query.where(AlertRow.id.in_(ids))
        with Session(self.engine) as s, s.begin():
            s.execute(query.values(read_ms=now_ms))
            self._notify(s, household_id)

    def alert(self, alert_id: int) -> AlertRow | None:
        with Session(self.engine, expire_on_commit=False) as s:
            return s.get(AlertRow, alert_id)

    # --- deliveries -----------------------------------------------------------------------------
    def claim_due(self, now_ms: int, lease_until_ms: int, limit: int = 50) -> list[DeliveryRow]:
        """Due deliveries this caller now holds until ``lease_until_ms`` (none another replica
        claimed first: see the module docstring). Each row comes back with ``next_attempt_ms``
        set to the lease, the fence ``finish`` checks."""
        query = (
            select(DeliveryRow)
            .where(DeliveryRow.status == "pending", DeliveryRow.next_attempt_ms <= now_ms)
            .order_by(DeliveryRow.next_attempt_ms, DeliveryRow.id)
            .limit(limit)
        )
        with Session(self.engine, expire_on_commit=False) as s:
            candidates = list(s.scalars(query))
        claimed = []
        for row in candidates:
            with Session(self.engine) as s, s.begin():
                result = s.execute(
                    update(DeliveryRow)
                    .where(
                        DeliveryRow.id == row.id,
                        DeliveryRow.status == "pending",
                        DeliveryRow.next_attempt_ms == row.next_attempt_ms,
                    )
                    .values(next_attempt_ms=lease_until_ms)
                )
            if getattr(result, "rowcount", 0) == 1:
                row.next_attempt_ms = lease_until_ms
                claimed.append(row)
        return claimed

    def deliveries(self, alert_id: int) -> list[DeliveryRow]:
        with Session(self.engine, expire_on_commit=False) as s:
            return list(
                s.scalars(
                    select(DeliveryRow).where(DeliveryRow.alert_id == alert_id).order_by(DeliveryRow.id)
                )
            )

    def finish(self, delivery: DeliveryRow, status: str, attempts: int, next_ms: int, error: str) -> bool:
        """Record the outcome of a claimed delivery; False (nothing written) when its lease was
        lost (it ran out and another replica claimed the row)."""
        with Session(self.engine) as s, s.begin():
            result = s.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery.id, DeliveryRow.next_attempt_ms == delivery.next_attempt_ms)
                .values(status=status, attempts=attempts, next_attempt_ms=next_ms, last_error=error[:300])
            )
        return getattr(result, "rowcount", 0) == 1
