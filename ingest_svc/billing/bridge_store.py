"""Tables of the bridge (migration 0002): settled hours, counter marks, per-household progress,
device statuses. The outbox itself is :class:`ingest_svc.intake.store.OutboxRow`.

Quantities are integers: Wh for energy, micro-EUR for money (the ledger's fixed point).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ingest_svc.intake.store import Base

__all__ = ["DailyPeakRow", "DeviceStatusRow", "HouseholdProgressRow", "MeterMarkRow", "SettlementRow"]


class SettlementRow(Base):
    """One closed hour of one household: metered at close, priced once the spot price is known."""

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
    __table_args__ = (Index("ix_settlements_priced_hour", "priced", "hour_start_ms"),)


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


class DeviceStatusRow(Base):
    """Latest retained status of a meter or gateway (``online``/``offline``, last will included)."""

    __tablename__ = "device_status"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "meter" | "gateway"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    gateway_id: Mapped[str] = mapped_column(String(64), default="")
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
