"""Billing's tables (migrations 0001, 0002, 0003_metering, 0004_bill_periods): settled periods,
counter marks, per-household progress, daily peaks and the outbox of calls owed to predict_svc
and ledger_svc.

Quantities are integers: Wh for energy, micro-EUR for money (the ledger's fixed point).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ingest_svc.db import Base

__all__ = [
    "DailyPeakRow",
    "HouseholdProgressRow",
    "MeterMarkRow",
    "MissingPeriodRow",
    "OutboxRow",
    "RecordedMeterKeyRow",
    "SettlementRow",
]


class SettlementRow(Base):
    """One closed settlement period of one household: metered at close, priced once the spot
    price is known. ``hour_start_ms`` is the period start: an hour for a household whose meters do
    not sign (legacy, ledger format 1), ``period_ms`` (a quarter-hour by default) for one whose
    meters sign their registers; then ``meter_values`` holds the signed values at both ends
    (serialized ``energypulse.ledger.v1.SettlementRecord`` with only ``meter_periods`` set)."""

    __tablename__ = "settlements"
    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour_start_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    zone: Mapped[str] = mapped_column(String(16))
    time_zone: Mapped[str] = mapped_column(String(64))
    metered_wh: Mapped[int] = mapped_column(BigInteger)
    closed_ms: Mapped[int] = mapped_column(BigInteger)
    priced: Mapped[bool] = mapped_column(Boolean, default=False)
    spot_price_micro_eur_per_kwh: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    spot_cost_micro_eur: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    grid_energy_cost_micro_eur: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    capacity_cost_micro_eur: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    standing_charge_micro_eur: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    vat_micro_eur: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    total_cost_micro_eur: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    period_ms: Mapped[int] = mapped_column(BigInteger, default=3_600_000, server_default="3600000")
    meter_values: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # Migration 0004_bill_periods: the period's bill in the rule set's currency (NOK), as on its
    # version-2 ledger record: total and components (JSON [[name, micro], ...]) in micro-units.
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    cost_micro: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    cost_components: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index("ix_settlements_priced_hour", "priced", "hour_start_ms"),)


class MissingPeriodRow(Base):
    """A settlement period of a meter-signing household that could not be billed, and why
    (migration 0003_metering): no signed value at a boundary, or an implausible signed delta."""

    __tablename__ = "missing_periods"
    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period_start_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    period_ms: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(256))
    closed_ms: Mapped[int] = mapped_column(BigInteger)


class RecordedMeterKeyRow(Base):
    """Meter keys whose meter-key record is queued for the ledger (once per key)."""

    __tablename__ = "recorded_meter_keys"
    meter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    recorded_ms: Mapped[int] = mapped_column(BigInteger)


class MeterMarkRow(Base):
    """A meter's cumulative counters (Wh) at the end of the last settled hour.

    The next hour starts from exactly these values, so hourly amounts telescope: a reading that
    arrives after its hour was settled is billed in the next hour, never lost or billed twice.
    """

    __tablename__ = "meter_marks"
    meter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    boundary_ms: Mapped[int] = mapped_column(BigInteger)
    import_wh: Mapped[int] = mapped_column(BigInteger)
    export_wh: Mapped[int] = mapped_column(BigInteger)


class HouseholdProgressRow(Base):
    """Where the bridge is for a household: next hour to settle, last forecast made."""

    __tablename__ = "household_progress"
    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_hour_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    predicted_round_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    predicted_target_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    predicted_p50_micro_eur_per_kwh: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DailyPeakRow(Base):
    """Highest hourly net consumption (Wh = mean W over the hour) per household and local day.

    Maintained when hours are settled, so the capacity step (top three daily peaks of the month)
    reads at most 31 rows per household.
    """

    __tablename__ = "daily_peaks"
    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    local_day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, household tz
    peak_wh: Mapped[int] = mapped_column(BigInteger)


class OutboxRow(Base):
    """Calls owed to other services (prediction requests, ledger appends), retried until done."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    last_error: Mapped[str] = mapped_column(String(512), default="")
    # Added by migration 0002 (see outbox.py): pending -> sent | failed; a sender owns a
    # row while claimed_until_ms is in the future (lease), so replicas do not send it twice.
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    claimed_until_ms: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    sent_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_ms"),)
