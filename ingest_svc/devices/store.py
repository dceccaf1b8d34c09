"""Provisioned devices and the meters each speaks for (hashed credentials only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, ForeignKey, Integer, String, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from ingest_svc.db import Base
from ingest_svc.intake.store import MeterRow

__all__ = ["DeviceMeterRow", "DeviceRecord", "DeviceRow", "DeviceStore"]


class DeviceRow(Base):
    """One broker identity: a meter, or a gateway speaking for several meters."""

    __tablename__ = "devices"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # PBKDF2-SHA512 of the MQTT password, as "iterations$salt_b64$hash_b64" (the broker's format).
    password_hash: Mapped[str] = mapped_column(String(200))
    issued_ms: Mapped[int] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    rotations: Mapped[int] = mapped_column(Integer, default=0)


class DeviceMeterRow(Base):
    """Which device may publish for a meter (a meter belongs to at most one device)."""

    __tablename__ = "device_meters"
    meter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.device_id", ondelete="CASCADE"), index=True)


@dataclass(frozen=True)
class DeviceRecord:
    device_id: str
    meter_ids: tuple[str, ...]
    issued_ms: int


class DeviceStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def unregistered(self, meter_ids: Sequence[str]) -> list[str]:
        with self._engine.connect() as conn:
            known = set(
                conn.execute(select(MeterRow.meter_id).where(MeterRow.meter_id.in_(meter_ids))).scalars()
            )
        return sorted(set(meter_ids) - known)

    def get(self, device_id: str) -> DeviceRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(DeviceRow).where(DeviceRow.device_id == device_id)).first()
            if row is None:
                return None
            meters = conn.execute(
                select(DeviceMeterRow.meter_id)
                .where(DeviceMeterRow.device_id == device_id)
                .order_by(DeviceMeterRow.meter_id)
            ).scalars()
            return DeviceRecord(device_id, tuple(meters), row.issued_ms)

    def holders(self, meter_ids: Sequence[str]) -> dict[str, str]:
        """meter id -> device id, for those of ``meter_ids`` some device speaks for."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(DeviceMeterRow.meter_id, DeviceMeterRow.device_id).where(
                    DeviceMeterRow.meter_id.in_(meter_ids)
                )
            )
            return {m: d for m, d in rows}

    def save(self, device_id: str, password_hash: str, meter_ids: Sequence[str], now_ms: int) -> bool:
        """Create or rotate the device with exactly these meters (taken from any other device);
        True when created."""
        with self._engine.begin() as conn:
            exists = conn.execute(select(DeviceRow.device_id).where(DeviceRow.device_id == device_id)).first()
            if exists:
                conn.execute(
                    update(DeviceRow)
                    .where(DeviceRow.device_id == device_id)
                    .values(password_hash=password_hash, issued_ms=now_ms, rotations=DeviceRow.rotations + 1)
                )
            else:
                conn.execute(
                    insert(DeviceRow).values(
                        device_id=device_id,
                        password_hash=password_hash,
                        issued_ms=now_ms,
                        created_ms=now_ms,
                        rotations=0,
                    )
                )
            conn.execute(delete(DeviceMeterRow).where(DeviceMeterRow.device_id == device_id))
            conn.execute(delete(DeviceMeterRow).where(DeviceMeterRow.meter_id.in_(list(meter_ids))))
            if meter_ids:
                conn.execute(
                    insert(DeviceMeterRow), [{"meter_id": m, "device_id": device_id} for m in meter_ids]
                )
        return not exists

    def remove_meter(self, meter_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(DeviceMeterRow).where(DeviceMeterRow.meter_id == meter_id))

    def delete(self, device_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(DeviceMeterRow).where(DeviceMeterRow.device_id == device_id))
            conn.execute(delete(DeviceRow).where(DeviceRow.device_id == device_id))

    def page(self, after: str | None, size: int) -> list[DeviceRecord]:
        with self._engine.connect() as conn:
            query = select(DeviceRow.device_id).order_by(DeviceRow.device_id).limit(size)
            if after is not None:
                query = query.where(DeviceRow.device_id > after)
            ids = list(conn.execute(query).scalars())
        return [r for r in (self.get(i) for i in ids) if r is not None]
